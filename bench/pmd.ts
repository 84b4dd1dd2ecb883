/**
 * npm run bench:pmd — the JavaScript poll-mode driver (lib/pmd) against the C reference driver
 * (bench/native/pmd_ref.cc), the same algorithm on the same lnic model, in one process.
 *
 * - Stepped: one thread runs the driver and, after every burst, one pass of the model
 *   (LnicControl.step). The time inside step() is the model's; the rest is the driver's. The
 *   repeatable CPU-cost comparison.
 * - Threaded: the model spins on its own thread (pinned to CPU 1), the driver runs pinned to CPU 0
 *   (JavaScript in a worker; C on a native thread the worker starts). The realistic comparison —
 *   valid only with 4 or more cores, and only while the C run is not bound by the model.
 * - Interrupt round trip: one frame in flight, the driver asleep on the RX interrupt between
 *   frames (JavaScript: one 'interrupt' listener on the worker's loop; C: epoll_wait); a wakeup
 *   that finds the ring empty sleeps again, and only the samples that slept are counted.
 *
 * Loopback workload: 256 frames of 60 bytes in flight, ring 512, pool 4096 × 2 KiB, RX doorbell
 * every 32 refills, RS every 32 descriptors, one byte touched per frame. C and JS runs alternate,
 * RUNS of each after a warm-up; medians are printed, targets beside them, nothing is asserted.
 * The results also go to docs/pmd-bench.svg (the README shows it).
 *
 * Environment: BENCH_PMD_SECONDS (per run, default 1), BENCH_PMD_RUNS (default 5),
 * BENCH_PMD_BATCHES (default 1,8,32,128), BENCH_PMD_SAMPLES (round trips, default 20000),
 * BENCH_PMD_SVG (output path, default docs/pmd-bench.svg; '' for none).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CdxBus } from '../lib';
import { MockKernel, type LnicScheduler } from '../lib/mock';
import { native } from '../lib/native';
import { RawKernel, struct } from '../lib/raw';
import { LNIC_STATE_WORDS, LnicPort, lnic } from '../lib/pmd';
import { benchAddon, type CPortOptions } from './native-addon';
import { forward, inject } from './pmd-loop';

const SECONDS = Number(process.env.BENCH_PMD_SECONDS ?? 1);
const RUNS = Number(process.env.BENCH_PMD_RUNS ?? 5);
const BATCHES = (process.env.BENCH_PMD_BATCHES ?? '1,8,32,128').split(',').map(Number);
const SAMPLES = Number(process.env.BENCH_PMD_SAMPLES ?? 20000);
const SVG = process.env.BENCH_PMD_SVG ?? path.join(__dirname, '..', '..', 'docs', 'pmd-bench.svg');
const IN_FLIGHT = 256;
const FRAME = 60;

type Mode = 'stepped' | 'threaded';

interface Job {
  kind: 'forward' | 'latency';
  token: string;
  mode: Mode;
  burst: number;
  cpu: number;
  seconds: number;
  runs: number;
  samples: number;
}

interface Run {
  packets: number;
  ns: number;
  modelNs: number;   // stepped: time in step(); threaded: the model's busy time
  threadNs: number;  // threaded: the model thread's running time
  gcs: number;
}

interface ForwardResult {
  kind: 'forward';
  c: Run[];
  js: Run[];
  optimized: string;
  stepCallNs: number;  // JavaScript's cost of one step() call beyond the model's own time
}

interface LatencyResult {
  kind: 'latency';
  jsIrq: number[];
  cIrq: number[];
  jsSlept: number[];  // 1 where the interrupt sample really slept (the frame was not back at the re-check)
  cSlept: number[];
  jsPoll: number[];
  cPoll: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

// ---- the worker: one job, on a device it opens itself

async function workerMain(job: Job): Promise<ForwardResult | LatencyResult> {
  const addon = benchAddon();
  if (job.cpu >= 0) addon.pinThread(job.cpu);
  const kernel = MockKernel.attach(job.token);
  const ctl = kernel.device('cdx-00:00').lnic;
  const dev = new CdxBus({ kernel }).open('cdx-00:00');
  const stepped = job.mode === 'stepped';
  const step = stepped ? ctl.step : null;
  const port = LnicPort.open(dev, {
    interrupts: job.kind === 'latency',
    timeout: Infinity,
    ...(stepped ? { tick: () => ctl.step(64, 1000) } : {}),
  });
  try {
    const state = new Uint32Array(LNIC_STATE_WORDS);
    const cPort = (): CPortOptions => {
      port.exportState(state);
      return {
        regs: port.regs.buffer!, ring: port.ringMemory.bytes.buffer as ArrayBuffer, ringSize: port.ringSize,
        pool: port.pool.bytes.buffer as ArrayBuffer, poolLo: port.pool.iovaLo, poolHi: port.pool.iovaHi,
        bufSize: port.pool.bufSize, hwb: port.writeBack === 'hwb', stack: port.pool.stack, state,
      };
    };
    if (job.kind === 'latency') return await latency(job, port, dev, kernel, cPort, state);
    inject(port, IN_FLIGHT, FRAME);
    const B = job.burst;
    const ids = new Uint32Array(1024);
    const lens = new Uint32Array(1024);
    const budget = B;
    // GC events, by the performance timeline.
    const gcs: number[] = [];
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e.startTime); });
    obs.observe({ entryTypes: ['gc'] });
    const turn = () => new Promise((r) => setImmediate(r));

    // Warm-up: many short calls, so that V8 optimises forward() itself (not only its loop, by
    // on-stack replacement), then the number of bursts that makes a run last `seconds`.
    const w0 = performance.now();
    while (performance.now() - w0 < 1000 * Math.max(0.5, job.seconds)) forward(port, ids, lens, B, 0, 200, step, budget);
    const rate = (() => {
      const n = 20000;
      const t = performance.now();
      forward(port, ids, lens, B, 0, n, step, budget);
      return n / (performance.now() - t);
    })();
    const iterations = Math.max(1000, Math.round(rate * 1000 * job.seconds));
    const optimized = optimizationStatus(forward);

    const c: Run[] = [];
    const js: Run[] = [];
    const cRun = (): Run => {
      const k0 = ctl.counters();
      const r = addon.cForward({ ...cPort(), burst: B, work: 0, iterations, cpu: stepped ? -1 : job.cpu,
        thread: !stepped, lnic: stepped ? ctl._hooks() : null, stepBudget: budget });
      port.importState(state);
      const k1 = ctl.counters();
      return { packets: r.packets, ns: r.ns, modelNs: stepped ? k1.stepNs - k0.stepNs : k1.busyNs - k0.busyNs,
        threadNs: k1.threadNs - k0.threadNs, gcs: 0 };
    };
    const jsRun = async (): Promise<Run> => {
      const k0 = ctl.counters();
      const t0 = performance.now();
      const n0 = process.hrtime.bigint();
      const packets = forward(port, ids, lens, B, 0, iterations, step, budget);
      const ns = Number(process.hrtime.bigint() - n0);
      const t1 = performance.now();
      const k1 = ctl.counters();
      await turn();
      await turn();
      return { packets, ns, modelNs: stepped ? k1.stepNs - k0.stepNs : k1.busyNs - k0.busyNs,
        threadNs: k1.threadNs - k0.threadNs, gcs: gcs.filter((g) => g >= t0 && g <= t1).length };
    };
    cRun();  // the C side's warm-up (caches, page tables)
    for (let i = 0; i < job.runs; i++) {
      c.push(cRun());
      js.push(await jsRun());
    }
    obs.disconnect();
    // JavaScript's step() (an N-API call) costs more than C's (a function pointer): measure
    // both, beyond the model's own time, and keep the difference.
    let stepCallNs = 0;
    if (stepped) {
      const n = 200000;
      const overhead = (run: () => number) => {
        const k0 = ctl.counters();
        const t = run();
        return (t - (ctl.counters().stepNs - k0.stepNs)) / n;
      };
      const js = overhead(() => {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) ctl.step(0, 0);
        return Number(process.hrtime.bigint() - t0);
      });
      const c = overhead(() => addon.cStepLoop(ctl._hooks(), n));
      stepCallNs = js - c;
    }
    return { kind: 'forward', c, js, optimized, stepCallNs };
  } finally {
    port.close();
    dev.close();
  }
}

// V8's optimisation status of the hot function (--allow-natives-syntax; npm run bench:pmd passes it).
function optimizationStatus(fn: Function): string {
  try {
    const status = new Function('f', 'return %GetOptimizationStatus(f)')(fn) as number;
    return status & 16 && status & 64 ? 'TurboFan' : status & 16 ? 'optimized (not TurboFan)' : `not optimized (status ${status})`;
  } catch {
    return 'unknown (run with --allow-natives-syntax)';
  }
}

// One frame in flight: send, wait for it to come back (asleep on the interrupt, or spinning), take it.
async function latency(job: Job, port: LnicPort, dev: ReturnType<CdxBus['open']>, kernel: MockKernel,
  cPort: () => CPortOptions, state: Uint32Array): Promise<LatencyResult> {
  const addon = benchAddon();
  const ids = new Uint32Array(8);
  const lens = new Uint32Array(8).fill(FRAME);
  const vector = port.rxVector!;
  // One listener for the whole run, as a driver would keep it (each wait() would start and stop
  // the vector's uv_poll: two epoll_ctl calls per frame that a C loop does not make either).
  let wake: (() => void) | null = null;
  vector.on('interrupt', () => {
    const w = wake;
    wake = null;
    w?.();
  });
  const jsSlept: number[] = [];
  const jsRound = async (irq: boolean): Promise<number[]> => {
    const out: number[] = [];
    let frame = port.pool.alloc();
    for (let i = 0; i < job.samples; i++) {
      const t0 = process.hrtime.bigint();
      ids[0] = frame;
      port.txBurst(ids, lens, 1);
      if (irq) {
        // As a driver sleeps: a wakeup that finds the ring still empty (an interrupt counted
        // before an earlier re-check that found a frame) arms and sleeps again.
        let slept = 0;
        while (port.armRx()) {
          slept = 1;
          await new Promise<void>((resolve) => { wake = resolve; });
        }
        jsSlept.push(slept);
      }
      while (port.rxBurst(ids, lens, 8) === 0) { /* spin */ }
      out.push(Number(process.hrtime.bigint() - t0));
      frame = ids[0]!;
    }
    port.pool.free(frame);
    return out;
  };
  const jsIrq = await jsRound(true);
  const jsPoll = await jsRound(false);
  vector.removeAllListeners('interrupt');
  // C: the library's eventfds go; one of ours is attached to vector 0 with a raw SET_IRQS.
  dev.msi.disable();
  const raw = new RawKernel(kernel);
  const sys = native().abi.sys;
  const c = native().abi.constants;
  const efd = raw.eventfd(0, sys.EFD_CLOEXEC! | sys.EFD_NONBLOCK!);
  const set = struct('vfio_irq_set', { flags: c.VFIO_IRQ_SET_DATA_EVENTFD! | c.VFIO_IRQ_SET_ACTION_TRIGGER!, start: 0, count: 1 }, 4);
  new DataView(set.bytes.buffer).setInt32(20, efd, true);
  if (raw.ioctl(dev.fd, c.VFIO_DEVICE_SET_IRQS!, set.bytes) !== 0) throw new Error('SET_IRQS for the C waiter failed');
  const slept = new Uint8Array(job.samples);
  const cIrq = Array.from(addon.cRoundTrip({ ...cPort(), samples: job.samples, eventfd: efd, cpu: job.cpu, slept }));
  const cSlept = Array.from(slept);
  port.importState(state);
  const cPoll = Array.from(addon.cRoundTrip({ ...cPort(), samples: job.samples, eventfd: -1, cpu: job.cpu, slept }));
  port.importState(state);
  const off = struct('vfio_irq_set', { flags: c.VFIO_IRQ_SET_DATA_NONE! | c.VFIO_IRQ_SET_ACTION_TRIGGER!, start: 0, count: 0 });
  raw.ioctl(dev.fd, c.VFIO_DEVICE_SET_IRQS!, off.bytes);
  raw.close(efd);
  return { kind: 'latency', jsIrq, cIrq, jsSlept, cSlept, jsPoll, cPoll };
}

