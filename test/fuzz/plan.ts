/** What the parent and the children agree on without talking: how long each sequence is. */
import { derive, Rng } from './rng';

/** Main-thread calls of sequence `seq` (its workers' calls come on top). */
export function sequenceLength(seed: number, seq: number): number {
  return 20 + new Rng(derive(seed, seq, 0x5e9)).int(181);
}

/** Input of one child process. */
export interface ChildInput {
  seed: number;
  /** Sequences to run, in order. */
  first: number;
  last: number;
  journal: string;
  verbose: boolean;
  exclude: string[];
  rssToleranceMiB: number;
  /** Minimizing: the only steps to run. */
  keep?: string[];
  /** Self-test: a failure to make at one step instead of the drawn call. */
  plant?: PlantSpec;
}

/** A planted failure, for the self-test. */
export interface PlantSpec {
  kind: 'abort' | 'hang' | 'leak' | 'untyped';
  seq: number;
  step: number;
}
