/**
 * npm run bench — the JS API against C, side by side in one process, on the
 * same mapping and the same kernel. Prints medians of 9 runs and ratios; no
 * thresholds (machines are shared and noisy: read the ratios). `npm run bench -- msi`
 * runs the MSI latency section alone. The C side is the bench-only addon
 * (bench/native-addon.ts).
 *
 * On the mock, "device memory" is RAM (a memfd), so the numbers show the cost
 * of the access path itself; on hardware an MMIO read costs hundreds of ns to
 * microseconds and dominates every path.
 */
import { EventEmitter } from 'node:events';
import { CdxBus } from '../lib';
import { nativeKernel } from '../lib/kernel';
import { MockKernel } from '../lib/mock';
import { native } from '../lib/native';
import { RawKernel, struct } from '../lib/raw';
import { benchAddon, type BenchAddon } from './native-addon';

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

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

type Loops = BenchAddon;
const hooks = (kernel: MockKernel) => native()._hooks.kernel(nativeKernel(kernel));

// MSI latency: a native thread raises MSI (as a device model does: the kernel mutex, then an
// eventfd write) every 500 us, and the time to the handler is measured on five receiving sides,
// each adding one step of the library's path to the one before (docs/pmd.md, "MSI latency"):
//   C epoll_wait on an eventfd (a C driver's wait)
//   uv_poll, native callback, read(2): libuv's wakeup and dispatch
//   + reading the eventfd through the kernel seam, as the library does
//   + napi_make_callback into a JS function that stamps the time: N-API and entering JS
//   the library: MsiVector 'interrupt' listener (+ the delivery closure and EventEmitter)
// Stages 1-4 wait on vector 1 (an eventfd attached with a raw SET_IRQS), the library on vector 0.
async function msiLatency(loops: Loops, lines: string[]): Promise<void> {
  const kernel = MockKernel.fixture({ bound: true });
  const k = hooks(kernel);
  using dev = new CdxBus({ kernel }).open('cdx-00:00');
  const rounds = 5;
  const n = 600;
  const skip = 50;  // warm-up interrupts of each series
  const interval = 500;
  const [v0] = dev.msi.enable(1);
  const library = async (): Promise<number[]> => {
    const received: number[] = [];
    const listener = (count: number) => {
      const t = Number(process.hrtime.bigint());
      for (let i = 0; i < count; i++) received.push(t);
    };
    v0!.on('interrupt', listener);
    const raised = loops.msiRaiseSeries(k, 'cdx-00:00', 0, n, interval);
    while (received.length < n) await new Promise((r) => setTimeout(r, 20));
    v0!.off('interrupt', listener);
    return received.map((t, i) => t - raised[i]!).slice(skip);
  };
  // The other waiters: a fresh eventfd on vector 1, attached with a raw SET_IRQS.
  const raw = new RawKernel(kernel);
  const sys = native().abi.sys;
  const c = native().abi.constants;
  const efd = raw.eventfd(0, sys.EFD_CLOEXEC! | sys.EFD_NONBLOCK!);
  const set = struct('vfio_irq_set', { flags: c.VFIO_IRQ_SET_DATA_EVENTFD! | c.VFIO_IRQ_SET_ACTION_TRIGGER!, start: 1, count: 1 }, 4);
  new DataView(set.bytes.buffer).setInt32(20, efd, true);
  if (raw.ioctl(dev.fd, c.VFIO_DEVICE_SET_IRQS!, set.bytes) !== 0) throw new Error('SET_IRQS for the C waiter failed');
  const cut = (a: Float64Array) => Array.from(a).slice(skip);
  // msiStage answers n latencies, then n in-callback times (uv_poll callback entry to handler).
  const staged = (a: Float64Array): [number[], number[]] => [cut(a.subarray(0, n)), cut(a.subarray(n))];
  const none = (xs: number[]): [number[], number[]] => [xs, []];
  const stages: Array<[string, () => Promise<[number[], number[]]>]> = [
    ['C: epoll_wait on an eventfd', async () => none(cut(loops.msiLatencyC(k, 'cdx-00:00', 1, efd, n, interval)))],
    ['uv_poll, native callback, read(2)', async () => staged(await loops.msiStage('uv', k, 'cdx-00:00', 1, efd, n, interval))],
    ['+ eventfd read through the kernel seam', async () => staged(await loops.msiStage('uv+seam', k, 'cdx-00:00', 1, efd, n, interval))],
    ['+ napi_make_callback into JS', async () =>
      staged(await loops.msiStage('uv+seam+js', k, 'cdx-00:00', 1, efd, n, interval, () => Number(process.hrtime.bigint())))],
    ['JS: MsiVector "interrupt" listener', async () => none(await library())],
  ];
  // The stages alternate, round after round, so that a change of load on a shared machine
  // reaches all of them alike; each stage's p50 is the median of its rounds' p50s.
  const p50s: number[][] = stages.map(() => []);
  const all: number[][] = stages.map(() => []);
  const inCallback: number[][] = stages.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < stages.length; i++) {
      const [xs, cb] = await stages[i]![1]();
      p50s[i]!.push(percentile(xs, 50));
      all[i]!.push(...xs);
      inCallback[i]!.push(...cb);
    }
  }
  raw.close(efd);
  const med = (xs: number[]) => percentile(xs, 50);
  const us = (x: number) => (x / 1000).toFixed(1).padStart(8);
  lines.push(`\nMSI latency (raised by a native thread -> handler), ${rounds} rounds of ${n - skip} interrupts per stage, microseconds`);
  lines.push(`${''.padEnd(44)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'p50 step'.padStart(9)} ${'in callback p50'.padStart(16)}`);
  let prev = 0;
  for (let i = 0; i < stages.length; i++) {
    const p50 = med(p50s[i]!);
    const step = prev === 0 ? '' : `${p50 >= prev ? '+' : ''}${((p50 - prev) / 1000).toFixed(1)}`;
    const cb = inCallback[i]!.length === 0 ? '' : `${(percentile(inCallback[i]!, 50) / 1000).toFixed(2)}`;
    lines.push(`${stages[i]![0].padEnd(44)} ${us(p50)} ${us(percentile(all[i]!, 99))} ${step.padStart(9)} ${cb.padStart(16)}`);
    prev = p50;
  }
  // The library's last step beyond napi_make_callback, on one thread: its delivery closure and
  // EventEmitter.emit to one listener (what MsiVector does per delivery), per call.
  const emitter = new EventEmitter();
  let got = 0;
  emitter.on('interrupt', (count: number) => { got += count; });
  const EMITS = 200000;
  const e0 = process.hrtime.bigint();
  for (let i = 0; i < EMITS; i++) emitter.emit('interrupt', 1);
  const emitNs = Number(process.hrtime.bigint() - e0) / EMITS;
  if (got !== EMITS) throw new Error('emit lost calls');
  lines.push(`${'  EventEmitter.emit to one listener'.padEnd(44)} ${(emitNs / 1000).toFixed(3).padStart(8)} µs per call (in process)`);
  const js = med(p50s[stages.length - 1]!);
  const cl = med(p50s[0]!);
  lines.push(`${'ratio JS/C'.padEnd(44)} ${(js / cl).toFixed(2).padStart(7)}x ${(percentile(all[stages.length - 1]!, 99) / percentile(all[0]!, 99)).toFixed(2).padStart(7)}x`);
}

