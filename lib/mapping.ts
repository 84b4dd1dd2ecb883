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
import { closedError, invalidArgType, outOfRange } from './errors';
import type { NativeAccessors, NativeMappingHandle } from './native';

/** How a Mapping's accessors reach device memory. */
export type AccessorMode = 'js' | 'native';

const kOwner = Symbol('vfio-cdx.mapping');

/** @internal Mappings of a device, invalidated when it closes. */
export interface MappingParent {
  readonly name: string;
  /** @internal */
  _forget(mapping: Mapping): void;
}

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
  readonly #n: NativeAccessors;
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
  constructor(parent: MappingParent, handle: NativeMappingHandle, buffer: ArrayBuffer | null, region: number,
    offset: number, length: number, writable: boolean, accessor: AccessorMode | undefined) {
    this.#parent = parent;
    this.#native = handle;
    this.#n = handle.accessors();
    this.#buffer = buffer;
    this.region = region;
    this.offset = offset;
    this.length = length;
    this.writable = writable;
    this.accessor = buffer === null ? 'native' : accessor ?? 'js';
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
   * @throws ERR_VFIO_CLOSED after unmap or device close.
   */
  get buffer(): ArrayBuffer | null {
    this.#check();
    return this.#buffer;
  }

  /** False once unmapped (explicitly, by device close, or by GC of the device). */
  get mapped(): boolean {
    return this.#native.mapped();
  }

  /** Reads the byte at `offset`. @throws RangeError out of bounds; ERR_VFIO_CLOSED */
  read8(offset: number): number {
    if ((offset >>> 0) === offset && offset <= this.#max8) return Atomics.load(this.#u8, offset);
    this.#validate(offset, 1);
    return this.#n.read8(offset);
  }

  /** Reads the 16-bit little-endian word at `offset` (a multiple of 2). */
  read16(offset: number): number {
    if ((offset >>> 0) === offset && (offset & 1) === 0 && offset <= this.#max16) {
      return Atomics.load(this.#u16, offset >>> 1);
    }
    this.#validate(offset, 2);
    return this.#n.read16(offset);
  }

  /** Reads the 32-bit word at `offset` (a multiple of 4). */
  read32(offset: number): number {
    if ((offset >>> 0) === offset && (offset & 3) === 0 && offset <= this.#max32) {
      return Atomics.load(this.#u32, offset >>> 2);
    }
    this.#validate(offset, 4);
    return this.#n.read32(offset);
  }

  /** Reads the 64-bit word at `offset` (a multiple of 8) with one 64-bit load. */
  read64(offset: number): bigint {
    if ((offset >>> 0) === offset && (offset & 7) === 0 && offset <= this.#max64) {
      return Atomics.load(this.#u64, offset >>> 3);
    }
    this.#validate(offset, 8);
    return this.#n.read64(offset);
  }

  /** Writes the byte `value` (0..255) at `offset`. */
  write8(offset: number, value: number): void {
    if ((offset >>> 0) === offset && offset <= this.#wmax8 && (value & 0xff) === value) {
      Atomics.store(this.#u8, offset, value);
      return;
    }
    this.#validate(offset, 1, value, true);
    this.#n.write8(offset, value);
  }

  /** Writes the 16-bit `value` at `offset` (a multiple of 2). */
  write16(offset: number, value: number): void {
    if ((offset >>> 0) === offset && (offset & 1) === 0 && offset <= this.#wmax16 && (value & 0xffff) === value) {
      Atomics.store(this.#u16, offset >>> 1, value);
      return;
    }
    this.#validate(offset, 2, value, true);
    this.#n.write16(offset, value);
  }

  /** Writes the 32-bit `value` (0..2^32-1) at `offset` (a multiple of 4). */
  write32(offset: number, value: number): void {
    if ((offset >>> 0) === offset && (offset & 3) === 0 && offset <= this.#wmax32 && (value >>> 0) === value) {
      Atomics.store(this.#u32, offset >>> 2, value);
      return;
    }
    this.#validate(offset, 4, value, true);
    this.#n.write32(offset, value);
  }

  /**
   * Writes the 64-bit `value` (a bigint 0..2^64-1, or a safe non-negative
   * integer) at `offset` (a multiple of 8) with one 64-bit store.
   */
  write64(offset: number, value: bigint | number): void {
    if ((offset >>> 0) === offset && (offset & 7) === 0 && offset <= this.#wmax64 && typeof value === 'bigint' &&
      BigInt.asUintN(64, value) === value) {
      Atomics.store(this.#u64, offset >>> 3, value);
      return;
    }
    this.#validate(offset, 8, value, true);
    this.#n.write64(offset, value);
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
    // the native accessor checks everything itself and throws the same errors
    this.#n.doorbell32(offset, value);
  }

  /** Unmaps (idempotent). Views of {@link buffer} are detached first. */
  unmap(): void {
    if (this.#native.mapped()) this.#native.unmap();
    this.#invalidate();
    this.#parent._forget(this);
  }

  /** Same as {@link unmap}. */
  [Symbol.dispose](): void {
    this.unmap();
  }

  /** @internal Called by the device when it closes. */
  _invalidate(): void {
    this.#invalidate();
  }

  #invalidate(): void {
    this.#max8 = this.#max16 = this.#max32 = this.#max64 = -1;
    this.#wmax8 = this.#wmax16 = this.#wmax32 = this.#wmax64 = -1;
    this.#buffer = null;
  }

  #check(): void {
    if (!this.#native.mapped()) {
      this.#invalidate();
      throw closedError(`mapping of ${this.#parent.name} region ${this.region}`);
    }
  }

  // Reached when the fast path was not taken: a closed mapping, a bad
  // argument, native accessor mode, or a mapping too long for typed-array
  // indexing. Throws the precise error; returns when the access is valid and
  // should go through the native accessor. In native mode the addon performs
  // the same checks itself, so they are not repeated here.
  #validate(offset: unknown, width: number, value?: unknown, write = false): void {
    if (this.accessor === 'native') return;
    this.#check();
    if (typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset);
    if (!Number.isInteger(offset) || offset < 0 || offset > this.length - width) {
      throw outOfRange('offset', `an integer >= 0 and <= ${this.length - width}`, offset);
    }
    if (offset % width !== 0) {
      throw outOfRange('offset', `a multiple of ${width} (device memory takes naturally aligned accesses only)`,
        offset);
    }
    if (!write) return;
    if (!this.writable) {
      throw Object.assign(new Error(`region ${this.region} of ${this.#parent.name} is read-only (mapped without PROT_WRITE)`),
        { code: 'ERR_VFIO_READ_ONLY' });
    }
    if (width === 8) {
      if (typeof value === 'bigint') {
        if (BigInt.asUintN(64, value) !== value) throw outOfRange('value', '>= 0n and < 2n ** 64n', value);
        return;
      }
      if (typeof value !== 'number') throw invalidArgType('value', 'of type bigint or number', value);
      if (!Number.isSafeInteger(value) || value < 0) throw outOfRange('value', 'an integer >= 0 and <= 2 ** 53 - 1', value);
      return;
    }
    if (typeof value !== 'number') throw invalidArgType('value', 'of type number', value);
    const max = 2 ** (8 * width) - 1;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw outOfRange('value', `an integer >= 0 and <= ${max}`, value);
    }
  }
}
