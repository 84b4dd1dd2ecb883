/**
 * Garbage collection for tests, without clocks: collect until a condition holds, turning the
 * event loop between rounds (FinalizationRegistry callbacks and the addon's finalizers run as
 * later tasks). The bound is a number of rounds, never a time, so a busy machine only makes it
 * slower, not different; the mocha timeout (.mocharc.json) is a hang guard, not a speed limit.
 */
import { setImmediate as turn } from 'node:timers/promises';

const gc = (globalThis as { gc?: () => void }).gc;

/** True when this process can force a collection (mocha runs with --expose-gc). */
export const canCollect = gc !== undefined;

/**
 * Collects until `done()` holds; returns whether it did within `rounds` rounds. With the default
 * `done` (never), simply runs all the rounds: use it to show that something is *not* collected.
 */
export async function collect(done: () => boolean = () => false, rounds = 200): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    if (done()) return true;
    gc!();
    await turn();
    await turn();
  }
  return done();
}
