/**
 * An l2fwd-style forwarder on lnic, the mock kernel's simulated NIC, in the shape of DPDK's
 * l2fwd: a worker thread owns the port and forwards every frame it receives back out with the
 * MAC addresses swapped (and, with --ttl, the IPv4 TTL decremented and the header checksum
 * patched). The main thread prints the rate every second.
 *
 *   node node_modules/vfio-cdx/dist/examples/l2fwd.js                    # mock: generator at 1 Mpps, adaptive
 *   node node_modules/vfio-cdx/dist/examples/l2fwd.js --pps 0 --busy-model --mode poll --seconds 10
 *   node node_modules/vfio-cdx/dist/examples/l2fwd.js cdx-00:00          # an lnic-compatible device bound to vfio-cdx
 *
 * --mode poll        busy-poll the ring (a core at 100 %, the lowest latency)
 * --mode irq         sleep on the RX interrupt whenever the ring is empty
 * --mode adaptive    (default) poll while frames come, sleep on the interrupt after 256 empty polls
 * --pps N            the mock's generator rate (0: as fast as RX buffers allow); --ttl; --seconds N (0: until ^C)
 *
 * The worker opens the device itself (MockKernel.attach(token) + bus.open in the worker): device
 * memory is never handed between threads (Node 20 silently copies a transferred external
 * ArrayBuffer; Node 21 and later refuse it). Statistics come back through a SharedArrayBuffer.
 * It imports the package by name, as your own code would.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CdxBus } from 'vfio-cdx';
import { MockKernel } from 'vfio-cdx/mock';
import { ipv4DecTtl, LnicPort, macSwap, lnic } from 'vfio-cdx/pmd';

/** Options of {@link runL2fwd}. */
export interface L2fwdOptions {
  /** A device bound to vfio-cdx on the running kernel; default: an lnic on a mock kernel. */
  device?: string;
  mode?: 'poll' | 'irq' | 'adaptive';
  /** Decrement the IPv4 TTL too. */
  ttl?: boolean;
  /** Mock only: generator rate in frames/s (0: as fast as RX buffers allow). Default 1 000 000. */
  pps?: number;
  /** Mock only: the model's thread spins instead of sleeping when idle. */
  busyModel?: boolean;
  /** Stop after this many seconds (0: never) ... */
  seconds?: number;
  /** ... or after this many frames were forwarded (0: never). */
  frames?: number;
  /** Called every second with the rate; default: print it. */
  report?: (line: string) => void;
}

/** What a run did. */
export interface L2fwdSummary {
  frames: number;
  seconds: number;
  /** Times the worker went to sleep on the RX interrupt, and times it was woken by one. */
  sleeps: number;
  wakeups: number;
  /** Frames the device could not deliver for lack of RX buffers. */
  drops: number;
}

// Shared statistics (Float64Array over a SharedArrayBuffer), written by the worker.
const FRAMES = 0;
const SLEEPS = 1;
const WAKEUPS = 2;
const DROPS = 3;
const DONE = 4;
const STAT_WORDS = 5;
const EMPTY_POLLS_BEFORE_SLEEP = 256;

interface WorkerArgs {
  l2fwd: true;
  token: string | null;
  device: string;
  mode: 'poll' | 'irq' | 'adaptive';
  ttl: boolean;
  pps: number;
  stats: SharedArrayBuffer;
  stop: SharedArrayBuffer;
}

/** Runs the forwarder (the worker does the work) until `seconds` or `frames` is reached. */
export async function runL2fwd(options: L2fwdOptions = {}): Promise<L2fwdSummary> {
  const mode = options.mode ?? 'adaptive';
  const report = options.report ?? ((line: string) => console.log(line));
  let kernel: MockKernel | null = null;
  let device = options.device;
  if (device === undefined) {
    kernel = MockKernel.create({
      devices: [{ dev: 0, deviceId: lnic.LNIC_DEVICE, model: 'lnic', msiCount: 2, regions: [{ size: 0x10000 }], bound: true }],
    });
    kernel.device('cdx-00:00').lnic.setScheduler(options.busyModel ? 'busy' : 'threaded');
    device = 'cdx-00:00';
  }
  const stats = new Float64Array(new SharedArrayBuffer(STAT_WORDS * 8));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const args: WorkerArgs = {
    l2fwd: true, token: kernel?.token ?? null, device, mode, ttl: options.ttl ?? false, pps: options.pps ?? 1_000_000,
    stats: stats.buffer as SharedArrayBuffer, stop: stop.buffer as SharedArrayBuffer,
  };
  const worker = new Worker(__filename, { workerData: args });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const t0 = performance.now();
  let last = { t: t0, frames: 0 };
  const seconds = options.seconds ?? 5;
  const frames = options.frames ?? 0;
  try {
    for (;;) {
      await Promise.race([new Promise((r) => setTimeout(r, frames > 0 ? 20 : 1000)), failed]);
      const now = performance.now();
      if (now - last.t >= 1000 || frames === 0) {
        const f = stats[FRAMES]!;
        report(`l2fwd: ${((f - last.frames) / (now - last.t) / 1000).toFixed(3)} Mpps, ${f} frames, ` +
          `${stats[SLEEPS]} sleeps / ${stats[WAKEUPS]} interrupt wakeups, ${stats[DROPS]} drops (${mode})`);
        last = { t: now, frames: f };
      }
      if ((seconds > 0 && now - t0 >= seconds * 1000) || (frames > 0 && stats[FRAMES]! >= frames)) break;
    }
  } finally {
    Atomics.store(stop, 0, 1);
    worker.postMessage('stop');  // wakes a worker asleep on the interrupt
    await Promise.race([exited, failed]);
  }
  const summary = {
    frames: stats[FRAMES]!, seconds: (performance.now() - t0) / 1000, sleeps: stats[SLEEPS]!,
    wakeups: stats[WAKEUPS]!, drops: stats[DROPS]!,
  };
  return summary;
}

