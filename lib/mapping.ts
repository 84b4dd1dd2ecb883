/**
 * A mapping of (part of) a device region: device registers, not RAM.
 *
 * Every access is one naturally aligned load or store of exactly the width
 * named — never merged, split, reordered or turned into a bulk copy — because
 * that is what device memory requires (on arm64 an unaligned access or a
 * memcpy over Device memory is a SIGBUS). Two implementations do this:
 *
 * - `'js'` (the default where the runtime allows external ArrayBuffers): the
 *   accessor is an `Atomics.load` / `Atomics.store` on a typed array over the
 *   mapping. Atomics are never elided, merged or reordered by the engine, and
 *   on a non-shared buffer they compile to single loads/stores (arm64:
 *   `ldar`/`stlr`; x86-64: `mov`/`xchg`). No read-modify-write Atomics are ever
 *   used: those are invalid on arm64 Device memory.
 * - `'native'`: a call into the addon, which does a `volatile` access in C++.
 *
 * `npm run bench` measures both against a C loop over the same mapping.
 *
 * After `unmap()`, or after its device is closed or garbage-collected, the
 * mapping's ArrayBuffer is detached (byteLength 0) before the memory is
 * unmapped, so stale views cannot fault; accessors then throw `ERR_VFIO_CLOSED`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { checkConstruct, checkKeys, closedError, invalidArgType, invalidThis, outOfRange, type CodedError } from './errors';
import type { NativeAccessors, NativeMappingHandle } from './native';

/** How a Mapping's accessors reach device memory. */
export type AccessorMode = 'js' | 'native';

/** Options of {@link Mapping.poll32} and {@link Mapping.poll32Sync}. */
export interface PollOptions {
  /** Bits compared (default 0xffffffff). */
  mask?: number;
  /** The condition is `(read32(offset) & mask) === value`. */
  value: number;
  /** Give up after this many milliseconds (default 1000; Infinity: never). A last read after the deadline still counts. */
  timeout?: number;
  /**
   * Pause between reads: microseconds for {@link Mapping.poll32Sync} (default 0: spin), milliseconds
   * for {@link Mapping.poll32} (default 1; the event loop runs in between).
   */
  interval?: number;
  /** The register's name, for the timeout error (default: its offset). */
  name?: string;
  /** Aborts {@link Mapping.poll32} (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The error of a poll that timed out: `code` ERR_VFIO_POLL_TIMEOUT. */
export interface PollTimeoutError extends CodedError {
  /** Offset of the register in the mapping. */
  offset: number;
  /** What the last read returned. */
  lastValue: number;
}

const kOwner = Symbol('vfio-cdx.mapping');

/** @internal What a Mapping knows of its device: its name, and how to be forgotten by it. */
export interface MappingParent {
  readonly name: string;
  forget(mapping: Mapping): void;
}

/** @internal Called by the device when it closes: the mapping is dead (no prototype method, so no user can call it). */
export let invalidateMapping: (mapping: Mapping) => void;

/** A live mapping of device memory. Dispose it (or its device) when done. */
export class Mapping implements Disposable {
  /** Region index this mapping belongs to. */
  readonly region: number;
  /** Offset of the mapping inside the region, in bytes. */
  readonly offset: number;
  /** Length of the mapping in bytes. */
  readonly length: number;
  /** Which accessor implementation this mapping uses. */
  readonly accessor: AccessorMode;
  /** False for a read-only region (mapped PROT_READ): writes throw ERR_VFIO_READ_ONLY. */
  readonly writable: boolean;

  readonly #parent: MappingParent;
  readonly #native: NativeMappingHandle;
  // The addon's accessors, made on first use: a mapping that only takes the JS path never
  // creates them (eight functions per mapping otherwise).
  #n: NativeAccessors | undefined;
  #buffer: ArrayBuffer | null;
  #u8: Uint8Array;
  #u16: Uint16Array;
  #u32: Uint32Array;
  #u64: BigUint64Array;
  // Largest valid offset per width for the JS fast path; -1 disables it.
  #max8: number;
  #max16: number;
  #max32: number;
  #max64: number;
  // The same for writes: -1 as well when the mapping is read-only.
  #wmax8: number;
  #wmax16: number;
  #wmax32: number;
  #wmax64: number;

