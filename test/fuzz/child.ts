/**
 * A fuzz child process: runs a batch of sequences, and after each one checks
 * that the process is back where it was. The parent only reads the journal,
 * so whatever happens here (a signal, an abort, a hang) it still knows the
 * calls that led to it.
 *
 * The leak check after a sequence: its kernels must report no open objects,
 * then (kernels dropped) /proc/self/fd and /proc/self/maps must match the
 * snapshot taken before it, and RSS must stay within a fixed tolerance of the
 * child's baseline. Native memory is released by finalizers that run on later
 * turns of the event loop, so each check is retried after gc() and a turn —
 * a fixed number of times, not for a time.
 */
import { openSync } from 'node:fs';
import { Journal } from './journal';
import type { Call } from './ops';
import { sequenceLength, type ChildInput, type PlantSpec } from './plan';
import { diff, diffKinds, snapshot, type Snapshot } from './process-snapshot';
import { Sequence, type KSlot } from './sequence';
import { show } from './values';

// Rounds of gc() + one turn of the loop: finalizers (FinalizationRegistry, N-API) run on the turns
// after a collection. A check that has not come true after this many rounds, or that has not moved
// for STILL_ROUNDS rounds in a row, never will by waiting. Generous on purpose: a worker's
// environment teardown and the finalizers it runs take longer on a busy machine, and a leak found
// only because the machine was slow would be a false report.
const SETTLE_ROUNDS = 100;
const STILL_ROUNDS = 25;
const gc = (globalThis as { gc?: () => void }).gc;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let current: { seq: number; s: Sequence | undefined } = { seq: -1, s: undefined };
let journal: Journal;

