/**
 * Descriptor rings in DMA memory: the layout helpers a poll-mode driver needs for a device whose
 * descriptors are 16 bytes (four little-endian 32-bit words), such as the mock's lnic, virtio's
 * packed ring or many DMA engines.
 *
 * A ring is a window of an `Int32Array` over DMA memory; descriptor `slot` is the four words at
 * `(slot & mask) << 2`. Counters that index a ring are free running (they wrap at 2^32, never at
 * the ring size), so "full" and "empty" are never ambiguous: entries in flight = `(head - tail) | 0`.
 * Int32 views keep every value a small integer for the JIT; write addresses with `| 0`, read
 * unsigned values with `>>> 0` where the sign matters.
 */
import type { DmaBuffer } from '../index';
import { invalidArgType, outOfRange } from '../errors';

/** Bytes per descriptor. */
export const DESC_BYTES = 16;

/** One ring of 16-byte descriptors. */
export class DescRing {
  /** Entries: a power of two. */
  readonly size: number;
  /** size - 1. */
  readonly mask: number;
  /** The ring's words: descriptor `slot` is `words[(slot & mask) * 4 + 0..3]`. */
  readonly words: Int32Array;
  /** IOVA of entry 0. */
  readonly iova: bigint;
  /** Low and high 32 bits of {@link iova}. */
  readonly iovaLo: number;
  readonly iovaHi: number;

  /**
   * A ring of `size` entries at `byteOffset` of a DMA buffer.
   * @throws RangeError when the ring does not fit, `size` is not a power of two, or the offset is
   *   not a multiple of `align` (default 64)
   */
  constructor(dma: DmaBuffer, byteOffset: number, size: number, align = 64) {
    if (typeof size !== 'number') throw invalidArgType('size', 'of type number', size);
    if (!Number.isInteger(size) || size < 1 || (size & (size - 1)) !== 0) throw outOfRange('size', 'a power of two', size);
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % align !== 0 || byteOffset + size * DESC_BYTES > dma.size) {
      throw outOfRange('byteOffset', `a multiple of ${align} leaving room for ${size} descriptors`, byteOffset);
    }
    this.size = size;
    this.mask = size - 1;
    this.words = new Int32Array(dma.bytes.buffer, dma.bytes.byteOffset + byteOffset, size * 4);
    this.iova = dma.iova + BigInt(byteOffset);
    this.iovaLo = Number(this.iova & 0xffffffffn);
    this.iovaHi = Number(this.iova >> 32n);
  }

  /** Word index of descriptor `count` (a free-running counter). */
  word(count: number): number {
    return (count & this.mask) << 2;
  }

  /** Writes descriptor `count`: address (two words), length, and the fourth word. */
  write(count: number, addrLo: number, addrHi: number, len: number, word3: number): void {
    const w = (count & this.mask) << 2;
    const d = this.words;
    d[w] = addrLo | 0;
    d[w + 1] = addrHi | 0;
    d[w + 2] = len | 0;
    d[w + 3] = word3 | 0;
  }

  /** Zeroes every descriptor. */
  clear(): void {
    this.words.fill(0);
  }
}