  /** @internal Made by {@link Region.map}. */
  constructor(token: unknown, parent: MappingParent, handle: NativeMappingHandle, buffer: ArrayBuffer | null,
    region: number, offset: number, length: number, writable: boolean, accessor: AccessorMode | undefined) {
    checkConstruct(token, 'Mapping');
    this.#parent = parent;
    this.#native = handle;
    this.#buffer = buffer;
    this.region = region;
    this.offset = offset;
    this.length = length;
    this.writable = writable;
    this.accessor = buffer === null ? 'native' : accessor ?? 'js';
    if (this.accessor === 'native') this.#n = handle.accessors();
    const b = buffer ?? new ArrayBuffer(0);
    this.#u8 = new Uint8Array(b, 0, b.byteLength);
    this.#u16 = new Uint16Array(b, 0, b.byteLength >>> 1);
    this.#u32 = new Uint32Array(b, 0, b.byteLength >>> 2);
    this.#u64 = new BigUint64Array(b, 0, Math.floor(b.byteLength / 8));
    const fast = this.accessor === 'js' && length <= 0xffffffff;
    this.#max8 = fast ? length - 1 : -1;
    this.#max16 = fast ? length - 2 : -1;
    this.#max32 = fast ? length - 4 : -1;
    this.#max64 = fast ? length - 8 : -1;
    this.#wmax8 = writable ? this.#max8 : -1;
    this.#wmax16 = writable ? this.#max16 : -1;
    this.#wmax32 = writable ? this.#max32 : -1;
    this.#wmax64 = writable ? this.#max64 : -1;
    if (buffer !== null) {
      // Holding the buffer (or any view of it) keeps this mapping, and so its
      // device, alive: memory someone can still see is never unmapped by GC.
      Object.defineProperty(buffer, kOwner, { value: this });
    }
  }

  /**
   * The mapped bytes as an ArrayBuffer (external: no copy). Use typed-array
   * views only for exact-width aligned accesses; never `set()`, `fill()`,
   * `slice()` or copy it: that is a bulk access of device memory.
   * `null` where the runtime refuses external buffers (V8 sandbox builds).
   * @throws ERR_VFIO_CLOSED after unmap or device close; ERR_VFIO_READ_ONLY for a read-only
   *   region: its pages are mapped without PROT_WRITE, and JavaScript cannot make a buffer
   *   read-only, so any store through a view would kill the process (SIGSEGV). Use the read
   *   accessors there.
   */
  get buffer(): ArrayBuffer | null {
    Mapping.#check(this);
    this.#checkMapped();
    if (!this.writable && this.#buffer !== null) {
      throw Object.assign(new Error(`${this.#parent.name} region ${this.region} is read-only (mapped without ` +
        'PROT_WRITE): its buffer is not handed out, since a store through any view of it would be a SIGSEGV; ' +
        'use read8/16/32/64'), { code: 'ERR_VFIO_READ_ONLY' });
    }
    return this.#buffer;
  }

  /** False once unmapped (explicitly, by device close, or by GC of the device). */
  get mapped(): boolean {
    Mapping.#check(this);
    return this.#native.mapped();
  }

  // Each accessor tries the JS fast path inside a try block (free when nothing throws); the
  // catch turns engine errors into coded ones: a wrong `this`, or a buffer detached under us.

