/**
 * The doorbell: the one register store per burst that hands the device the descriptors written
 * before it. Every store to DMA memory made before the doorbell must be visible to the device's
 * DMA before the device sees the doorbell.
 *
 * - x86-64: `Atomics.store` (V8 emits XCHG, a full barrier; x86 never reorders stores with
 *   older stores anyway). Linux's writel() and DPDK's rte_write32() are a compiler barrier and a
 *   plain store there.
 * - arm64: Linux and DPDK put `dmb oshst` before the store. `Atomics.store` is an STLR, and no
 *   Arm document says a store-release to Device memory orders earlier Normal-memory stores for a
 *   DMA master, so on arm64 the doorbell is the mapping's `doorbell32()` (`dmb oshst; str`, a
 *   native call: JavaScript cannot emit the barrier). See docs/mmio-ordering.md.
 */
import type { Mapping } from '../index';
import { invalidArgType, invalidArgValue, outOfRange } from '../errors';

/** One doorbell register of a mapping. */
export class Doorbell {
  /** Byte offset of the register in the mapping. */
  readonly offset: number;
  /** How the store is made: 'atomics' (Atomics.store) or 'barrier' (the native dmb + str). */
  readonly kind: 'atomics' | 'barrier';
  readonly #words: Int32Array;
  readonly #index: number;
  readonly #barrier: boolean;
  readonly #mapping: Mapping;

  /**
   * @param ordering 'auto' (the default): `Mapping.doorbell32()` (the barrier store) on arm64,
   *   `Atomics.store` elsewhere; 'atomics' forces `Atomics.store` (for measurements only: on
   *   arm64 it is not known to publish DMA memory).
   * @throws RangeError for an offset outside the mapping or not 4-byte aligned; TypeError when the
   *   mapping has no `buffer` (native accessor mode)
   */
  constructor(mapping: Mapping, offset: number, ordering: 'auto' | 'atomics' = 'auto') {
    if (typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset);
    if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0 || offset + 4 > mapping.length) {
      throw outOfRange('offset', `a multiple of 4 below ${mapping.length}`, offset);
    }
    const buffer = mapping.buffer;
    if (buffer === null) throw invalidArgType('mapping', "a mapping with a buffer (accessor 'js')", mapping);
    this.offset = offset;
    this.#mapping = mapping;
    this.#words = new Int32Array(buffer);
    this.#index = offset >>> 2;
    if (ordering !== 'auto' && ordering !== 'atomics') throw invalidArgValue('ordering', ordering, "must be 'auto' or 'atomics'");
    this.#barrier = ordering === 'auto' && process.arch === 'arm64';
    this.kind = this.#barrier ? 'barrier' : 'atomics';
  }

  /** Rings: one ordered 32-bit store of `value`. */
  ring(value: number): void {
    if (this.#barrier) {
      this.#mapping.doorbell32(this.offset, value >>> 0);
    } else {
      Atomics.store(this.#words, this.#index, value | 0);
    }
  }
}
