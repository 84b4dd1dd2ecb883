/**
 * One fuzz sequence: the objects it made (kernels, devices, mappings, MSI
 * vectors, DMA buffers, raw descriptors, workers), the loop that runs its
 * calls, and the cleanup that closes everything it opened so the leak check
 * can expect the process to be back where it was.
 *
 * Each call is journalled before it runs and judged after: a thrown value must
 * be an Error with a string `code` (a VfioError with a real errno, or an
 * `ERR_*` code); anything else is an untyped error.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { VfioError, type CdxBus, type Device, type Mapping, type MsiVector, type DmaBuffer } from '../../lib';
import type { MockKernel } from '../../lib/mock';
import type { RawKernel } from '../../lib/raw';
import type { FailureRecord, Journal } from './journal';
import { derive, Rng } from './rng';
import { SENTINEL, show } from './values';
import { chooseOp, type Call } from './ops';

export interface KSlot {
  id: number;
  name: string;
  k: MockKernel;
  bus: CdxBus;
  raw: RawKernel;
  /** Identifies the kernel itself: slots attached to the same kernel share it. */
  token: string;
}

export interface DSlot {
  id: number;
  name: string;
  dev: Device;
  ks: KSlot;
  devName: string;
  closed: boolean;
}

export interface MSlot {
  id: number;
  name: string;
  m: Mapping;
  ds: DSlot;
  views: Array<{ name: string; a: Uint8Array | Uint16Array | Uint32Array | BigUint64Array; width: number }>;
}

export interface VSlot { id: number; name: string; v: MsiVector; ds: DSlot; listeners: Array<(n: number) => void> }
export interface BSlot { id: number; name: string; b: DmaBuffer; ds: DSlot }
export interface PSlot { id: number; name: string; settled: boolean; ds: DSlot | undefined; what: string; step: number }
export interface ISlot { id: number; name: string; it: AsyncGenerator<number>; ds: DSlot; pending: number; step: number }
export interface FSlot { id: number; name: string; ks: KSlot; fd: number; live: boolean; kind: string }
export interface RSlot { id: number; name: string; ks: KSlot; address: bigint; length: number; live: boolean; tainted: boolean }
export interface WSlot {
  id: number;
  name: string;
  w: Worker;
  sab: Int32Array;
  exited: Promise<void>;
  alive: boolean;
  terminated: boolean;
  terminateAt: number;
  loops: boolean;
  tokens: string[];
}

/** Worker shared counters: [0] calls run, [1] 1 once inside its throwing loop. */
export const W_CALLS = 0;
export const W_LOOPING = 1;

export interface SequenceOptions {
  seed: number;
  seq: number;
  thread: string;
  journal: Journal;
  /** Worker threads only: the kernels to attach to, and where to count calls. */
  tokens?: string[];
  sab?: Int32Array;
  /** Op names never to pick (exploration only; the summary says so). */
  exclude?: ReadonlySet<string>;
  /** Minimizing: run only these steps ("main:12", "w0:3"); the others are skipped, their draws unused. */
  keep?: ReadonlySet<string>;
  /** Self-test: the call to make at one step instead of the drawn one. */
  plant?: { step: number; call: Call };
}

const WORKER_JS = path.join(__dirname, 'worker.js');

/** Why a thrown value is not a typed error, or undefined when it is one. */
export function untypedReason(e: unknown): string | undefined {
  if (!(e instanceof Error)) {
    // Errors made in another realm (a worker's) are not instanceof this realm's Error.
    if (e !== null && typeof e === 'object' && typeof (e as Error).message === 'string' && typeof (e as Error).stack === 'string') {
      return untypedReason(Object.assign(new Error((e as Error).message), e));
    }
    return `threw a non-Error: ${show(e)}`;
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') {
    return `${e.name}: ${e.message}${code === undefined ? '' : ` (code ${show(code)})`}`;
  }
  if (e instanceof VfioError || e.name === 'VfioError') {
    const errno = (e as VfioError).errno;
    if (!Number.isInteger(errno) || errno > -1 || errno < -4095) return `VfioError with errno ${show(errno)}: ${e.message}`;
    if (!/^E[A-Z0-9]+$/.test(code)) return `VfioError with code ${code}: ${e.message}`;
    return undefined;
  }
  // Node's own convention for aborted operations (events.on, AbortSignal consumers).
  if (code === 'ABORT_ERR') return undefined;
  if (!code.startsWith('ERR_')) return `${e.name} with a code that is neither an errno nor ERR_*: ${code}: ${e.message}`;
  return undefined;
}