  /** Reads the byte at `offset`. @throws RangeError out of bounds; ERR_VFIO_CLOSED */
  read8(offset: number): number {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && offset <= this.#max8) {
        return Atomics.load(this.#u8, offset);
      }
      return this.#slow(offset, 1, false, undefined) as number;
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /** Reads the 16-bit little-endian word at `offset` (a multiple of 2). */
  read16(offset: number): number {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && (offset & 1) === 0 && offset <= this.#max16) {
        return Atomics.load(this.#u16, offset >>> 1);
      }
      return this.#slow(offset, 2, false, undefined) as number;
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /** Reads the 32-bit word at `offset` (a multiple of 4). */
  read32(offset: number): number {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && (offset & 3) === 0 && offset <= this.#max32) {
        return Atomics.load(this.#u32, offset >>> 2);
      }
      return this.#slow(offset, 4, false, undefined) as number;
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /** Reads the 64-bit word at `offset` (a multiple of 8) with one 64-bit load. */
  read64(offset: number): bigint {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && (offset & 7) === 0 && offset <= this.#max64) {
        return Atomics.load(this.#u64, offset >>> 3);
      }
      return this.#slow(offset, 8, false, undefined) as bigint;
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /** Writes the byte `value` (0..255) at `offset`. */
  write8(offset: number, value: number): void {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && offset <= this.#wmax8 &&
        typeof value === 'number' && (value & 0xff) === value) {
        Atomics.store(this.#u8, offset, value);
        return;
      }
      this.#slow(offset, 1, true, value);
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /** Writes the 16-bit `value` at `offset` (a multiple of 2). */
  write16(offset: number, value: number): void {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && (offset & 1) === 0 && offset <= this.#wmax16 &&
        typeof value === 'number' && (value & 0xffff) === value) {
        Atomics.store(this.#u16, offset >>> 1, value);
        return;
      }
      this.#slow(offset, 2, true, value);
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /** Writes the 32-bit `value` (0..2^32-1) at `offset` (a multiple of 4). */
  write32(offset: number, value: number): void {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && (offset & 3) === 0 && offset <= this.#wmax32 &&
        typeof value === 'number' && (value >>> 0) === value) {
        Atomics.store(this.#u32, offset >>> 2, value);
        return;
      }
      this.#slow(offset, 4, true, value);
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /**
   * Writes the 64-bit `value` (a bigint 0..2^64-1, or a safe non-negative
   * integer) at `offset` (a multiple of 8) with one 64-bit store.
   */
  write64(offset: number, value: bigint | number): void {
    try {
      if (typeof offset === 'number' && (offset >>> 0) === offset && (offset & 7) === 0 && offset <= this.#wmax64 &&
        typeof value === 'bigint' && BigInt.asUintN(64, value) === value) {
        Atomics.store(this.#u64, offset >>> 3, value);
        return;
      }
      this.#slow(offset, 8, true, value);
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /**
   * Reads the 32-bit register at `offset` until `(value & mask) === options.value` or the
   * timeout passes, blocking this thread (Linux's `readl_poll_timeout`): between reads the thread
   * sleeps `interval` microseconds (0: spins). After the deadline the register is read once more,
   * so a thread that was descheduled past the deadline does not report a false timeout.
   * Use {@link poll32} on a thread whose event loop must keep running.
   * @returns the value read that satisfied the condition
   * @throws PollTimeoutError (ERR_VFIO_POLL_TIMEOUT) naming the register and the last value read;
   *   the errors of {@link read32}; TypeError/RangeError for bad options
   */
  poll32Sync(offset: number, options: PollOptions): number {
    Mapping.#check(this);
    const { mask, value, timeout, name } = pollOptions(options, 0);
    const interval = options.interval ?? 0;
    const deadline = performance.now() + timeout;
    for (;;) {
      const expired = performance.now() > deadline;
      const v = this.read32(offset);
      if (((v & mask) >>> 0) === value) return v;
      if (expired) throw this.#pollTimeout(offset, name, mask, value, timeout, v);
      if (interval > 0) Atomics.wait(sleeper(), 0, 0, interval / 1000);
    }
  }

  /**
   * The promise form of {@link poll32Sync}: reads every `interval` milliseconds (default 1) with
   * the event loop running in between.
   * @returns the value read that satisfied the condition
   * @throws (rejects) PollTimeoutError (ERR_VFIO_POLL_TIMEOUT); the signal's reason when aborted;
   *   the errors of {@link read32}
   */
  async poll32(offset: number, options: PollOptions): Promise<number> {
    Mapping.#check(this);
    const { mask, value, timeout, name } = pollOptions(options, 1);
    const interval = options.interval ?? 1;
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
    }
    const deadline = performance.now() + timeout;
    for (;;) {
      signal?.throwIfAborted();
      const expired = performance.now() > deadline;
      const v = this.read32(offset);
      if (((v & mask) >>> 0) === value) return v;
      if (expired) throw this.#pollTimeout(offset, name, mask, value, timeout, v);
      await sleep(interval, undefined, signal === undefined ? undefined : { signal });
    }
  }

  /**
   * Writes the 32-bit `value` at `offset` as a **doorbell**: every store this thread made
   * before it — to DMA buffers, descriptors, anything the device will read by DMA — is
   * visible to the device's DMA before the device sees this write. This is Linux's
   * `writel()` and DPDK's `rte_write32()`: `dmb oshst` then a plain store on arm64; on
   * x86-64, where stores are not reordered with older stores, a compiler barrier and `mov`.
   * Always a native call (JavaScript cannot emit the barrier). Use it for the register
   * write that starts the device's DMA; `write32` (`Atomics.store`, an `stlr` on arm64) is
   * not documented by Arm to order Normal-memory stores for another bus master
   * (docs/mmio-ordering.md).
   * @throws RangeError for a bad offset or value; ERR_VFIO_READ_ONLY; ERR_VFIO_CLOSED
   */
  doorbell32(offset: number, value: number): void {
    Mapping.#check(this);
    try {
      // the native accessor checks everything itself and throws the same errors
      (this.#n ??= this.#native.accessors()).doorbell32(offset, value);
    } catch (e) {
      throw Mapping.#fail(this, e);
    }
  }

  /** Unmaps (idempotent). Views of {@link buffer} are detached first. */
  unmap(): void {
    Mapping.#check(this);
    if (this.#native.mapped()) this.#native.unmap();
    this.#invalidate();
    this.#parent.forget(this);
  }

  /** Same as {@link unmap}. */
  [Symbol.dispose](): void {
    this.unmap();
  }

  static {
    invalidateMapping = (m) => m.#invalidate();
  }

  static #check(self: unknown): void {
    if (typeof self !== 'object' || self === null || !(#max8 in self)) throw invalidThis('Mapping');
  }

  // What an accessor throws for an error raised inside it.
  static #fail(self: unknown, e: unknown): unknown {
    if (typeof self !== 'object' || self === null || !(#max8 in self)) return invalidThis('Mapping');
    if (e instanceof Error && typeof (e as CodedError).code === 'string') return e;
    // An engine error on a live-looking mapping: its buffer was detached under the fast path.
    const m = self as Mapping;
    m.#invalidate();
    return closedError(`mapping of ${m.#parent.name} region ${m.region}`);
  }

  #invalidate(): void {
    this.#max8 = this.#max16 = this.#max32 = this.#max64 = -1;
    this.#wmax8 = this.#wmax16 = this.#wmax32 = this.#wmax64 = -1;
    this.#buffer = null;
  }

  #checkMapped(): void {
    if (!this.#native.mapped()) {
      this.#invalidate();
      throw closedError(`mapping of ${this.#parent.name} region ${this.region}`);
    }
  }

  #pollTimeout(offset: number, name: string | undefined, mask: number, value: number, timeout: number,
    last: number): PollTimeoutError {
    const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');
    const reg = `${name ?? 'register'} at offset 0x${offset.toString(16)}`;
    const e = new Error(`${reg} of ${this.#parent.name} region ${this.region} did not reach ` +
      `(value & ${hex(mask)}) === ${hex(value)} within ${timeout} ms; last read ${hex(last)}`);
    return Object.assign(e, { code: 'ERR_VFIO_POLL_TIMEOUT', offset, lastValue: last });
  }

  // Reached when the fast path was not taken: a closed mapping, a bad
  // argument, native accessor mode, or a mapping too long for typed-array
  // indexing. The native accessor does the access or throws the precise error:
  // argument checks and their messages live there only (napi_mapping.cc,
  // ThrowAccessError), so both accessor modes throw the same error.
  #slow(offset: unknown, width: 1 | 2 | 4 | 8, write: boolean, value: unknown): number | bigint | undefined {
    this.#checkMapped();
    const n = (this.#n ??= this.#native.accessors());
    const off = offset as number;
    if (write) {
      switch (width) {
        case 1: n.write8(off, value as number); return undefined;
        case 2: n.write16(off, value as number); return undefined;
        case 4: n.write32(off, value as number); return undefined;
        default: n.write64(off, value as bigint | number); return undefined;
      }
    }
    switch (width) {
      case 1: return n.read8(off);
      case 2: return n.read16(off);
      case 4: return n.read32(off);
      default: return n.read64(off);
    }
  }
}

let sleepCell: Int32Array | undefined;
// A cell nobody notifies: Atomics.wait on it is a plain sleep, allowed on the main thread in Node.
function sleeper(): Int32Array {
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  return sleepCell;
}

function pollOptions(options: PollOptions, defaultInterval: number): { mask: number; value: number; timeout: number; name: string | undefined } {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  checkKeys(options, 'poll options', ['mask', 'value', 'timeout', 'interval', 'name', 'signal']);
  const { mask = 0xffffffff, value, timeout = 1000, interval = defaultInterval, name } = options;
  const u32 = (v: unknown, what: string) => {
    if (typeof v !== 'number') throw invalidArgType(what, 'of type number', v);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw outOfRange(what, 'an integer >= 0 and <= 0xffffffff', v);
    return v;
  };
  u32(mask, 'options.mask');
  u32(value, 'options.value');
  if ((value & mask) >>> 0 !== value) {
    throw outOfRange('options.value', `a value within options.mask (0x${mask.toString(16)}), or the poll could never succeed`, value);
  }
  if (typeof timeout !== 'number') throw invalidArgType('options.timeout', 'of type number', timeout);
  if (!(timeout >= 0)) throw outOfRange('options.timeout', 'a number of milliseconds >= 0, or Infinity', timeout);
  if (typeof interval !== 'number') throw invalidArgType('options.interval', 'of type number', interval);
  if (!Number.isFinite(interval) || interval < 0 || interval > 2 ** 31 - 1) {
    throw outOfRange('options.interval', 'a finite number >= 0 and <= 2 ** 31 - 1', interval);
  }
  if (name !== undefined && typeof name !== 'string') throw invalidArgType('options.name', 'of type string', name);
  return { mask, value, timeout, name };
}