// DMA map + unmap of a 64 KiB buffer: dev.dma.alloc()+free() against the same
// mmap + MAP_DMA + UNMAP_DMA + munmap from C on a container of its own.
function dmaMapUnmap(loops: Loops, lines: string[]): void {
  const kernel = MockKernel.fixture({ profile: 'linux-6.12', bound: true });
  const k = hooks(kernel);
  using dev = new CdxBus({ kernel }).open('cdx-00:00');
  const raw = new RawKernel(kernel);
  const g = openGroupRaw(raw, 'cdx-00:01');
  const n = 2000;
  const size = 64 * 1024;
  const cNs = measure(n, () => loops.dmaMapLoop(k, g.container, n, size));
  const jsNs = measure(n, () => timeJs(n, (m) => { for (let i = 0; i < m; i++) dev.dma.alloc(size).free(); }));
  g.close();
  lines.push(`\n${'DMA alloc+map+unmap+free, 64 KiB (us/op)'.padEnd(44)} ${(jsNs / 1000).toFixed(2).padStart(9)} ${(cNs / 1000).toFixed(2).padStart(9)} ${(jsNs / cNs).toFixed(2).padStart(8)}x`);
}

function openGroupRaw(raw: RawKernel, name: string): { container: number; close(): void } {
  const sys = native().abi.sys;
  const c = native().abi.constants;
  const link = raw.readLink(`/sys/bus/cdx/devices/${name}/iommu_group`) as string;
  const group = raw.open(`/dev/vfio/${link.split('/').pop()}`, sys.O_RDWR! | sys.O_CLOEXEC!);
  const container = raw.open('/dev/vfio/vfio', sys.O_RDWR! | sys.O_CLOEXEC!);
  raw.ioctl(group, c.VFIO_GROUP_SET_CONTAINER!, new Int32Array([container]));
  if (raw.ioctl(container, c.VFIO_SET_IOMMU!, c.VFIO_TYPE1v2_IOMMU!) !== 0) throw new Error('SET_IOMMU failed');
  return { container, close: () => { raw.close(group); raw.close(container); } };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'msi') {  // npm run bench -- msi: the MSI latency section alone
    const lines: string[] = [];
    await msiLatency(benchAddon(), lines);
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  const kernel = MockKernel.fixture({ bound: true });
  const bus = new CdxBus({ kernel });
  using dev = bus.open('cdx-00:01');
  using js = dev.regions[0]!.map({ accessor: 'js' });
  using nat = dev.regions[0]!.map({ accessor: 'native' });
  const buffer = js.buffer!;
  const loops = benchAddon();
  const off = 0x40;
  let sink = 0;

  const lines: string[] = [];
  lines.push(`vfio-cdx bench — node ${process.version}, ${process.arch}, mock kernel (RAM-backed regions)`);
  lines.push(`medians of ${RUNS} runs; ns per operation\n`);
  lines.push(`${'operation'.padEnd(44)} ${'JS'.padStart(9)} ${'C'.padStart(9)} ${'JS/C'.padStart(9)}`);

  const cRead = measure(N, () => loops.read32Loop(buffer, off, N));
  const cWrite = measure(N, () => loops.write32Loop(buffer, off, N));
  const u32 = new Uint32Array(buffer);
  const jsRead = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) sink += js.read32(off); }));
  const natRead = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) sink += nat.read32(off); }));
  const jsWrite = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) js.write32(off, i); }));
  const natWrite = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) nat.write32(off, i); }));
  const rawAtomics = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) sink += Atomics.load(u32, off >>> 2); }));
  lines.push(row('read32, JS fast path (Atomics.load)', jsRead, cRead));
  lines.push(row('  floor: bare Atomics.load on a Uint32Array', rawAtomics, cRead));
  lines.push(row('read32, native accessor (N-API, volatile)', natRead, cRead));
  lines.push(row('write32, JS fast path (Atomics.store)', jsWrite, cWrite));
  lines.push(row('write32, native accessor (N-API, volatile)', natWrite, cWrite));
  // The doorbell: a store barrier for DMA masters, then the store (arm64: dmb oshst; str).
  const jsBell = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) js.doorbell32(off, i); }));
  const rawStore = measure(N, () => timeJs(N, (n) => { for (let i = 0; i < n; i++) Atomics.store(u32, off >>> 2, i); }));
  lines.push(row('doorbell32 (barrier + store, N-API)', jsBell, cWrite));
  lines.push(row('  beside it: bare Atomics.store on a Uint32Array', rawStore, cWrite));

  // One ioctl round trip: VFIO_DEVICE_FEATURE PROBE|SET|BUS_MASTER, which is
  // exactly what dev.busMaster.supported issues.
  const c = native().abi.constants;
  const probe = new Uint8Array(8);
  new DataView(probe.buffer).setUint32(0, 8, true);
  new DataView(probe.buffer).setUint32(4, c.VFIO_DEVICE_FEATURE_PROBE! | c.VFIO_DEVICE_FEATURE_SET! | c.VFIO_DEVICE_FEATURE_BUS_MASTER!, true);
  const cIoctl = measure(N_IOCTL, () => loops.ioctlLoop(hooks(kernel), dev.fd, c.VFIO_DEVICE_FEATURE!, probe, N_IOCTL));
  const apiIoctl = measure(N_IOCTL, () => timeJs(N_IOCTL, (n) => { for (let i = 0; i < n; i++) sink += dev.busMaster.supported ? 1 : 0; }));
  lines.push(row('ioctl round trip (busMaster.supported)', apiIoctl, cIoctl));
  dmaMapUnmap(loops, lines);
  await msiLatency(loops, lines);
  lines.push(`\n(sink ${sink % 7})`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
