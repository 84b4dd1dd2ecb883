/**
 * Errors, shaped like Node's fs errors.
 *
 * A failed system call is a {@link VfioError}: `code` ('EINVAL'), negative
 * `errno`, `syscall` ('ioctl'), the VFIO `request` name for ioctls, the `path`
 * (file or device name) and, where one helps, a `hint`. Misuse is an `Error`
 * with an `ERR_VFIO_*` code (`ERR_VFIO_CLOSED` after close); bad arguments are
 * `TypeError` / `RangeError` with `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE`.
 */
import { ERRNO_TABLE } from './errno-table';

const byNumber = new Map<number, readonly [number, string, string]>();
const byName = new Map<string, number>();
for (const row of ERRNO_TABLE) {
  byNumber.set(row[0], row);
  byName.set(row[1], row[0]);
}
byName.set('ENOTSUP', 95);
byName.set('EWOULDBLOCK', 11);

/** The kernel's name of a (positive) errno: `errnoName(22) === 'EINVAL'`. */
export function errnoName(errno: number): string {
  if (typeof errno !== 'number') throw invalidArgType('errno', 'of type number', errno);
  return byNumber.get(Math.abs(errno))?.[1] ?? `E${Math.abs(errno)}`;
}

/** The positive errno of a name: `errnoNumber('EINVAL') === 22`. */
export function errnoNumber(name: string): number {
  const n = typeof name === 'string' ? byName.get(name) : undefined;
  if (n === undefined) {
    throw invalidArgValue('errno', name, "must be a Linux errno name such as 'EIO' or 'ENOMEM' (os.constants.errno " +
      'lists them) or a positive errno number');
  }
  return n;
}

function errnoMessage(errno: number): string {
  return byNumber.get(Math.abs(errno))?.[2] ?? 'unknown error';
}

/** A system call failed. Shaped like Node's fs errors, plus the VFIO request name and a hint. */
export class VfioError extends Error {
  /** errno name, e.g. 'EINVAL'. */
  readonly code: string;
  /** Negative errno, as in Node (`-22`). */
  readonly errno: number;
  /** The system call: 'ioctl', 'open', 'mmap', 'write', ... */
  readonly syscall: string;
  /** The ioctl request name ('VFIO_DEVICE_RESET'); undefined for other calls. */
  readonly request?: string;
  /** The file the call was on, or the device name for device ioctls. */
  readonly path?: string;
  /** The CDX device concerned, when known. */
  device?: string;
  /** What to do about it, when the library knows. */
  hint?: string;

  constructor(errno: number, syscall: string, request?: string, path?: string, hint?: string) {
    // Public, so its arguments are checked like any other entry point's: a message is never built
    // from something that cannot be one.
    if (typeof errno !== 'number') throw invalidArgType('errno', 'of type number', errno);
    if (!Number.isInteger(errno) || errno === 0 || Math.abs(errno) > 4095) {
      throw outOfRange('errno', 'an errno number, 1..4095 or -4095..-1', errno);
    }
    if (typeof syscall !== 'string') throw invalidArgType('syscall', 'of type string', syscall);
    for (const [name, v] of [['request', request], ['path', path], ['hint', hint]] as const) {
      if (v !== undefined && typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
    }
    const code = errnoName(errno);
    const target = request ? `'${request}'${path ? ` on '${path}'` : ''}` : path ? `'${path}'` : '';
    super(`${code}: ${errnoMessage(errno)}, ${syscall}${target ? ' ' + target : ''}`);
    this.name = 'VfioError';
    this.code = code;
    this.errno = -Math.abs(errno);
    this.syscall = syscall;
    if (request) this.request = request;
    if (path) this.path = path;
    if (hint) this.addHint(hint);
  }

  /** Appends a hint to the error and its message. */
  addHint(hint: string): this {
    if (!(this instanceof VfioError)) throw invalidThis('VfioError');
    if (typeof hint !== 'string') throw invalidArgType('hint', 'of type string', hint);
    this.hint = this.hint ? `${this.hint} ${hint}` : hint;
    this.message += ` (${hint})`;
    return this;
  }
}

/** An error with an ERR_* code: misuse, or a state the library will not work in. */
export interface CodedError extends Error {
  code: string;
}

function coded<E extends Error>(error: E, code: string): E & CodedError {
  return Object.assign(error, { code });
}

/** @internal Called by native code. */
export function makeSysError(errno: number, syscall: string, request: string, path: string): VfioError {
  return new VfioError(errno, syscall, request || undefined, path || undefined);
}

/** @internal Called by native code. */
export function makeUsageError(code: string, message: string): CodedError {
  return coded(new Error(message), code);
}

/** @internal Passed by the library to the constructors users must not call. */
export const kConstruct: unique symbol = Symbol('vfio-cdx.construct');

/** @internal Throws ERR_ILLEGAL_CONSTRUCTOR unless `token` is {@link kConstruct}. */
export function checkConstruct(token: unknown, name: string): void {
  if (token !== kConstruct) {
    throw coded(new TypeError(`Illegal constructor: ${name} objects are made by the library`), 'ERR_ILLEGAL_CONSTRUCTOR');
  }
}

/** @internal Throws for any own key of `options` that is not in `valid`: a typo never passes silently. */
export function checkKeys(options: object, what: string, valid: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!valid.includes(key)) {
      throw coded(new TypeError(`Unknown key '${key}' in ${what}. Valid keys: ${valid.map((k) => `'${k}'`).join(', ')}`),
        'ERR_INVALID_ARG_VALUE');
    }
  }
}

/** @internal A method called on an object that is not of its class. */
export function invalidThis(name: string): TypeError & CodedError {
  return coded(new TypeError(`Value of "this" must be of type ${name}`), 'ERR_INVALID_THIS');
}

/** @internal */
export function closedError(what: string): CodedError {
  return coded(new Error(`${what} is closed`), 'ERR_VFIO_CLOSED');
}

/** @internal */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & CodedError {
  return coded(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE');
}

/** @internal */
export function invalidArgValue(name: string, actual: unknown, reason: string): TypeError & CodedError {
  return coded(new TypeError(`The argument '${name}' ${reason}. Received ${describe(actual)}`),
    'ERR_INVALID_ARG_VALUE');
}

/** @internal */
export function outOfRange(name: string, range: string, actual: unknown): RangeError & CodedError {
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(actual)}`),
    'ERR_OUT_OF_RANGE');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '...' : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'symbol') return v.toString();
  // A hostile object (a proxy whose traps throw, a getter that throws) still gets described.
  try {
    if (typeof v === 'function') return `function ${String(v.name) || '(anonymous)'}`;
    const ctor: unknown = (v as { constructor?: unknown }).constructor;
    const name: unknown = typeof ctor === 'function' ? ctor.name : undefined;
    return `an instance of ${typeof name === 'string' && name !== '' ? name : 'Object'}`;
  } catch {
    return typeof v === 'function' ? 'a function' : 'an object';
  }
}