export class Sequence {
  readonly seed: number;
  readonly seq: number;
  readonly thread: string;
  readonly journal: Journal;
  readonly isWorker: boolean;
  readonly exclude: ReadonlySet<string>;
  readonly keep: ReadonlySet<string> | undefined;
  readonly sab: Int32Array | undefined;

  kernels: KSlot[] = [];
  devices: DSlot[] = [];
  mappings: MSlot[] = [];
  vectors: VSlot[] = [];
  buffers: BSlot[] = [];
  promises: PSlot[] = [];
  iterators: ISlot[] = [];
  rawFds: FSlot[] = [];
  rawMaps: RSlot[] = [];
  workers: WSlot[] = [];
  /** Objects made by Reflect.construct and the like: used as wrong receivers and wrong arguments. */
  junk: object[] = [];
  /** Tokens of kernels whose devices were dropped without close (GC closes them, some time). */
  droppedOn = new Set<string>();
  /** Tokens of kernels a worker of this sequence attached to. */
  workerKernels = new Set<string>();

  readonly #plant: { step: number; call: Call } | undefined;
  calls = 0;
  step = 0;
  failures = 0;
  #ids = 0;

  constructor(o: SequenceOptions) {
    this.seed = o.seed;
    this.seq = o.seq;
    this.thread = o.thread;
    this.journal = o.journal;
    this.isWorker = o.thread !== 'main';
    this.exclude = o.exclude ?? new Set();
    this.keep = o.keep;
    this.#plant = o.plant;
    this.sab = o.sab;
  }

  /** A fresh name for an object about to be made (`d3`); {@link nameOf} gives it to the object once it exists. */
  nextName(prefix: string): string {
    return `${prefix}${this.#ids++}`;
  }

  // ---- running calls

  /** Runs `length` steps; each draws from its own generator. */
  async run(length: number, first = 0): Promise<void> {
    const tid = this.isWorker ? Number(this.thread.slice(1)) + 1 : 0;
    for (let i = first; i < first + length; i++) {
      this.step = i;
      if (!this.isWorker) this.#scheduleWorkers(i);
      if (!this.kept(i)) continue;
      const r = new Rng(derive(this.seed, this.seq, tid, i));
      let call: Call | undefined;
      try {
        call = this.#plant?.step === i ? this.#plant.call : chooseOp(this, r);
      } catch (e) {
        // The fuzzer's own mistake, or a library call made while drawing arguments that threw: say so, go on.
        this.fail('crash', `fuzzer error while choosing a call: ${describe(e)}`, '(choosing)',
          e instanceof Error ? e.stack?.split('\n').slice(1, 4).join(' | ') : undefined);
      }
      if (call !== undefined) await this.exec(call);
    }
  }

  /** Whether step `i` of this thread runs (always, unless minimizing). */
  kept(i: number): boolean {
    return this.keep === undefined || this.keep.has(`${this.thread}:${i}`);
  }

  /** Journals the call, runs it and judges what it threw. */
  async exec(call: Call): Promise<void> {
    const step = this.step;
    this.journal.call(this.seq, this.thread, step, call.desc);
    this.calls++;
    if (this.sab !== undefined) Atomics.add(this.sab, W_CALLS, 1);
    try {
      const v = call.run();
      if (call.await === true) await v;
      else if (v !== null && typeof v === 'object' && typeof (v as Promise<unknown>).then === 'function') {
        this.track(v as Promise<unknown>, undefined, call.desc, call.allow);
      }
      if (this.journal.verbose) this.journal.result(this.seq, this.thread, step, `-> ${summarize(v)}`);
    } catch (e) {
      if (this.journal.verbose) this.journal.result(this.seq, this.thread, step, `threw ${describe(e)}`);
      this.judge(e, step, call.desc, call.allow);
    }
  }

  /** Records an untyped error unless `e` is typed, the caller's own sentinel, or allowed by the call. */
  judge(e: unknown, step: number, desc: string, allow?: (e: unknown) => boolean): void {
    if (e === SENTINEL) return;
    if (allow?.(e) === true) return;
    const why = untypedReason(e);
    if (why !== undefined) {
      const stack = e instanceof Error && e.stack ? e.stack.split('\n').slice(1, 4).map((l) => l.trim()).join(' | ') : undefined;
      this.fail('untyped', why, desc, stack, step);
    }
  }

