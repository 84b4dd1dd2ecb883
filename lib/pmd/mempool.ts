/**
 * A DMA-backed pool of fixed-size packet buffers, DPDK's rte_mempool cut to what a poll-mode
 * driver in JavaScript needs.
 *
 * - One DMA buffer holds every packet buffer; buffer `id` is the `bufSize` bytes at
 *   `id * bufSize`. A buffer is named by its id everywhere (descriptor cookies, burst arrays):
 *   no object per packet, ever.
 * - The free list is a stack of ids in an `Int32Array` (`stack[0 .. top)`): alloc is a pop,
 *   free a push. One pool per thread: nothing is locked.
 * - The pool lies inside one 4 GiB window of IOVA space, so every buffer's IOVA has the same
 *   high 32 bits (`iovaHi`) and the low word of buffer `id` is `iovaLo + id * bufSize`: a driver
 *   writes two 32-bit words per address and never touches a BigInt.
 */
import type { Device, DmaBuffer } from '../index';
import { checkKeys, invalidArgType, outOfRange } from '../errors';

/** Options of {@link Mempool.create}. */
export interface MempoolOptions {
  /** Number of buffers (default 4096; at most 65536, so that an id fits a 16-bit descriptor cookie). */
  count?: number;
  /** Bytes per buffer: a power of two from 64 to 65536 (default 2048). */
  bufSize?: number;
  /** Back the pool with hugetlb pages. */
  hugepages?: boolean;
}

const FOUR_GIB = 1n << 32n;

/** A pool of DMA packet buffers. Owned by one thread; close it (or its device) when done. */
export class Mempool implements Disposable {
  /** Number of buffers. */
  readonly count: number;
  /** Bytes per buffer. */
  readonly bufSize: number;
  /** log2(bufSize). */
  readonly bufShift: number;
  /** Low 32 bits of buffer 0's IOVA (an unsigned number). */
  readonly iovaLo: number;
  /** High 32 bits of every buffer's IOVA. */
  readonly iovaHi: number;
  /** Every buffer's bytes: buffer `id` starts at `id * bufSize` (`id << bufShift`). */
  readonly bytes: Uint8Array;
  /** The free stack: ids of free buffers in `stack[0 .. top)`. */
  readonly stack: Int32Array;
  /** Number of free buffers. */
  top: number;
  readonly #dma: DmaBuffer;

  private constructor(dma: DmaBuffer, count: number, bufSize: number) {
    this.#dma = dma;
    this.count = count;
    this.bufSize = bufSize;
    this.bufShift = Math.log2(bufSize);
    this.iovaLo = Number(dma.iova & 0xffffffffn);
    this.iovaHi = Number(dma.iova >> 32n);
    this.bytes = dma.bytes;
    this.stack = new Int32Array(count);
    // Pops hand out ids from 0 upwards: the first buffers used are the first in memory.
    for (let i = 0; i < count; i++) this.stack[i] = count - 1 - i;
    this.top = count;
  }

  /**
   * Allocates the pool's DMA memory from `dev` (`dev.dma.alloc`) inside one 4 GiB IOVA window.
   * @throws TypeError / RangeError for bad options; the errors of `dev.dma.alloc`;
   *   ERR_VFIO_IOVA_EXHAUSTED when no placement keeps the high word constant
   */
  static create(dev: Device, options: MempoolOptions = {}): Mempool {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    checkKeys(options, 'Mempool options', ['count', 'bufSize', 'hugepages']);
    const count = options.count ?? 4096;
    const bufSize = options.bufSize ?? 2048;
    if (typeof count !== 'number') throw invalidArgType('options.count', 'of type number', count);
    if (!Number.isInteger(count) || count < 1 || count > 65536) throw outOfRange('options.count', 'an integer from 1 to 65536', count);
    if (typeof bufSize !== 'number') throw invalidArgType('options.bufSize', 'of type number', bufSize);
    if (!Number.isInteger(bufSize) || bufSize < 64 || bufSize > 65536 || (bufSize & (bufSize - 1)) !== 0) {
      throw outOfRange('options.bufSize', 'a power of two from 64 to 65536', bufSize);
    }
    const hugepages = options.hugepages ?? false;
    if (typeof hugepages !== 'boolean') throw invalidArgType('options.hugepages', 'of type boolean', hugepages);
    const size = count * bufSize;
    // The IOVA allocator is first fit: a pool that straddles a 4 GiB boundary stays allocated
    // while the next attempt lands past it, and is freed afterwards.
    const rejected: DmaBuffer[] = [];
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        const dma = dev.dma.alloc(size, { hugepages });
        if (dma.iova / FOUR_GIB === (dma.iova + BigInt(size) - 1n) / FOUR_GIB) return new Mempool(dma, count, bufSize);
        rejected.push(dma);
      }
    } finally {
      for (const r of rejected) r.free();
    }
    throw Object.assign(new Error(`no IOVA placement of a ${size}-byte pool inside one 4 GiB window`),
      { code: 'ERR_VFIO_IOVA_EXHAUSTED' });
  }

  /** The DMA buffer behind the pool. */
  get dma(): DmaBuffer {
    return this.#dma;
  }

  /** Pops a free buffer id, or -1 when none is free. */
  alloc(): number {
    return this.top > 0 ? this.stack[--this.top]! : -1;
  }

  /** Pushes buffer `id` back. The caller guarantees it was allocated and is no longer in use. */
  free(id: number): void {
    this.stack[this.top++] = id;
  }

  /** The low IOVA word of buffer `id` as the unsigned 32-bit number a descriptor holds. */
  addrLo(id: number): number {
    return (this.iovaLo + id * this.bufSize) >>> 0;
  }

  /** The IOVA of buffer `id` (a bigint: for logs and tests, not for the hot path). */
  iova(id: number): bigint {
    return this.#dma.iova + BigInt(id * this.bufSize);
  }

  /** Frees the DMA memory. The pool is unusable afterwards. Idempotent. */
  close(): void {
    this.#dma.free();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
