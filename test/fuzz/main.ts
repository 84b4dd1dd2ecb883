/**
 * `npm run fuzz`: random call sequences over the whole public API, the mock's
 * control side and the raw layer, run in child processes so that a crash is
 * caught and reported with its seed and the calls that led to it.
 *
 * The parent plans sequences from the seed (sequence i has a length drawn from
 * (seed, i)), hands batches of them to `--jobs` children at a time, and reads
 * each child's journal when it ends. A child that dies, or in which no call
 * starts or ends for `--hang-seconds`, is a crash; its unfinished sequence is
 * the one reported, and the rest of its batch runs in a new child.
 *
 * Last line: `calls N, sequences S, crashes C, leaks L, untyped errors U`;
 * exit status 1 unless C = L = U = 0.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FailureRecord } from './journal';
import { OP_NAMES } from './ops';
import { sequenceLength, type ChildInput, type PlantSpec } from './plan';

const CHILD_JS = path.join(__dirname, 'child.js');

interface Options {
  seed: number;
  seedGiven: boolean;
  calls: number;
  jobs: number;
  batch: number;
  replay: boolean;
  sequence: [number, number] | undefined;
  hangSeconds: number;
  exclude: string[];
  rssToleranceMiB: number;
  verify: boolean;
  minimize: boolean;
  match: string | undefined;
  /** Self-test: a failure planted at a step, to show the fuzzer reports it. */
  plant: PlantSpec | undefined;
}

interface Failure extends FailureRecord {
  /** For crashes: every call of the sequence, in the order they started. */
  calls?: string[];
  /** For crashes: the range of sequences the child had run when it died (for a replay in the same state). */
  batch?: [number, number];
}

interface ChildResult {
  sequences: number;
  calls: number;
  failures: Failure[];
  /** The first sequence the child did not get to (after a crash). */
  resumeAt: number | undefined;
  log: string[];
  /** Steps that made a call ("main:12", "w0:3"), in the order they started. */
  steps: string[];
}

const USAGE = `usage: npm run fuzz -- [options]

  --seed N            run seed (default: random, printed)
  --calls N           calls to make at least (default 100000), counting workers' calls; sequences are
                      planned by their main-thread calls, and more are added if crashes cut some short
  --jobs N            child processes at a time (default: the number of CPUs)
  --batch N           sequences per child process (default 25)
  --sequence A[-B]    run only sequences A..B of the seed (with --replay: print every call and its outcome)
  --replay            print each call and its outcome as it ran
  --hang-seconds N    a child in which no call starts or ends for N seconds is a crash (hang) (default 120)
  --rss-tolerance N   MiB of RSS growth over a child's baseline before it is a leak (default 64)
  --exclude a,b       never make these calls (exploration only: the summary says so); one of
                      ${OP_NAMES.join(', ')}
  --no-verify         do not re-run each distinct failure alone to see whether it reproduces
  --minimize          with --seed and --sequence N: find a smallest set of that sequence's calls that
                      still fails the same way (delta debugging over its steps), and print it
  --match TEXT        with --minimize: the failure whose message contains TEXT (default: the first
                      crash, else leak, else untyped error)
  --self-test         plant one failure of each kind (abort, hang, leak, untyped error) in a short run
                      and check that each is reported as what it is; exit 0 when all are
`;

