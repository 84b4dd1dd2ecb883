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
import { RawKernel, struct } from '../lib/raw';

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

interface Loops {
  read32Loop(b: ArrayBuffer, off: number, n: number): number;
  write32Loop(b: ArrayBuffer, off: number, n: number): number;
  ioctlLoop(k: unknown, fd: number, req: number, arg: Uint8Array | null, n: number): number;
  msiRaiseSeries(k: unknown, device: string, vector: number, n: number, intervalUs: number): Float64Array;
  msiLatencyC(k: unknown, device: string, vector: number, eventfd: number, n: number, intervalUs: number): Float64Array;
  dmaMapLoop(k: unknown, containerFd: number, n: number, size: number): number;
}

// MSI latency: a native thread raises MSI (as a device model does) every
// 500 us; JS measures raise -> 'interrupt' handler; C measures raise ->
// epoll_wait return on another vector's eventfd, in the same run.
async function msiLatency(loops: Loops, lines: string[]): Promise<void> {
  const kernel = MockKernel.fixture({ bound: true });
  const k = nativeKernel(kernel);
  using dev = new CdxBus({ kernel }).open('cdx-00:00');
  const n = 2000;
  const [v0] = dev.msi.enable(1);
  const received: number[] = [];
  v0!.on('interrupt', (count: number) => {
    const t = Number(process.hrtime.bigint());
    for (let i = 0; i < count; i++) received.push(t);
  });
  const raised = loops.msiRaiseSeries(k, 'cdx-00:00', 0, n, 500);
  while (received.length < n) await new Promise((r) => setTimeout(r, 20));
  const js = received.map((t, i) => t - raised[i]!).slice(100);  // skip warm-up
  // The C waiter: a fresh eventfd on vector 1, attached with a raw SET_IRQS.
  const raw = new RawKernel(kernel);
  const sys = native().abi.sys;
  const c = native().abi.constants;
  const efd = raw.eventfd(0, sys.EFD_CLOEXEC!);
  const set = struct('vfio_irq_set', { flags: c.VFIO_IRQ_SET_DATA_EVENTFD! | c.VFIO_IRQ_SET_ACTION_TRIGGER!, start: 1, count: 1 }, 4);
  new DataView(set.bytes.buffer).setInt32(20, efd, true);
  if (raw.ioctl(dev.fd, c.VFIO_DEVICE_SET_IRQS!, set.bytes) !== 0) throw new Error('SET_IRQS for the C waiter failed');
  const cl = Array.from(loops.msiLatencyC(k, 'cdx-00:00', 1, efd, n, 500)).slice(100);
  raw.close(efd);
  const us = (x: number) => (x / 1000).toFixed(1).padStart(8);
  lines.push(`\nMSI latency (raised by a native thread -> handler), ${n - 100} interrupts, microseconds`);
  lines.push(`${''.padEnd(44)} ${'p50'.padStart(8)} ${'p99'.padStart(8)}`);
  lines.push(`${'JS: uv_poll on the eventfd -> "interrupt"'.padEnd(44)} ${us(percentile(js, 50))} ${us(percentile(js, 99))}`);
  lines.push(`${'C: epoll_wait on an eventfd'.padEnd(44)} ${us(percentile(cl, 50))} ${us(percentile(cl, 99))}`);
  lines.push(`${'ratio JS/C'.padEnd(44)} ${(percentile(js, 50) / percentile(cl, 50)).toFixed(2).padStart(7)}x ${(percentile(js, 99) / percentile(cl, 99)).toFixed(2).padStart(7)}x`);
}

// DMA map + unmap of a 64 KiB buffer: dev.dma.alloc()+free() against the same
// mmap + MAP_DMA + UNMAP_DMA + munmap from C on a container of its own.
function dmaMapUnmap(loops: Loops, lines: string[]): void {
  const kernel = MockKernel.fixture({ profile: 'linux-6.12', bound: true });
  const k = nativeKernel(kernel);
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
  const kernel = MockKernel.fixture({ bound: true });
  const bus = new CdxBus({ kernel });
  using dev = bus.open('cdx-00:01');
  using js = dev.regions[0]!.map({ accessor: 'js' });
  using nat = dev.regions[0]!.map({ accessor: 'native' });
  const buffer = js.buffer!;
  const loops = (native() as unknown as { _bench: Loops })._bench;
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
  const cIoctl = measure(N_IOCTL, () => loops.ioctlLoop(nativeKernel(kernel), dev.fd, c.VFIO_DEVICE_FEATURE!, probe, N_IOCTL));
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
