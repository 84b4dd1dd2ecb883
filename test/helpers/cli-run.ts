/**
 * Spawning the CLI in tests: `node dist/lib/cli.js ...` (or the harness), with its stdout, stderr
 * and exit status. Nothing here measures time: waits are for output, bounded only by mocha's timeout.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { nodeCommand } from './node-exec';

export const CLI = path.join(__dirname, '..', '..', 'lib', 'cli.js');
export const HARNESS = path.join(__dirname, 'cli-harness.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const env = () => {
  const e = { ...process.env };
  delete e.NODE_DEBUG;
  return e;
};

/** Runs `vfio-cdx <args>` to completion. */
export function cli(...args: string[]): CliResult {
  const r = spawnSync(...nodeCommand([CLI, ...args]), { encoding: 'utf8', env: env() });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI's main() in the harness, on a mock made from `mock` (see cli-harness.ts). */
export function harness(mock: object, ...args: string[]): CliResult {
  const r = spawnSync(...nodeCommand([HARNESS, JSON.stringify(mock), ...args]), { encoding: 'utf8', env: env(), input: '' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/^harness: .*\n/gm, '') };
}

/** Asserts a usage error: exit 2, nothing on stdout, the message and a pointer to --help on stderr. */
export function assertUsage(r: CliResult, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
  assert.match(r.stderr, /Try 'vfio-cdx (\w+ )?--help'\./);
}

/** Asserts success: exit 0 and whatever stdout must say. */
export function assertOk(r: CliResult, stdout?: RegExp): void {
  assert.equal(r.status, 0, r.stderr);
  if (stdout) assert.match(r.stdout, stdout);
}

/** Asserts a failed operation: exit 1, nothing on stdout, and an error line naming `device`. */
export function assertFailed(r: CliResult, device: string, message: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  const line = r.stderr.split('\n').find((l) => l.startsWith('vfio-cdx: ') && message.test(l));
  assert.ok(line, `no error line matching ${message} in:\n${r.stderr}`);
  assert.ok(line.includes(device), `the error does not name ${device}: ${line}`);
}

/** A running process whose output can be awaited line by line. */
export class Running {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly #waiters: Array<() => void> = [];
  #closed = false;
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;

  constructor(script: string, args: string[]) {
    this.child = spawn(...nodeCommand([script, ...args]), { env: env() });
    this.child.stdout.setEncoding('utf8').on('data', (s: string) => { this.stdout += s; this.#wake(); });
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => { this.stderr += s; this.#wake(); });
    this.exited = new Promise((resolve) => this.child.on('close', (status, signal) => {
      this.#closed = true;
      this.#wake();
      resolve({ status, signal });
    }));
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves when the stream's output so far matches `re`; rejects if the process ends first. */
  async waitFor(stream: 'stdout' | 'stderr', re: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const m = this[stream].match(re);
      if (m) return m;
      if (this.#closed) {
        throw new Error(`process ended before ${stream} matched ${re}:\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}
