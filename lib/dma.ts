/**
 * DMA buffers: memory the device reads and writes by IOVA.
 *
 * A buffer is allocated natively (an anonymous shared mapping, or hugetlb
 * pages when asked), never on the V8 heap, and mapped read/write into the
 * device's IOMMU address space: VFIO_IOMMU_MAP_DMA on a type1 container, or
 * IOMMU_IOAS_MAP on an iommufd IOAS. IOVAs come from an allocator that keeps
 * to the windows the kernel reports (on arm64 with an SMMU, the MSI window
 * 0x8000000..0x80fffff is excluded).
 *
 * Ownership: the container or IOAS behind a device may be shared by several
 * devices (all devices opened by one thread share one container per kind, and
 * one IOAS), so an IOVA is valid for every device attached to it. A buffer
 * still belongs to the Device that allocated it: `free()` it, or it is freed
 * when that device closes. Freeing unmaps the IOVA before the memory goes, so
 * the device cannot reach freed memory; the buffer's ArrayBuffer is detached.
 *
 * A no-IOMMU group has no translation: allocation is refused with
 * ERR_VFIO_NO_IOMMU_DMA rather than handing out addresses that mean nothing.
 * Pinned pages count against RLIMIT_MEMLOCK: ENOMEM from the kernel comes
 * with a hint naming `ulimit -l`.
 */
import { constants as bufferConstants } from 'node:buffer';
import { checkConstruct, checkKeys, closedError, invalidArgType, invalidThis, kConstruct, outOfRange, VfioError } from './errors';
import type { NativeDeviceHandle } from './native';

/** Options of {@link Dma.alloc}. */
export interface DmaAllocOptions {
  /** Back the buffer with 2 MiB hugetlb pages (they must be reserved: /proc/sys/vm/nr_hugepages). */
  hugepages?: boolean;
}

/** One IOVA window, inclusive. */
export interface IovaRange {
  start: bigint;
  last: bigint;
}

const kOwner = Symbol('vfio-cdx.dma');

/** A DMA buffer: `bytes` for the CPU, `iova` for the device. */
export class DmaBuffer implements Disposable {
  /** The device-visible address. */
  readonly iova: bigint;
  /** Size in bytes (the request rounded up to the page size). */
  readonly size: number;
  readonly #bytes: Uint8Array | null;
  readonly #free: () => void;
  #freed = false;

  /** @internal */
  constructor(token: unknown, raw: { buffer: ArrayBuffer | null; iova: bigint; size: number; free(): void }) {
    checkConstruct(token, 'DmaBuffer');
    this.iova = raw.iova;
    this.size = raw.size;
    this.#free = raw.free;
    this.#bytes = raw.buffer === null ? null : new Uint8Array(raw.buffer);
    // The memory stays mapped while its bytes are reachable.
    if (raw.buffer !== null) Object.defineProperty(raw.buffer, kOwner, { value: this });
  }

  /**
   * The buffer's memory (ordinary RAM: any access is fine). Detached after free().
   * @throws ERR_VFIO_CLOSED after free() or device close
   */
  static #check(self: unknown): asserts self is DmaBuffer {
    if (typeof self !== 'object' || self === null || !(#free in self)) throw invalidThis('DmaBuffer');
  }

  get bytes(): Uint8Array {
    DmaBuffer.#check(this);
    if (this.#freed || this.#bytes === null || this.#bytes.buffer.byteLength === 0) {
      throw closedError(`DMA buffer at IOVA 0x${this.iova.toString(16)}`);
    }
    return this.#bytes;
  }

  /** False once freed (by free() or by the device's close). */
  get live(): boolean {
    DmaBuffer.#check(this);
    return !this.#freed && this.#bytes !== null && this.#bytes.buffer.byteLength > 0;
  }

  /** Unmaps the IOVA, detaches `bytes`, releases the memory. Idempotent. */
  free(): void {
    DmaBuffer.#check(this);
    if (this.#freed) return;
    this.#freed = true;
    this.#free();
  }

  /** Same as {@link free}. */
  [Symbol.dispose](): void {
    this.free();
  }
}

/** DMA through the device's IOMMU. */
export class Dma {
  readonly #handle: NativeDeviceHandle;

  /** @internal */
  constructor(token: unknown, handle: NativeDeviceHandle) {
    checkConstruct(token, 'Dma');
    this.#handle = handle;
  }

  static #check(self: unknown): asserts self is Dma {
    if (typeof self !== 'object' || self === null || !(#handle in self)) throw invalidThis('Dma');
  }

  /**
   * The IOVA windows the IOMMU allows for this device.
   * @throws ERR_VFIO_NO_IOMMU_DMA for a no-IOMMU group
   */
  get ranges(): IovaRange[] {
    Dma.#check(this);
    return this.#handle.dmaRanges();
  }

  /**
   * Allocates and maps a DMA buffer of at least `size` bytes.
   * @throws RangeError for a bad size (including one larger than this runtime's largest ArrayBuffer); ERR_VFIO_NO_IOMMU_DMA (no-IOMMU group);
   *   ERR_VFIO_IOVA_EXHAUSTED; VfioError from mmap or the map ioctl (ENOMEM
   *   with a `ulimit -l` hint when the memlock limit is reached)
   */
  alloc(size: number, options: DmaAllocOptions = {}): DmaBuffer {
    Dma.#check(this);
    if (typeof size !== 'number') throw invalidArgType('size', 'of type number', size);
    if (!Number.isSafeInteger(size) || size <= 0) throw outOfRange('size', 'a positive integer', size);
    // The CPU's view is one ArrayBuffer: no larger than this runtime allows (4 GiB on Node 20).
    if (size > bufferConstants.MAX_LENGTH) {
      throw outOfRange('size', `at most buffer.constants.MAX_LENGTH (${bufferConstants.MAX_LENGTH}) bytes on this runtime`, size);
    }
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    checkKeys(options, 'alloc() options', ['hugepages']);
    const huge = options.hugepages ?? false;
    if (typeof huge !== 'boolean') throw invalidArgType('options.hugepages', 'of type boolean', huge);
    try {
      return new DmaBuffer(kConstruct, this.#handle.dmaAlloc(size, huge));
    } catch (e) {
      if (e instanceof VfioError && e.code === 'ENOMEM' && /MAP_DMA|IOAS_MAP/.test(e.request ?? '')) {
        e.addHint('pinned DMA memory counts against RLIMIT_MEMLOCK: raise it (`ulimit -l`, or LimitMEMLOCK= for a service)');
      } else if (e instanceof VfioError && e.syscall === 'mmap' && huge) {
        e.addHint('hugetlb pages must be reserved first: echo N > /proc/sys/vm/nr_hugepages');
      }
      throw e;
    }
  }
}
