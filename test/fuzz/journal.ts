/**
 * The call journal: one line per event, written with a synchronous write(2)
 * before the call runs, so when a child process dies the parent still knows
 * exactly which calls ran and which one was in flight. Worker threads append
 * to the same file through their own descriptor (O_APPEND keeps lines whole).
 *
 * Lines:
 *   S <seq>                        a sequence starts
 *   G <seq> <thread> <step> <op>   the next call is being chosen (its arguments drawn: this reads the kernel)
 *   C <seq> <thread> <step> <call> a call starts (JavaScript-like text)
 *   R <seq> <thread> <step> <text> its outcome (only with --replay)
 *   F <json>                       a failure (leak, untyped error, crash caught in-process)
 *   E <seq> <calls>                a sequence ended, with the calls it ran (workers included)
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** A failure as the child reports it. */
export interface FailureRecord {
  kind: 'crash' | 'leak' | 'untyped';
  message: string;
  seq: number;
  thread: string;
  step: number;
  call: string;
  detail?: string;
}

export class Journal {
  readonly #fd: number;
  readonly path: string;
  readonly verbose: boolean;

  constructor(path: string, verbose: boolean) {
    this.#fd = openSync(path, 'a');
    this.path = path;
    this.verbose = verbose;
  }

  #line(text: string): void {
    writeSync(this.#fd, text.replace(/\n/g, '\\n') + '\n');
  }

  sequence(seq: number): void { this.#line(`S ${seq}`); }
  choosing(seq: number, thread: string, step: number, op: string): void { this.#line(`G ${seq} ${thread} ${step} ${op}`); }
  call(seq: number, thread: string, step: number, desc: string): void { this.#line(`C ${seq} ${thread} ${step} ${desc}`); }
  result(seq: number, thread: string, step: number, text: string): void {
    if (this.verbose) this.#line(`R ${seq} ${thread} ${step} ${text}`);
  }
  failure(f: FailureRecord): void { this.#line(`F ${JSON.stringify(f)}`); }
  end(seq: number, calls: number): void { this.#line(`E ${seq} ${calls}`); }
  close(): void { closeSync(this.#fd); }
}