  fail(kind: FailureRecord['kind'], message: string, call: string, detail?: string, step = this.step): void {
    this.failures++;
    this.journal.failure({ kind, message, seq: this.seq, thread: this.thread, step, call, ...(detail ? { detail } : {}) });
  }

  /** Follows a promise the library returned: its rejection must be typed too. */
  track(p: Promise<unknown>, ds: DSlot | undefined, what: string, allow?: (e: unknown) => boolean): PSlot {
    const slot: PSlot = { id: this.#ids, name: `p${this.#ids++}`, settled: false, ds, what, step: this.step };
    const step = this.step;
    p.then(() => { slot.settled = true; }, (e: unknown) => {
      slot.settled = true;
      this.judge(e, step, `${what} (rejection)`, allow);
    });
    this.promises.push(slot);
    return slot;
  }

  // ---- object choice

  /** One of `items`, preferring live ones; undefined when there are none. */
  pick<T>(r: Rng, items: readonly T[], live?: (t: T) => boolean, pLive = 0.85): T | undefined {
    if (items.length === 0) return undefined;
    if (live !== undefined && r.chance(pLive)) {
      const l = items.filter(live);
      if (l.length > 0) return r.pick(l);
    }
    return r.pick(items);
  }

  liveDevice(ds: DSlot): boolean { return !ds.closed; }

  /** Whether a write that blocks while a device of this kernel is open may be done now without deadlocking this thread. */
  mayBlock(ks: KSlot): boolean {
    if (this.isWorker) return false;
    if (this.droppedOn.has(ks.token) || this.workerKernels.has(ks.token)) return false;
    if (this.devices.some((d) => d.ks.token === ks.token && !d.closed)) return false;
    if (this.rawFds.some((f) => f.ks.token === ks.token && f.live)) return false;
    // A mapping of a device fd holds the device open after its fd is closed, as in Linux.
    if (this.rawMaps.some((m) => m.ks.token === ks.token && m.live)) return false;
    return true;
  }

  /**
   * Forgets a device and everything made from it, without closing anything (GC's turn). A device
   * with a vector that is watched and ref'd is an active handle, as a socket is: by contract it
   * stays open while the process runs, so it is not the GC's to close. Its references are kept
   * (as the library's own callback keeps them) and it is closed at the end like any open device.
   */
  drop(ds: DSlot): void {
    if (this.vectors.some((v) => v.ds === ds && v.v.live && v.v.refed && v.v.listenerCount('interrupt') > 0)) return;
    this.droppedOn.add(ds.ks.token);
    this.devices = this.devices.filter((d) => d !== ds);
    this.mappings = this.mappings.filter((m) => m.ds !== ds);
    this.vectors = this.vectors.filter((v) => v.ds !== ds);
    this.buffers = this.buffers.filter((b) => b.ds !== ds);
    this.promises = this.promises.filter((p) => p.ds !== ds);
    this.iterators = this.iterators.filter((i) => i.ds !== ds);
  }

  // ---- workers (main thread only)

  spawnWorker(r: Rng, kernels: KSlot[]): WSlot {
    const id = this.workers.length;
    const sab = new Int32Array(new SharedArrayBuffer(16));
    const tokens = kernels.map((k) => k.token);
    const loops = r.chance(0.5) && !this.exclude.has('worker.loop');
    const steps = r.range(5, 80);
    const w = new Worker(WORKER_JS, {
      workerData: {
        seed: this.seed, seq: this.seq, wid: id, tokens, sab, steps, loops, closeAtEnd: r.chance(0.5),
        journal: this.journal.path, verbose: this.journal.verbose, exclude: [...this.exclude],
        keep: this.keep === undefined ? undefined : [...this.keep],
      },
      stdout: false,
      stderr: false,
    });
    const slot: WSlot = {
      id, name: `w${id}`, w, sab, alive: true, terminated: false, loops, tokens,
      terminateAt: this.step + r.range(1, 120),
      exited: new Promise<void>((resolve) => w.once('exit', () => { slot.alive = false; resolve(); })),
    };
    w.on('error', (e: unknown) => {
      this.fail('crash', `uncaught exception in worker: ${describe(e)}`, `${slot.name} (worker)`,
        e instanceof Error ? e.stack?.split('\n').slice(0, 4).join(' | ') : undefined);
    });
    for (const t of tokens) this.workerKernels.add(t);
    this.workers.push(slot);
    return slot;
  }

  #scheduleWorkers(step: number): void {
    for (const w of this.workers) {
      if (!w.alive || w.terminated || step < w.terminateAt) continue;
      // A worker that will loop on a throwing native call is terminated only once it is inside that loop.
      if (w.loops && Atomics.load(w.sab, W_LOOPING) === 0) continue;
      this.#terminate(w);
    }
  }

