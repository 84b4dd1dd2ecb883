/**
 * The bench-only addon (bench/build/Release/vfio_cdx_bench.node, bench/binding.gyp): the C
 * side of `npm run bench` and `npm run bench:pmd`. It is built from the repository only and never
 * shipped; it reaches the library's kernel and lnic model through their C hooks
 * (src-native/bench_hooks.h), handed over as tagged Externals.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where `npm run build:bench` puts it: its own build directory, so that it never sits in the
 * library's build/Release, where node-gyp-build and prebuildify take the first *.node they list.
 */
export const BENCH_ADDON = path.join(__dirname, '..', '..', 'bench', 'build', 'Release', 'vfio_cdx_bench.node');

let loaded: BenchAddon | undefined;  // per thread: module state is per environment

/** What the C reference driver needs of a port (see LnicPort.exportState). */
export interface CPortOptions {
  regs: ArrayBuffer;
  ring: ArrayBuffer;
  ringSize: number;
  pool: ArrayBuffer;
  poolLo: number;
  poolHi: number;
  bufSize: number;
  hwb: boolean;
  stack: Int32Array;
  state: Uint32Array;
}

export interface BenchAddon {
  read32Loop(b: ArrayBuffer, off: number, n: number): number;
  write32Loop(b: ArrayBuffer, off: number, n: number): number;
  ioctlLoop(k: unknown, fd: number, req: number, arg: Uint8Array | null, n: number): number;
  msiRaiseSeries(k: unknown, device: string, vector: number, n: number, intervalUs: number): Float64Array;
  msiLatencyC(k: unknown, device: string, vector: number, eventfd: number, n: number, intervalUs: number): Float64Array;
  dmaMapLoop(k: unknown, containerFd: number, n: number, size: number): number;
  msiStage(stage: 'uv' | 'uv+seam' | 'uv+seam+js', k: unknown, device: string, vector: number, eventfd: number, n: number,
    intervalUs: number, fn?: (count: number) => number): Promise<Float64Array>;
  cForward(options: CPortOptions & { burst: number; work: number; iterations: number; cpu: number; thread: boolean;
    lnic: unknown; stepBudget: number }): { packets: number; ns: number };
  cRoundTrip(options: CPortOptions & { samples: number; eventfd: number; cpu: number; slept: Uint8Array }): Float64Array;
  pinThread(cpu: number): number;
  cStepLoop(lnic: unknown, n: number): number;
}

/**
 * Whether the bench addon has been built (a clone of the repository after `npm ci`) and may be
 * loaded: not under PREBUILDS_ONLY=1 (scripts/test-arm64.sh), where build/ holds this machine's
 * build, not one for the Node that runs the tests.
 */
export function haveBenchAddon(): boolean {
  return process.env.PREBUILDS_ONLY !== '1' && fs.existsSync(BENCH_ADDON);
}

/**
 * The bench addon of this environment (each thread loads its own instance).
 * @throws Error with code ERR_VFIO_NO_BENCH_ADDON when it has not been built
 */
export function benchAddon(): BenchAddon {
  if (!haveBenchAddon()) {
    throw Object.assign(new Error(`the bench addon is not built (${BENCH_ADDON}): run \`npm run build:bench\` in the repository`),
      { code: 'ERR_VFIO_NO_BENCH_ADDON' });
  }
  if (loaded === undefined) {
    const m = { exports: {} as BenchAddon };
    process.dlopen(m, BENCH_ADDON);
    loaded = m.exports;
  }
  return loaded;
}
