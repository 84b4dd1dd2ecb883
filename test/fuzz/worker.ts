/**
 * A fuzz worker thread: attaches to the main thread's mock kernels by token,
 * runs its own sequence of calls (drawn from the same seed), and then either
 * ends, or loops forever on a native call that throws until the main thread
 * terminates it — the moment environment teardown meets a pending exception.
 */
import { workerData } from 'node:worker_threads';
import { MockKernel } from '../../lib/mock';
import { Journal } from './journal';
import { attachCall, type Call } from './ops';
import { derive, Rng } from './rng';
import { Sequence, W_LOOPING } from './sequence';

interface WorkerInput {
  seed: number;
  seq: number;
  wid: number;
  tokens: string[];
  sab: Int32Array;
  steps: number;
  loops: boolean;
  closeAtEnd: boolean;
  journal: string;
  verbose: boolean;
  exclude: string[];
  keep: string[] | undefined;
}

/** The call the worker will loop on: it must throw from native code every time. */
async function loopBody(s: Sequence, r: Rng): Promise<Call> {
  if (!s.devices.some((d) => d.closed) && s.kernels.length > 0) {
    const ks = s.kernels[0]!;
    for (const name of ks.k.devices.filter((n) => n.includes(':'))) {
      const n = s.nextName('d');
      await s.exec({ op: 'bus.open', desc: `${n} = ${ks.name}bus.open(${JSON.stringify(name)}); ${n}.close()`,
        run: () => {
          const dev = ks.bus.open(name);
          dev.close();
          s.devices.push({ id: s.devices.length, name: n, dev, ks, devName: name, closed: true });
        } });
      s.step++;
      if (s.devices.some((d) => d.closed)) break;
    }
  }
  const closed = s.devices.filter((d) => d.closed);
  if (closed.length > 0) {
    const d = r.pick(closed);
    const bodies: Array<[string, () => unknown]> = [
      [`${d.name}.reset()`, () => d.dev.reset()],
      [`${d.name}.busMaster.supported`, () => d.dev.busMaster.supported],
      [`${d.name}.msi.enable(1)`, () => d.dev.msi.enable(1)],
      [`${d.name}.fd`, () => d.dev.fd],
    ];
    if (d.dev.regions.length > 0) bodies.push([`${d.name}.regions[0].map()`, () => d.dev.regions[0]!.map()]);
    const [desc, run] = r.pick(bodies);
    return { op: 'worker.loop', desc, run };
  }
  if (s.kernels.length > 0) {
    const ks = s.kernels[0]!;
    return { op: 'worker.loop', desc: `${ks.name}raw.ioctl(-1, -1)`, run: () => ks.raw.ioctl(-1, -1) };
  }
  return { op: 'worker.loop', desc: "MockKernel.attach('')", run: () => MockKernel.attach('') };
}

async function main(): Promise<void> {
  const d = workerData as WorkerInput;
  const journal = new Journal(d.journal, d.verbose);
  const s = new Sequence({ seed: d.seed, seq: d.seq, thread: `w${d.wid}`, journal, sab: d.sab, exclude: new Set(d.exclude),
    ...(d.keep === undefined ? {} : { keep: new Set(d.keep) }) });
  for (const [i, token] of d.tokens.entries()) {
    s.step = i;
    if (s.kept(i)) await s.exec(attachCall(s, token, i));
  }
  await s.run(d.steps, d.tokens.length);
  if (d.loops && s.kept(d.tokens.length + d.steps)) {
    s.step = d.tokens.length + d.steps;
    const body = await loopBody(s, new Rng(derive(d.seed, d.seq, d.wid + 1, 0x100f)));
    journal.call(s.seq, s.thread, s.step, `for (;;) try { ${body.desc} } catch {}  /* until terminated */`);
    Atomics.add(d.sab, 0, 1);
    Atomics.store(d.sab, W_LOOPING, 1);
    Atomics.notify(d.sab, W_LOOPING);
    for (;;) {
      try {
        body.run();
      } catch {
        // the point: keep throwing until terminate() lands
      }
    }
  }
  if (d.closeAtEnd) await s.finish();
  process.exit(0);
}

void main();