function usageError(message: string): never {
  process.stderr.write(`fuzz: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let selfTest = false;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    seed: randomInt(2 ** 32), seedGiven: false, calls: 100_000, jobs: os.availableParallelism?.() ?? os.cpus().length,
    batch: 25, replay: false, sequence: undefined, hangSeconds: 120, exclude: [], rssToleranceMiB: 64, verify: true,
    minimize: false, match: undefined, plant: undefined,
  };
  const num = (name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) usageError(`${name} takes an integer from ${min} to ${max}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const next = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--seed': o.seed = num('--seed', next(), 0, 2 ** 32 - 1); o.seedGiven = true; break;
      case '--calls': o.calls = num('--calls', next(), 1); break;
      case '--jobs': o.jobs = num('--jobs', next(), 1, 64); break;
      case '--batch': o.batch = num('--batch', next(), 1); break;
      case '--hang-seconds': o.hangSeconds = num('--hang-seconds', next(), 5); break;
      case '--rss-tolerance': o.rssToleranceMiB = num('--rss-tolerance', next(), 1); break;
      case '--replay': o.replay = true; break;
      case '--no-verify': o.verify = false; break;
      case '--minimize': o.minimize = true; break;
      case '--self-test': selfTest = true; break;
      case '--match': o.match = next(); if (!o.match) usageError('--match takes a text'); break;
      case '--sequence': {
        const v = next() ?? '';
        const m = /^(\d+)(?:-(\d+))?$/.exec(v);
        if (m === null || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) usageError('--sequence takes N or A-B (A <= B)');
        o.sequence = [Number(m[1]), Number(m[2] ?? m[1])];
        break;
      }
      case '--exclude': {
        const list = (next() ?? '').split(',').filter(Boolean);
        for (const x of list) if (!OP_NAMES.includes(x)) usageError(`--exclude: unknown call '${x}'`);
        o.exclude.push(...list);
        break;
      }
      case '-h':
      case '--help': process.stdout.write(USAGE); process.exit(0);
      // falls through (never reached)
      default: usageError(`unknown argument '${a}'`);
    }
  }
  if (o.replay && o.sequence === undefined) usageError('--replay needs --sequence N (the failure summary prints it)');
  if (o.replay && !o.seedGiven) usageError('--replay needs --seed');
  if (o.minimize && (!o.seedGiven || o.sequence === undefined || o.sequence[0] !== o.sequence[1])) {
    usageError('--minimize needs --seed and --sequence N (one sequence)');
  }
  return o;
}

// ---- reading what a child did

