/**
 * Where the CLI writes, and how it formats numbers. Data goes to stdout (text, or JSON with
 * `--json`); status lines and errors go to stderr, so a pipe only ever sees data.
 * @internal
 */

/** The CLI's two output streams. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** An Io over writable streams (process.stdout / process.stderr by default). */
export function streamIo(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Io {
  return {
    out: (text) => void stdout.write(text.endsWith('\n') ? text : text + '\n'),
    err: (text) => void stderr.write(text.endsWith('\n') ? text : text + '\n'),
  };
}

/** `0x` and `digits` hex digits. */
export function hex(v: number | bigint, digits: number): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

/** JSON with bigints as 0x-hex strings. */
export function json(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2);
}

/** A byte count for people: '64 KiB', '8 MiB', '1.5 GiB', '100 bytes'. */
export function bytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (n < 1024) return `${n} bytes`;
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** A failed operation the CLI itself detects (exit status 1). main() prefixes the device name. */
export class Failure extends Error {
  readonly code: string;
  constructor(message: string, code = 'ERR_VFIO_CDX_CLI') {
    super(message);
    this.name = 'Failure';
    this.code = code;
  }
}
