/**
 * npm run bench — the JS API against C, side by side in one process, on the
 * same mapping and the same kernel. Prints medians of 9 runs and ratios; no
 * thresholds (machines are shared and noisy: read the ratios).
 *
 * On the mock, "device memory" is RAM (a memfd), so the numbers show the cost
 * of the access path itself; on hardware an MMIO read costs hundreds of ns to
 * microseconds and dominates every path.
 */
import { CdxBus } from '../lib';
import { nativeKernel } from '../lib/kernel';
import { MockKernel } from '../lib/mock';
import { native } from '../lib/native';

const RUNS = 9;
const N = 2_000_000;
const N_IOCTL = 200_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeJs(n: number, body: (n: number) => void): number {
  const t0 = process.hrtime.bigint();
  body(n);
  return Number(process.hrtime.bigint() - t0);
}

function measure(n: number, run: () => number): number {
  run();  // warm up (JIT, caches)
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(run() / n);
  return median(xs);
}

function row(name: string, js: number, c: number): string {
  return `${name.padEnd(44)} ${js.toFixed(2).padStart(9)} ${c.toFixed(2).padStart(9)} ${(js / c).toFixed(2).padStart(8)}x`;
}

function main(): void {
  const kernel = MockKernel.fixture({ bound: true });
  const bus = new CdxBus({ kernel });
  using dev = bus.open('cdx-00:01');
  using js = dev.regions[0]!.map({ accessor: 'js' });
  using nat = dev.regions[0]!.map({ accessor: 'native' });
  const buffer = js.buffer!;
  const loops = (native() as unknown as { _bench: {
    read32Loop(b: ArrayBuffer, off: number, n: number): number;
    write32Loop(b: ArrayBuffer, off: number, n: number): number;
    ioctlLoop(k: unknown, fd: number, req: number, arg: Uint8Array | null, n: number): number;
  } })._bench;
  const off = 0x40;
  let sink = 0;

  const lines: string[] = [];
  lines.push(`vfio-cdx bench — node ${process.version}, ${process.arch}, mock kernel (RAM-backed regions)`);
  lines.push(`medians of ${RUNS} runs; ns per operation\n`);
  lines.push(`${'operation'.padEnd(44)} ${'JS'.padStart(9)} ${'C'.padStart(9)} ${'JS/C'.padStart(9)}`);

  const cRead = measure(N, () => loops.read32Loop(buffer, off, N));
  const cWrite = measure(N, () => loops.write32Loop(buffer, off, N));
  const jsRead = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) sink += js.read32(off); }));
  const natRead = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) sink += nat.read32(off); }));
  const jsWrite = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) js.write32(off, i); }));
  const natWrite = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) nat.write32(off, i); }));
  const u32 = new Uint32Array(buffer);
  const rawAtomics = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) sink += Atomics.load(u32, off >>> 2); }));
  lines.push(row('read32, JS fast path (Atomics.load)', jsRead, cRead));
  lines.push(row('  floor: bare Atomics.load on a Uint32Array', rawAtomics, cRead));
  lines.push(row('read32, native accessor (N-API, volatile)', natRead, cRead));
  lines.push(row('write32, JS fast path (Atomics.store)', jsWrite, cWrite));
  lines.push(row('write32, native accessor (N-API, volatile)', natWrite, cWrite));

  // One ioctl round trip: VFIO_DEVICE_FEATURE PROBE|SET|BUS_MASTER, which is
  // exactly what dev.busMaster.supported issues.
  const c = native().abi.constants;
  const probe = new Uint8Array(8);
  new DataView(probe.buffer).setUint32(0, 8, true);
  new DataView(probe.buffer).setUint32(4, c.VFIO_DEVICE_FEATURE_PROBE! | c.VFIO_DEVICE_FEATURE_SET! | c.VFIO_DEVICE_FEATURE_BUS_MASTER!, true);
  const cIoctl = measure(N_IOCTL, () => loops.ioctlLoop(nativeKernel(kernel), dev.fd, c.VFIO_DEVICE_FEATURE!, probe, N_IOCTL));
  const apiIoctl = measure(N_IOCTL, () => timeJs(N_IOCTL, (n) => { for (let i = 0; i < n; i++) sink += dev.busMaster.supported ? 1 : 0; }));
  lines.push(row('ioctl round trip (busMaster.supported)', apiIoctl, cIoctl));
  lines.push(`\n(sink ${sink % 7})`);
  process.stdout.write(lines.join('\n') + '\n');
}

main();