const KEY_LINES = [/Assertion failed:[^\n]*/, /[\w.:/ -]*Assertion `[^\n]*' failed\.?/, /terminate called[^\n]*/, /FATAL ERROR:[^\n]*/, /Fatal error[^\n]*/,
  /Check failed:[^\n]*/, /Segmentation fault[^\n]*/, /Bus error[^\n]*/, /\n(\w*Error[^\n]*)/, /what\(\):[^\n]*/];

function crashMessage(code: number | null, signal: string | null, hung: boolean, hangSeconds: number, stderr: string): string {
  if (hung) return `hang: no call started or ended for ${hangSeconds} s`;
  const key = KEY_LINES.map((re) => re.exec(stderr)).find((m) => m !== null);
  const line = key ? (key[1] ?? key[0]).trim().replace(/^node\[\d+\]:\s*/, '').slice(0, 240) : '';
  const how = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
  return line ? `${how}: ${line}` : how;
}

function readJournal(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

async function runChild(o: Options, first: number, last: number, dir: string, id: number, keep?: string[]): Promise<ChildResult> {
  const journal = path.join(dir, `child-${id}.log`);
  const input: ChildInput = { seed: o.seed, first, last, journal, verbose: o.replay, exclude: o.exclude,
    rssToleranceMiB: o.rssToleranceMiB, ...(keep === undefined ? {} : { keep }), ...(o.plant ? { plant: o.plant } : {}) };
  const child = spawn(process.execPath, ['--expose-gc', '--no-warnings', CHILD_JS, JSON.stringify(input)],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-32768); });
  // The watchdog counts progress, not time per call: a child is hung when its journal has not grown
  // (no call started or ended, in any thread) for hangSeconds in a row.
  let size = -1;
  let still = 0;
  let hung = false;
  const timer = setInterval(() => {
    let now = 0;
    try { now = statSync(journal).size; } catch { /* not created yet */ }
    if (now !== size) { size = now; still = 0; return; }
    if (++still >= o.hangSeconds) { hung = true; child.kill('SIGKILL'); }
  }, 1000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearInterval(timer);

  const started: number[] = [];
  const ended = new Map<number, number>();
  const calls = new Map<number, string[]>();
  const failures: Failure[] = [];
  const log: string[] = [];
  const steps = new Set<string>();
  let lastCall: { seq: number; thread: string; step: number; desc: string; choosing: boolean } | undefined;
  for (const line of readJournal(journal)) {
    if (line.length < 2) continue;
    const rest = line.slice(2);
    switch (line[0]) {
      case 'S': started.push(Number(rest)); break;
      case 'E': { const [s, n] = rest.split(' '); ended.set(Number(s), Number(n)); break; }
      case 'G': {
        const m = /^(\d+) (\S+) (-?\d+) (.*)$/.exec(rest);
        if (m !== null) lastCall = { seq: Number(m[1]), thread: m[2]!, step: Number(m[3]), desc: `(choosing the arguments of a '${m[4]}' call)`, choosing: true };
        break;
      }
      case 'C':
      case 'R': {
        const m = /^(\d+) (\S+) (-?\d+) (.*)$/.exec(rest);
        if (m === null) break;
        const seq = Number(m[1]);
        const text = line[0] === 'C' ? `${m[2]}#${m[3]}: ${m[4]}` : `      ${m[4]}`;
        if (!calls.has(seq)) calls.set(seq, []);
        calls.get(seq)!.push(text);
        if (o.replay) log.push(text);
        if (line[0] === 'C') {
          lastCall = { seq, thread: m[2]!, step: Number(m[3]), desc: m[4]!, choosing: false };
          if (lastCall.step < 1_000_000) steps.add(`${m[2]}:${m[3]}`);
        }
        break;
      }
      case 'F': {
        try {
          const f = JSON.parse(rest) as Failure;
          failures.push(f);
          if (o.replay) log.push(`  !! ${f.kind}: ${f.message}${f.detail ? ` (${f.detail})` : ''}`);
        } catch { /* a line cut by the kill */ }
        break;
      }
      default: break;
    }
  }
  let done = 0;
  let count = 0;
  for (const [, n] of ended) { done++; count += n; }
  let resumeAt: number | undefined;
  if (hung || signal !== null || code !== 0) {
    const unfinished = started.find((s) => !ended.has(s));
    const seq = unfinished ?? started[started.length - 1] ?? first;
    const these = calls.get(seq) ?? [];
    const inFlight = lastCall !== undefined && lastCall.seq === seq ? lastCall : undefined;
    if (inFlight?.choosing === true) these.push(`${inFlight.thread}#${inFlight.step}: ${inFlight.desc}`);
    const message = crashMessage(code, signal, hung, o.hangSeconds, stderr) + (unfinished === undefined ? ' (at process exit)' : '');
    failures.push({
      kind: 'crash', message, seq, thread: inFlight?.thread ?? 'main', step: inFlight?.step ?? -1,
      call: inFlight?.desc ?? '(none)', calls: these, batch: [first, seq],
      detail: stderr.trim().split('\n').slice(-6).join(' | ').slice(0, 1500),
    });
    if (o.replay) log.push(`  !! crash: ${message}${stderr.trim() ? ` (stderr: ${stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 600)})` : ''}`);
    if (unfinished !== undefined) {
      done++;
      count += these.filter((c) => !c.startsWith(' ')).length;
      if (seq < last) resumeAt = seq + 1;
    }
  }
  rmSync(journal, { force: true });
  return { sequences: done, calls: count, failures, resumeAt, log, steps: [...steps] };
}

// ---- grouping and the summary

function groupKey(f: Failure): string {
  const msg = f.message.replace(/0x[0-9a-f]+/gi, '0x…').replace(/\d+/g, 'N').replace(/'cdx-[^']*'/g, "'cdx-…'");
  return `${f.kind}|${msg}`;
}

interface Group {
  key: string;
  kind: string;
  first: Failure;
  count: number;
  examples: string[];
  reproduces?: boolean;
}