  #terminate(w: WSlot): void {
    w.terminated = true;
    this.journal.call(this.seq, this.thread, this.step, `${w.name}.terminate()`);
    this.calls++;
    w.w.terminate().catch(() => undefined);
  }

  /** Waits for every worker: looping ones once inside their loop, then terminated; others to their end. */
  async #stopWorkers(r: Rng): Promise<void> {
    for (const w of this.workers) {
      if (!w.alive) continue;
      if (w.loops && !w.terminated) {
        while (w.alive && Atomics.load(w.sab, W_LOOPING) === 0) {
          const wait = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> } })
            .waitAsync(w.sab, W_LOOPING, 0);
          if (wait.async) await Promise.race([wait.value, w.exited]);
        }
      }
      if (w.alive && !w.terminated && (w.loops || r.chance(0.5))) this.#terminate(w);
      await w.exited;
    }
  }

  /** Calls the workers ran (read after they exited). */
  workerCalls(): number {
    let n = 0;
    for (const w of this.workers) n += Atomics.load(w.sab, W_CALLS);
    return n;
  }

  // ---- end of sequence

  /**
   * Closes everything the sequence still holds, as a careful program would at
   * its end: workers stopped, iterators returned, devices closed, raw
   * descriptors closed, raw mappings unmapped. Then checks that every promise
   * the library gave out has settled (a wait() still pending on a closed device
   * never will).
   */
  async finish(): Promise<void> {
    const r = new Rng(derive(this.seed, this.seq, 0xffff, this.isWorker ? Number(this.thread.slice(1)) + 1 : 0));
    if (!this.isWorker) await this.#stopWorkers(r);
    this.step = 1_000_000;
    const closeCall = (desc: string, run: () => unknown): Promise<void> => this.exec({ op: 'cleanup', desc, run });
    for (const i of this.iterators) {
      await closeCall(`${i.name}.return()`, () => { this.track(i.it.return(undefined), i.ds, `${i.name}.return()`); });
      this.step++;
    }
    for (const d of this.devices) {
      if (d.closed) continue;
      d.closed = true;
      await closeCall(r.chance(0.5) ? `${d.name}.close()` : `${d.name}[Symbol.dispose]()`, () => d.dev.close());
      this.step++;
    }
    for (const f of this.rawFds) {
      if (!f.live) continue;
      f.live = false;
      await closeCall(`${f.ks.name}raw.close(${f.name})`, () => f.ks.raw.close(f.fd));
      this.step++;
    }
    for (const m of this.rawMaps) {
      if (!m.live) continue;
      m.live = false;
      await closeCall(`${m.ks.name}raw.munmap(${m.name}, ${show(m.length)})`, () => m.ks.raw.munmap(m.address, m.length));
      this.step++;
    }
    // Rejections and interrupt deliveries run on later turns of the loop; a fixed count, not a time.
    for (let i = 0; i < 8; i++) await new Promise((resolve) => setImmediate(resolve));
    for (const p of this.promises) {
      if (!p.settled && p.ds !== undefined && p.ds.closed) {
        this.fail('leak', `${p.what.replace(/^\w+\d+/, 'x')} never settled after its device was closed`, p.what, undefined, p.step);
      }
    }
  }

  /** Everything this sequence references, let go (the kernels are handed back for the leak check). */
  release(): KSlot[] {
    const ks = this.kernels;
    this.kernels = [];
    this.devices = [];
    this.mappings = [];
    this.vectors = [];
    this.buffers = [];
    this.promises = [];
    this.iterators = [];
    this.rawFds = [];
    this.rawMaps = [];
    this.workers = [];
    this.junk = [];
    return ks;
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}${typeof (e as { code?: unknown }).code === 'string' ? ` [${(e as unknown as { code: string }).code}]` : ''}: ${e.message}`;
  return show(e);
}

function summarize(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    const s = show(v);
    return s.length > 120 ? `${s.slice(0, 120)}…` : s;
  } catch {
    return typeof v;
  }
}