// The worker: opens the device, forwards until told to stop.
async function workerMain(args: WorkerArgs): Promise<void> {
  const kernel = args.token === null ? undefined : MockKernel.attach(args.token);
  const bus = new CdxBus(kernel === undefined ? {} : { kernel });
  const dev = bus.open(args.device);
  const stats = new Float64Array(args.stats);
  const stop = new Int32Array(args.stop);
  const abort = new AbortController();
  parentPort!.once('message', () => abort.abort());
  const port = LnicPort.open(dev, {
    mode: kernel === undefined ? 'loopback' : 'generator',
    generator: { pps: args.pps, frameLength: 64, flows: 8 },
    interrupts: args.mode !== 'poll',
    itr: { threshold: 32, delayUs: 50 },
    timeout: Infinity,
  });
  try {
    const ids = new Uint32Array(32);
    const lens = new Uint32Array(32);
    const bytes = port.pool.bytes;
    const shift = port.pool.bufShift;
    const pool = port.pool;
    const ttl = args.ttl;
    let frames = 0;
    let empty = 0;
    for (let it = 1; ; it++) {
      const n = port.rxBurst(ids, lens, 32);
      for (let i = 0; i < n; i++) {
        const off = ids[i]! << shift;
        macSwap(bytes, off);
        if (ttl) ipv4DecTtl(bytes, off);
      }
      const sent = port.txBurst(ids, lens, n);
      for (let i = sent; i < n; i++) pool.free(ids[i]!);
      frames += n;
      empty = n === 0 ? empty + 1 : 0;
      if ((it & 4095) === 0) {
        stats[FRAMES] = frames;
        if (Atomics.load(stop, 0) !== 0) break;
      }
      const sleep = args.mode === 'irq' ? n === 0 : args.mode === 'adaptive' && empty >= EMPTY_POLLS_BEFORE_SLEEP;
      if (sleep && port.armRx()) {
        // Interrupts on, ring seen empty after arming: sleep until the RX interrupt (or stop).
        stats[SLEEPS]!++;
        stats[FRAMES] = frames;
        try {
          await port.rxVector!.wait({ signal: abort.signal });
          stats[WAKEUPS]!++;
        } catch {
          break;  // stopped
        } finally {
          port.disarmRx();
        }
        empty = 0;
      }
    }
    stats[FRAMES] = frames;
    stats[DROPS] = port.stats().rxDropNoDesc;
  } finally {
    stats[DONE] = 1;
    port.close();
    dev.close();
  }
}

if (!isMainThread && (workerData as WorkerArgs | undefined)?.l2fwd) {
  workerMain(workerData as WorkerArgs).catch((e) => {
    throw e;
  });
} else if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv.splice(i, 2)[1] : undefined;
  };
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv.splice(i, 1).length > 0 : false;
  };
  const mode = (opt('--mode') ?? 'adaptive') as L2fwdOptions['mode'];
  const pps = Number(opt('--pps') ?? 1_000_000);
  const seconds = Number(opt('--seconds') ?? 5);
  const ttl = flag('--ttl');
  const busyModel = flag('--busy-model');
  const device = argv[0];
  runL2fwd({ ...(device === undefined ? {} : { device }), mode, pps, seconds, ttl, busyModel }).then((s) => {
    console.log(`l2fwd: ${s.frames} frames in ${s.seconds.toFixed(1)} s (${(s.frames / s.seconds / 1e6).toFixed(3)} Mpps), ` +
      `${s.sleeps} sleeps, ${s.wakeups} interrupt wakeups, ${s.drops} drops`);
  }, (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