function groups(failures: Failure[]): Group[] {
  const map = new Map<string, Group>();
  const sorted = [...failures].sort((a, b) => a.seq - b.seq || a.step - b.step);
  for (const f of sorted) {
    const key = groupKey(f);
    let g = map.get(key);
    if (g === undefined) {
      g = { key, kind: f.kind, first: f, count: 0, examples: [] };
      map.set(key, g);
    }
    g.count++;
    if (g.examples.length < 3 && !g.examples.includes(f.call)) g.examples.push(f.call);
  }
  const order = { crash: 0, leak: 1, untyped: 2 } as Record<string, number>;
  return [...map.values()].sort((a, b) => (order[a.kind]! - order[b.kind]!) || b.count - a.count);
}

async function pool<T>(jobs: number, items: T[], work: (item: T, push: (t: T) => void) => Promise<void>): Promise<void> {
  const queue = [...items];
  const push = (t: T) => queue.unshift(t);
  const runners = Array.from({ length: jobs }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item, push);
  });
  // A runner that finds the queue empty stops; work pushed later is taken by those still running.
  await Promise.all(runners);
  while (queue.length > 0) await work(queue.shift()!, push);
}

/**
 * Delta debugging (Zeller's ddmin) over a sequence's steps: a smallest set of
 * steps that still fails. Each step draws from its own generator, so running
 * a subset makes the same kind of call at each kept step (its arguments adapt
 * to what exists). At most `budget` trials.
 */
async function ddmin(items: string[], test: (keep: string[]) => Promise<boolean>, budget: number): Promise<string[]> {
  let n = 2;
  let trials = 0;
  while (items.length >= 2 && trials < budget) {
    const size = Math.ceil(items.length / n);
    const chunks: string[][] = [];
    for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
    let reduced = false;
    for (const c of chunks) {
      if (trials++ >= budget) break;
      if (await test(c)) { items = c; n = 2; reduced = true; break; }
    }
    if (!reduced && n > 2) {
      for (const c of chunks) {
        if (trials++ >= budget) break;
        const rest = items.filter((x) => !c.includes(x));
        if (await test(rest)) { items = rest; n = Math.max(n - 1, 2); reduced = true; break; }
      }
    }
    if (!reduced) {
      if (n >= items.length) break;
      n = Math.min(items.length, n * 2);
    }
  }
  return items;
}

async function minimize(o: Options, dir: string): Promise<number> {
  const seq = o.sequence![0];
  let id = 0;
  const quiet = { ...o, replay: false };
  const full = await runChild(quiet, seq, seq, dir, id++);
  const order = { crash: 0, leak: 1, untyped: 2 } as Record<string, number>;
  const candidates = full.failures.filter((f) => o.match === undefined || f.message.includes(o.match))
    .sort((a, b) => order[a.kind]! - order[b.kind]!);
  const target = candidates[0];
  if (target === undefined) {
    process.stdout.write(`fuzz: sequence ${seq} of seed ${o.seed} shows no failure${o.match ? ` matching '${o.match}'` : ''} this time\n`);
    return 1;
  }
  // With --match, any failure of that kind whose message contains the text will do (a leak's
  // message lists every kind of thing left, and unrelated ones come and go as steps are removed).
  const key = groupKey(target);
  const same = (f: Failure): boolean => (o.match === undefined ? groupKey(f) === key : f.kind === target.kind && f.message.includes(o.match));
  process.stdout.write(`fuzz: minimizing sequence ${seq} (${full.steps.length} steps) for [${target.kind}] ${target.message}\n`);
  let trials = 0;
  const min = await ddmin(full.steps, async (keep) => {
    trials++;
    const r = await runChild(quiet, seq, seq, dir, id++, keep);
    return r.failures.some(same);
  }, 400);
  const last = await runChild({ ...o, replay: true }, seq, seq, dir, id++, min);
  const again = last.failures.some(same);
  process.stdout.write([...last.log, '',
    `fuzz: ${min.length} of ${full.steps.length} steps kept after ${trials} trials; the failure ${again ? 'reproduced' : 'did NOT reproduce'} on the last run`,
    `fuzz: steps: ${min.join(' ')}`, ''].join('\n'));
  return again ? 0 : 1;
}