function report(kind: 'crash' | 'leak', message: string, detail?: string): void {
  const s = current.s;
  journal.failure({ kind, message, seq: current.seq, thread: 'main', step: s?.step ?? -1, call: s === undefined ? '(between sequences)' : '(asynchronous)', ...(detail ? { detail } : {}) });
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}${typeof (e as { code?: unknown }).code === 'string' ? ` [${(e as unknown as { code: string }).code}]` : ''}: ${e.message}`;
  return show(e);
}

async function settle(done: () => boolean, progress: () => string = () => ''): Promise<boolean> {
  let last = '';
  let still = 0;
  for (let i = 0; i < SETTLE_ROUNDS; i++) {
    if (done()) return true;
    const now = progress();
    still = now === last ? still + 1 : 0;
    last = now;
    if (still >= STILL_ROUNDS) break;
    gc!();
    await turn();
  }
  return done();
}

function openObjects(ks: KSlot): number {
  try {
    return ks.k.openObjects();
  } catch {
    return 0;
  }
}

/**
 * The sequence's kernels while their open objects settle. Only this object
 * holds them, and only synchronous functions touch them: a KSlot left in a
 * register of a suspended async function would keep its kernel alive (V8
 * saves a generator's registers wholesale), and the process-level check
 * after this one would then blame the library for it.
 */
class HeldKernels {
  #list: KSlot[];
  constructor(kernels: KSlot[]) {
    // Kernels attached twice appear twice; check each kernel once.
    this.#list = [...new Map(kernels.map((k) => [k.token, k])).values()];
    kernels.length = 0;
  }
  counts(): string { return this.#list.map(openObjects).join(); }
  allClosed(): boolean { return this.#list.every((k) => openObjects(k) === 0); }
  /** "k0.openObjects() = 3" for each kernel that still holds objects. */
  report(): string[] { return this.#list.filter((k) => openObjects(k) > 0).map((k) => `${k.name}.openObjects() = ${openObjects(k)}`); }
  release(): void { this.#list = []; }
}

async function leakCheck(origin: Snapshot, before: Snapshot, kernels: KSlot[], seq: Sequence): Promise<void> {
  const problems: string[] = [];
  const details: string[] = [];
  const held = new HeldKernels(kernels);
  await settle(() => held.allClosed(), () => held.counts());
  const open = held.report();
  held.release();
  if (open.length > 0) {
    problems.push('mock kernel still holds open objects');
    details.push(...open);
  }
  let after = snapshot();
  let changes: string[] = [];
  await settle(() => (changes = diff(before, (after = snapshot()), origin)).length === 0, () => changes.join());
  if (changes.length > 0) {
    problems.push(`left after the sequence: ${diffKinds(before, after, origin)}`);
    details.push(...changes.slice(0, 12));
  }
  if (problems.length > 0) {
    seq.fail('leak', [...new Set(problems)].join('; '), '(leak check after the sequence)', details.join(' | '), 1_000_000);
  }
}

/**
 * Things Node and libuv make once per process, lazily, and keep: libuv's
 * reserve descriptor (/dev/null, opened with the loop's first stream), the
 * stdio streams, the addon itself. Made before the baseline so that a
 * sequence which happens to be the first to need them is not blamed for them.
 * (A worker thread leaves nothing behind in the process once it has exited.)
 */
async function warmUp(): Promise<void> {
  void process.stdout.writable;
  void process.stderr.writable;
  const { MockKernel } = await import('../../lib/mock');
  const { CdxBus } = await import('../../lib');
  // In a function of its own, so that nothing in this frame keeps the kernel alive while it settles.
  (() => new CdxBus({ kernel: MockKernel.fixture({ bound: true }) }).open('cdx-00:00').close())();
  await settle(() => false);
}

/** The self-test's planted failures: what the detector must see. */
function planted(kind: PlantSpec['kind']): Call {
  switch (kind) {
    case 'abort': return { op: 'plant', desc: 'process.abort()  /* planted crash */', run: () => process.abort() };
    case 'hang': return { op: 'plant', desc: 'Atomics.wait(…)  /* planted hang */',
      run: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0) };
    case 'leak': return { op: 'plant', desc: "fs.openSync('/dev/null')  /* planted leak */", run: () => { openSync('/dev/null', 'r'); } };
    default: return { op: 'plant', desc: "throw new Error('planted untyped error')  /* planted */",
      run: () => { throw new Error('planted untyped error'); } };
  }
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]!) as ChildInput;
  journal = new Journal(input.journal, input.verbose);
  if (gc === undefined) throw new Error('run with --expose-gc');
  process.on('uncaughtException', (e) => {
    report('crash', `uncaught exception: ${errorText(e)}`, e instanceof Error ? e.stack?.split('\n').slice(0, 5).join(' | ') : undefined);
  });
  process.on('unhandledRejection', (e) => {
    // The fuzzer follows every promise it is given; an unhandled one was made inside the library.
    report('crash', `unhandled rejection: ${errorText(e)}`, e instanceof Error ? e.stack?.split('\n').slice(0, 5).join(' | ') : undefined);
  });
  process.on('warning', () => undefined);

  await warmUp();
  const origin = snapshot();
  let rssBase = 0;
  const tolerance = input.rssToleranceMiB * 1024 * 1024;
  for (let seq = input.first; seq <= input.last; seq++) {
    journal.sequence(seq);
    const before = snapshot();
    const s = new Sequence({ seed: input.seed, seq, thread: 'main', journal, exclude: new Set(input.exclude),
      ...(input.keep === undefined ? {} : { keep: new Set(input.keep) }),
      ...(input.plant?.seq === seq ? { plant: { step: input.plant.step, call: planted(input.plant.kind) } } : {}) });
    current = { seq, s };
    await s.run(sequenceLength(input.seed, seq));
    await s.finish();
    const calls = s.calls + s.workerCalls();
    const kernels = s.release();
    current = { seq, s: undefined };
    await leakCheck(origin, before, kernels, s);
    gc();
    const rss = process.memoryUsage.rss();
    if (seq - input.first === 2) rssBase = rss;
    if (rssBase > 0 && rss > rssBase + tolerance) {
      s.fail('leak', `RSS grew more than ${input.rssToleranceMiB} MiB over the child's baseline`, '(leak check after the sequence)',
        `baseline ${(rssBase / 2 ** 20).toFixed(1)} MiB, now ${(rss / 2 ** 20).toFixed(1)} MiB`, 1_000_000);
      rssBase = rss;
    }
    journal.end(seq, calls);
  }
  journal.close();
  process.exit(0);
}

main().catch((e: unknown) => {
  // The fuzzer itself failed: say so as a crash (never as a pass), with what it was doing.
  report('crash', `fuzzer error: ${errorText(e)}`, e instanceof Error ? e.stack?.split('\n').slice(1, 5).join(' | ') : undefined);
  process.exit(70);
});