// ---- the main thread: the kernel, one worker per job, the table and the chart

function runJob(job: Job): Promise<ForwardResult | LatencyResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: job });  // V8 flags (--allow-natives-syntax) are process-wide
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
  });
}

function machine(): string[] {
  const cpus = os.cpus();
  const gov = (() => {
    try { return fs.readFileSync('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor', 'utf8').trim(); } catch { return 'n/a'; }
  })();
  return [
    `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} CPUs, governor ${gov}, Linux ${os.release()}`,
    `Node ${process.version}, V8 ${process.versions.v8}, ${process.arch}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  ];
}

interface Row { B: number; cMpps: number; jsMpps: number; cDrv: number; jsDrv: number; cModel: number; jsModel: number; gcs: number; jsDrvNoBias: number;
  cUtil: number; jsUtil: number; optimized: string; stepCallNs: number; cMin: number; cMax: number; jsMin: number; jsMax: number }

function summarize(B: number, r: ForwardResult): Row {
  const mpps = (x: Run) => (x.packets / x.ns) * 1e3;
  const drv = (x: Run, stepped: boolean) => (stepped ? (x.ns - x.modelNs) : x.ns) / x.packets;
  const stepped = r.stepCallNs !== 0;
  return {
    B,
    cMpps: median(r.c.map(mpps)), jsMpps: median(r.js.map(mpps)),
    cMin: Math.min(...r.c.map(mpps)), cMax: Math.max(...r.c.map(mpps)),
    jsMin: Math.min(...r.js.map(mpps)), jsMax: Math.max(...r.js.map(mpps)),
    cDrv: median(r.c.map((x) => drv(x, stepped))), jsDrv: median(r.js.map((x) => drv(x, stepped))),
    jsDrvNoBias: median(r.js.map((x) => drv(x, stepped))) - r.stepCallNs / B,
    cModel: median(r.c.map((x) => x.modelNs / x.packets)), jsModel: median(r.js.map((x) => x.modelNs / x.packets)),
    gcs: r.js.reduce((a, x) => a + x.gcs, 0),
    cUtil: median(r.c.map((x) => (x.threadNs ? x.modelNs / x.threadNs : 0))),
    jsUtil: median(r.js.map((x) => (x.threadNs ? x.modelNs / x.threadNs : 0))),
    optimized: r.optimized, stepCallNs: r.stepCallNs,
  };
}

function chart(stepped: Row[], threaded: Row[], caption: string[], threadedValid: boolean): string {
  const W = 640, H = 400, L = 60, R = 20, T = 40, Bm = 110;
  const batches = [...new Set([...stepped, ...threaded].map((r) => r.B))].sort((a, b) => a - b);
  const max = Math.max(1, ...[...stepped, ...threaded].flatMap((r) => [r.cMpps, r.jsMpps])) * 1.1;
  const x = (B: number) => L + (batches.length === 1 ? 0.5 : batches.indexOf(B) / (batches.length - 1)) * (W - L - R);
  const y = (v: number) => T + (1 - v / max) * (H - T - Bm);
  const line = (rows: Row[], key: 'cMpps' | 'jsMpps', color: string, dash: string, label: string, ly: number) => {
    if (rows.length === 0) return '';
    const pts = rows.map((r) => `${x(r.B).toFixed(1)},${y(r[key]).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${color}" stroke-width="2" ${dash} points="${pts}"/>` +
      rows.map((r) => `<circle cx="${x(r.B).toFixed(1)}" cy="${y(r[key]).toFixed(1)}" r="3" fill="${color}"/>`).join('') +
      `<line x1="${W - 200}" y1="${ly}" x2="${W - 175}" y2="${ly}" stroke="${color}" stroke-width="2" ${dash}/>` +
      `<text x="${W - 170}" y="${ly + 4}" font-size="12">${label}</text>`;
  };
  const ticks = Array.from({ length: 5 }, (_, i) => (max / 5) * (i + 1));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" font-size="15" text-anchor="middle">lnic loopback forwarding: Mpps against batch size</text>
<line x1="${L}" y1="${y(0)}" x2="${W - R}" y2="${y(0)}" stroke="black"/>
<line x1="${L}" y1="${T}" x2="${L}" y2="${y(0)}" stroke="black"/>
${ticks.map((t) => `<line x1="${L - 4}" y1="${y(t).toFixed(1)}" x2="${W - R}" y2="${y(t).toFixed(1)}" stroke="#ddd"/><text x="${L - 8}" y="${(y(t) + 4).toFixed(1)}" font-size="11" text-anchor="end">${t.toFixed(t < 10 ? 1 : 0)}</text>`).join('\n')}
${batches.map((B) => `<text x="${x(B).toFixed(1)}" y="${y(0) + 16}" font-size="11" text-anchor="middle">${B}</text>`).join('')}
<text x="${(L + W - R) / 2}" y="${y(0) + 32}" font-size="12" text-anchor="middle">batch size (frames per burst)</text>
<text x="16" y="${(T + y(0)) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${(T + y(0)) / 2})">Mpps</text>
${line(stepped, 'cMpps', '#1f5fbf', '', 'C, stepped', T + 10)}
${line(stepped, 'jsMpps', '#d9731a', '', 'JavaScript, stepped', T + 28)}
${line(threaded, 'cMpps', '#1f5fbf', 'stroke-dasharray="5,4"', `C, threaded${threadedValid ? '' : ' (not valid)'}`, T + 46)}
${line(threaded, 'jsMpps', '#d9731a', 'stroke-dasharray="5,4"', `JS, threaded${threadedValid ? '' : ' (not valid)'}`, T + 64)}
${caption.map((c, i) => `<text x="${L}" y="${H - Bm + 52 + i * 15}" font-size="10.5">${esc(c)}</text>`).join('\n')}
</svg>
`;
}

// Round trips with one frame in flight, the model spinning.
async function latencyPart(kernel: MockKernel, cpus: number, threadedValid: boolean, say: (s?: string) => void): Promise<void> {
  kernel.device('cdx-00:00').lnic.setScheduler('busy', cpus >= 2 ? { cpu: 1 } : {});
  const lat = await runJob({ kind: 'latency', token: kernel.token, mode: 'threaded', burst: 1, cpu: cpus >= 2 ? 0 : -1,
    seconds: 0, runs: 0, samples: SAMPLES }) as LatencyResult;
  const us = (v: number) => (v / 1000).toFixed(1).padStart(8);
  say(`\nround trip, one frame in flight (model spinning${threadedValid ? '' : '; NOT VALID on fewer than 4 CPUs'}), ${SAMPLES} samples, µs`);
  // An interrupt sample measures the interrupt only where the driver really went to sleep: with
  // the model spinning, the frame is often back before the acknowledge / unmask / re-check ends,
  // and that sample measured polling. The interrupt rows use the samples that slept.
  const asleep = (xs: number[], flags: number[]) => xs.filter((_, i) => flags[i] === 1);
  const share = (flags: number[]) => `${((100 * flags.reduce((a, f) => a + f, 0)) / Math.max(1, flags.length)).toFixed(0)}% slept`;
  say(`${''.padEnd(44)} ${'p50'.padStart(8)} ${'p99'.padStart(8)}`);
  const rows: Array<[string, number[], number[], string]> = [
    ['interrupt (asleep on the RX MSI)', asleep(lat.jsIrq, lat.jsSlept), asleep(lat.cIrq, lat.cSlept),
      `  samples that slept: JS ${share(lat.jsSlept)}, C ${share(lat.cSlept)} (the rest found the frame back at the re-check)`],
    ['busy-poll', lat.jsPoll, lat.cPoll, ''],
  ];
  for (const [name, js, c, note] of rows) {
    if (js.length === 0 || c.length === 0) {
      say(`${`JS / C, ${name}`.padEnd(44)} no samples${note === '' ? '' : `; ${note.trim()}`}`);
      continue;
    }
    say(`${`JS, ${name}`.padEnd(44)} ${us(pct(js, 50))} ${us(pct(js, 99))}`);
    say(`${`C, ${name}`.padEnd(44)} ${us(pct(c, 50))} ${us(pct(c, 99))}`);
    say(`${'  ratio JS/C'.padEnd(44)} ${(pct(js, 50) / pct(c, 50)).toFixed(2).padStart(7)}x ${(pct(js, 99) / pct(c, 99)).toFixed(2).padStart(7)}x`);
    if (note !== '') say(note);
  }
}

async function main(): Promise<void> {
  const cpus = os.cpus().length;
  const kernel = MockKernel.create({
    devices: [{ dev: 0, deviceId: lnic.LNIC_DEVICE, model: 'lnic', msiCount: 2, regions: [{ size: 0x10000 }], bound: true }],
  });
  const ctl = kernel.device('cdx-00:00').lnic;
  const out: string[] = [];
  const say = (s = '') => { out.push(s); process.stdout.write(s + '\n'); };
  say(`vfio-cdx bench:pmd — lnic loopback, ${IN_FLIGHT} frames of ${FRAME} B in flight, ring 512, pool 4096 × 2 KiB`);
  for (const m of machine()) say(m);
  say(`C and JS runs alternate, ${RUNS} runs of ~${SECONDS} s each after warm-up; medians (min–max)`);
  const threadedValid = cpus >= 4;
  const results: Record<Mode, Row[]> = { stepped: [], threaded: [] };
  const only = process.env.BENCH_PMD_ONLY;  // 'stepped', 'threaded' or 'latency': one part alone
  for (const mode of (['stepped', 'threaded'] as Mode[]).filter((m) => only === undefined || only === m)) {
    const sched: LnicScheduler = mode === 'stepped' ? 'stepped' : 'busy';
    ctl.setScheduler(sched, mode === 'threaded' && cpus >= 2 ? { cpu: 1 } : {});
    say(`\n${mode}${mode === 'stepped' ? ' (one thread: driver, then one model pass per burst; model ns = time in step())'
      : ` (model spinning on CPU 1, driver pinned to CPU 0)`}`);
    if (mode === 'threaded' && !threadedValid) {
      say(`  NOT VALID: this machine has ${cpus} CPUs; the threaded comparison needs 4 or more (model and driver on`);
      say('  separate cores of one CCX, no SMT siblings). The figures below are printed for completeness only.');
    }
    say(`${'B'.padStart(5)} ${'C Mpps'.padStart(19)} ${'JS Mpps'.padStart(19)} ${'JS/C'.padStart(6)}  ${'driver ns/pkt C / JS'.padStart(20)} ${'(x)'.padStart(6)}  ` +
      `${mode === 'stepped' ? 'JS-bias (x)   model ns/pkt' : 'model busy C / JS'}  GCs`);
    for (const B of BATCHES) {
      const job: Job = { kind: 'forward', token: kernel.token, mode, burst: B, cpu: mode === 'threaded' && cpus >= 2 ? 0 : -1,
        seconds: SECONDS, runs: RUNS, samples: 0 };
      const r = summarize(B, await runJob(job) as ForwardResult);
      results[mode].push(r);
      const mm = (v: number, lo: number, hi: number) => `${v.toFixed(2)} (${lo.toFixed(1)}–${hi.toFixed(1)})`.padStart(19);
      const model = mode === 'stepped' ? `${`${r.jsDrvNoBias.toFixed(1)} (${(r.jsDrvNoBias / r.cDrv).toFixed(2)}x)`.padStart(13)}  ${`${r.cModel.toFixed(1)} / ${r.jsModel.toFixed(1)}`.padStart(12)}`
        : `${(r.cUtil * 100).toFixed(0)}% / ${(r.jsUtil * 100).toFixed(0)}%${r.cUtil > 0.9 ? ' model-bound' : ''}`.padStart(17);
      say(`${String(B).padStart(5)} ${mm(r.cMpps, r.cMin, r.cMax)} ${mm(r.jsMpps, r.jsMin, r.jsMax)} ${(r.jsMpps / r.cMpps).toFixed(2).padStart(6)}  ` +
        `${`${r.cDrv.toFixed(1)} / ${r.jsDrv.toFixed(1)}`.padStart(20)} ${(r.jsDrv / r.cDrv).toFixed(2).padStart(5)}x  ${model}  ${r.gcs}`);
    }
    const opt = [...new Set(results[mode].map((r) => r.optimized))].join(', ');
    say(`  hot JS function: ${opt}`);
    if (mode === 'stepped') {
      say(`  bias: JS pays ${median(results[mode].map((r) => r.stepCallNs)).toFixed(0)} ns more than C per step() call (an N-API call ` +
        `against a function pointer), i.e. ${results[mode].map((r) => `${(r.stepCallNs / r.B).toFixed(1)} @${r.B}`).join(', ')} ns/pkt ` +
        'of its driver time; "JS-bias" is the JS driver without it');
    }
  }
  // Targets (docs/pmd.md), printed beside the results, never asserted.
  if (only === 'latency') return latencyPart(kernel, cpus, threadedValid, say);
  const at32 = results.stepped.find((r) => r.B === 32);
  say('\ntargets (stepped, B = 32)');
  if (at32) {
    say(`  JS >= 0.60 x C Mpps:          ${(at32.jsMpps / at32.cMpps).toFixed(2)}  ${at32.jsMpps / at32.cMpps >= 0.6 ? 'met' : 'NOT met'}`);
    say(`  JS driver ns/pkt <= 2.5 x C:  ${(at32.jsDrv / at32.cDrv).toFixed(2)}  ${at32.jsDrv / at32.cDrv <= 2.5 ? 'met' : 'NOT met'}` +
      ` (without the step() bias: ${(at32.jsDrvNoBias / at32.cDrv).toFixed(2)}  ${at32.jsDrvNoBias / at32.cDrv <= 2.5 ? 'met' : 'NOT met'})`);
  }
  const gcs = [...results.stepped, ...results.threaded].reduce((a, r) => a + r.gcs, 0);
  say(`  0 GC events in measured JS loops: ${gcs}  ${gcs === 0 ? 'met' : 'NOT met'}`);

  if (only === undefined) await latencyPart(kernel, cpus, threadedValid, say);
  if (SVG !== '' && only === undefined) {
    const caption = [...machine(), `vfio-cdx bench:pmd, ${new Date().toISOString().slice(0, 10)}; stepped: driver + model on one thread;`,
      `threaded: model spinning on its own core${threadedValid ? '' : ` (not valid here: ${cpus} CPUs, 4 needed)`}.`];
    fs.writeFileSync(SVG, chart(results.stepped, results.threaded, caption, threadedValid));
    say(`\nchart: ${path.relative(process.cwd(), SVG)}`);
  }
}

if (!isMainThread) {
  workerMain(workerData as Job).then((r) => parentPort!.postMessage(r), (e) => { throw e; });
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