/**
 * Plants one failure of each kind in sequence 1 of a short run (three
 * sequences, so the failure sits between others) and checks the report: the
 * abort is a crash with its signal and the call journalled before it, and the
 * run goes on with sequence 2; the hang is a crash found by the watchdog; the
 * forgotten descriptor is a leak; the uncoded Error is an untyped error. A
 * detector that stopped seeing any of these would make every later run
 * meaningless, so this is what shows it still sees them.
 */
async function runSelfTest(base: Options, dir: string): Promise<number> {
  const cases: Array<{ kind: PlantSpec['kind']; expect: 'crash' | 'leak' | 'untyped'; message: RegExp }> = [
    { kind: 'abort', expect: 'crash', message: /SIGABRT/ },
    { kind: 'hang', expect: 'crash', message: /^hang: / },
    { kind: 'leak', expect: 'leak', message: /left after the sequence: dev fd/ },
    { kind: 'untyped', expect: 'untyped', message: /^Error: planted untyped error$/ },
  ];
  let bad = 0;
  let id = 0;
  for (const c of cases) {
    const o: Options = { ...base, plant: { kind: c.kind, seq: 1, step: 3 }, hangSeconds: c.kind === 'hang' ? 30 : base.hangSeconds };
    let r = await runChild(o, 0, 2, dir, id++);
    const failures = [...r.failures];
    const sequences = r.sequences;
    let total = sequences;
    while (r.resumeAt !== undefined) {
      r = await runChild(o, r.resumeAt, 2, dir, id++);
      failures.push(...r.failures);
      total += r.sequences;
    }
    const planted = failures.filter((f) => f.seq === 1 && f.kind === c.expect && c.message.test(f.message) &&
      (c.expect === 'leak' || f.call.includes('planted')));
    const ok = planted.length === 1 && total === 3;
    if (!ok) bad++;
    process.stdout.write(`fuzz self-test: planted ${c.kind}: ${ok ? 'reported' : 'NOT reported as expected'} ` +
      `(${failures.filter((f) => f.seq === 1).map((f) => `[${f.kind}] ${f.message}`).join('; ') || 'nothing'}; ${total} of 3 sequences ran)\n`);
  }
  process.stdout.write(bad === 0 ? 'fuzz self-test: passed\n' : `fuzz self-test: ${bad} FAILED\n`);
  return bad === 0 ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (selfTest) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vfio-cdx-fuzz-'));
    try {
      // A fixed seed (unless one is given), without the calls that crash today's main on their own,
      // so that nothing before the planted step can end the sequence first.
      return await runSelfTest({ ...o, seed: o.seedGiven ? o.seed : 1,
        exclude: [...o.exclude, 'worker.spawn', 'worker.loop', 'view.write.readonly'] }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vfio-cdx-fuzz-'));
  if (o.minimize) {
    try {
      return await minimize(o, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const started = process.hrtime.bigint();

  // Plan: sequences of the seed until the planned main-thread calls reach --calls.
  // Plan: sequences of the seed until the planned main-thread calls reach --calls. A crash cuts its
  // sequence short, so when the calls actually made fall short, more sequences are planned after these.
  let ranges: Array<[number, number]> = [];
  let planned = 0;
  let nextSeq = 0;
  const plan = (target: number): Array<[number, number]> => {
    const from = nextSeq;
    let sum = 0;
    while (sum < target) sum += sequenceLength(o.seed, nextSeq++);
    planned += sum;
    const out: Array<[number, number]> = [];
    for (let a = from; a < nextSeq; a += o.batch) out.push([a, Math.min(nextSeq, a + o.batch) - 1]);
    return out;
  };
  if (o.sequence !== undefined) {
    ranges = [o.sequence];
    for (let s = o.sequence[0]; s <= o.sequence[1]; s++) planned += sequenceLength(o.seed, s);
  } else {
    ranges = plan(o.calls);
  }
  const seqCount = ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
  process.stdout.write(`fuzz: seed ${o.seed}${o.seedGiven ? '' : ' (random)'}; ${seqCount} sequences, ${planned} main-thread calls planned; ` +
    `${o.jobs} job(s), ${o.batch} sequences per child\n`);
  process.stdout.write(`fuzz: rerun this run: npm run fuzz -- --seed ${o.seed} --calls ${o.calls}\n`);
  if (o.exclude.length > 0) process.stdout.write(`fuzz: EXCLUDED (exploration run, not a CI result): ${o.exclude.join(', ')}\n`);

  let children = 0;
  let sequences = 0;
  let calls = 0;
  const failures: Failure[] = [];
  const log: string[] = [];
  for (;;) {
    await pool(o.replay ? 1 : o.jobs, ranges, async ([a, b], push) => {
      const r = await runChild(o, a, b, dir, children++);
      sequences += r.sequences;
      calls += r.calls;
      failures.push(...r.failures);
      log.push(...r.log);
      if (r.resumeAt !== undefined) push([r.resumeAt, b]);
    });
    if (o.sequence !== undefined || calls >= o.calls) break;
    const first = nextSeq;
    ranges = plan(Math.ceil((o.calls - calls) * 1.2) + 200);
    process.stdout.write(`fuzz: ${calls} calls made (crashes cut sequences short); sequences ${first}-${nextSeq - 1} planned on top\n`);
  }

  const gs = groups(failures);
  if (o.verify && !o.replay && gs.length > 0) {
    // Does the first occurrence of each distinct failure come back when its sequence runs alone?
    const todo = gs.slice(0, 40);
    await pool(o.jobs, todo, async (g) => {
      const r = await runChild({ ...o, replay: false }, g.first.seq, g.first.seq, dir, children++);
      g.reproduces = r.failures.some((f) => groupKey(f) === g.key);
    });
  }
  rmSync(dir, { recursive: true, force: true });

  const out: string[] = [];
  if (o.replay) out.push(...log, '');
  const count = (k: string) => failures.filter((f) => f.kind === k).length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  out.push(`fuzz: ${children} child process(es), ${seconds.toFixed(1)} s`);
  if (gs.length > 0) {
    out.push(`distinct failures: ${gs.length}`);
    gs.forEach((g, i) => {
      const f = g.first;
      out.push(`${i + 1}. [${g.kind}] ${f.message}  (${g.count}×)`);
      out.push(`   first: sequence ${f.seq}, ${f.thread} step ${f.step}: ${f.call}`);
      for (const e of g.examples.slice(1)) out.push(`   also:  ${e}`);
      if (f.detail) out.push(`   detail: ${f.detail}`);
      const rep = g.reproduces === undefined ? '' : g.reproduces ? '  (reproduces alone)' : '  (did not reproduce alone)';
      out.push(`   replay: npm run fuzz -- --seed ${o.seed} --sequence ${f.seq} --replay${rep}`);
      if (g.kind === 'crash' && f.batch && f.batch[0] !== f.batch[1]) {
        out.push(`   replay with the sequences this child ran before it: npm run fuzz -- --seed ${o.seed} --sequence ${f.batch[0]}-${f.batch[1]} --replay`);
      }
      if (f.calls !== undefined) {
        out.push(`   the calls of sequence ${f.seq}, in the order they started (thread#step):`);
        for (const c of f.calls) out.push(`     ${c}`);
      }
    });
  }
  if (o.exclude.length > 0) out.push(`fuzz: EXCLUDED: ${o.exclude.join(', ')}`);
  const crashes = count('crash');
  const leaks = count('leak');
  const untyped = count('untyped');
  out.push(`calls ${calls}, sequences ${sequences}, crashes ${crashes}, leaks ${leaks}, untyped errors ${untyped}`);
  process.stdout.write(out.join('\n') + '\n');
  return crashes + leaks + untyped === 0 ? 0 : 1;
}
