/**
 * An open vfio-cdx device: its info, regions, reset and bus master.
 *
 * The Device owns the device fd and every mapping made from it. `close()` (or
 * `using`) unmaps the mappings — detaching their ArrayBuffers first — and
 * closes the fd; the kernel resets the device on its last close. A Device that
 * is only reclaimed by the garbage collector is closed then, with a warning
 * (`VFIO_CDX_UNCLOSED`): relying on GC leaves a device open for an unknown time.
 */
import { checkConstruct, checkKeys, closedError, invalidArgType, invalidThis, kConstruct, outOfRange, VfioError } from './errors';
import { invalidateMapping, Mapping, type AccessorMode, type MappingParent } from './mapping';
import { closeMsi, Msi } from './msi';
import { Dma } from './dma';
import { native, type NativeDeviceHandle, type NativeRegionInfo } from './native';

/** What VFIO_DEVICE_GET_INFO says about the device. */
export interface DeviceInfo {
  /** Raw VFIO_DEVICE_FLAGS_* (vfio-cdx: CDX | RESET = 0x101). */
  readonly flags: number;
  readonly numRegions: number;
  /** 1 when the device has MSI vectors, else 0. */
  readonly numIrqs: number;
  /** VFIO_DEVICE_FLAGS_RESET: VFIO_DEVICE_RESET is available. */
  readonly resettable: boolean;
}

/** Options of {@link Region.map}. */
export interface MapOptions {
  /** Byte offset in the region; a multiple of the page size. Default 0. */
  offset?: number;
  /** Bytes to map. Default: from `offset` to the end of the region. */
  length?: number;
  /** Accessor implementation; default 'js' (Atomics), falling back to 'native'. */
  accessor?: AccessorMode;
}

const finalizer = new FinalizationRegistry<{ handle: NativeDeviceHandle; name: string }>(({ handle, name }) => {
  if (handle.closed()) return;
  handle.close();
  process.emitWarning(`vfio-cdx device ${name} was closed by the garbage collector; call close() (or use \`using\`)`,
    { code: 'VFIO_CDX_UNCLOSED', type: 'Warning' });
});

/** One MMIO region of a device (VFIO_DEVICE_GET_REGION_INFO). */
export class Region {
  /** Region index (0..numRegions-1). */
  readonly index: number;
  /** Size in bytes. */
  readonly size: number;
  /** Offset of the region in the device fd (vfio-cdx: index << 40). */
  readonly offset: bigint;
  /** Raw VFIO_REGION_INFO_FLAG_* bits. */
  readonly flags: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** False when the region's address or size is not page aligned: vfio-cdx then refuses mmap. */
  readonly mappable: boolean;
  readonly #map: (region: Region, options: MapOptions) => Mapping;

  /** @internal */
  constructor(token: unknown, map: (region: Region, options: MapOptions) => Mapping, info: NativeRegionInfo) {
    checkConstruct(token, 'Region');
    const c = native().abi.constants;
    this.#map = map;
    this.index = info.index;
    this.size = Number(info.size);
    this.offset = info.offset;
    this.flags = info.flags;
    this.readable = (info.flags & c.VFIO_REGION_INFO_FLAG_READ) !== 0;
    this.writable = (info.flags & c.VFIO_REGION_INFO_FLAG_WRITE) !== 0;
    this.mappable = (info.flags & c.VFIO_REGION_INFO_FLAG_MMAP) !== 0;
  }

  /**
   * Maps the region (or part of it) with the protection its flags allow
   * (read-only regions are mapped PROT_READ).
   * @throws RangeError for an offset/length outside the region or not page aligned;
   *   VfioError (mmap) when the kernel refuses, e.g. EINVAL for a non-mappable region;
   *   ERR_VFIO_CLOSED when the device is closed.
   */
  map(options: MapOptions = {}): Mapping {
    if (typeof this !== 'object' || this === null || !(#map in this)) throw invalidThis('Region');
    return this.#map(this, options);
  }
}

/** Bus-master control (VFIO_DEVICE_FEATURE_BUS_MASTER, Linux 6.7+). */
export class BusMaster {
  readonly #handle: NativeDeviceHandle;
  /** @internal */
  constructor(token: unknown, handle: NativeDeviceHandle) {
    checkConstruct(token, 'BusMaster');
    this.#handle = handle;
  }
  static #check(self: unknown): asserts self is BusMaster {
    if (typeof self !== 'object' || self === null || !(#handle in self)) throw invalidThis('BusMaster');
  }
  /**
   * Whether the device lets userspace control bus mastering (PROBE succeeds).
   * False when the kernel is older than 6.7 or the controller refused to clear
   * bus mastering when the device was opened (the kernel answers ENOTTY).
   * @throws ERR_VFIO_CLOSED; VfioError for any other failure.
   */
  get supported(): boolean {
    BusMaster.#check(this);
    return this.#handle.busMasterSupported();
  }
  /**
   * Enables or disables bus mastering (DMA by the device).
   * @throws VfioError: ENOTTY when unsupported, or the controller's errno.
   */
  set(enabled: boolean): void {
    BusMaster.#check(this);
    if (typeof enabled !== 'boolean') throw invalidArgType('enabled', 'of type boolean', enabled);
    this.#handle.setBusMaster(enabled);
  }
}

/** An open vfio-cdx device. Close it with {@link Device.close} or `using`. */
export class Device implements Disposable {
  /** The CDX device name, e.g. 'cdx-00:00'. */
  readonly name: string;
  /** How it was opened: the group/container path or the cdev/iommufd path. */
  readonly path: 'group' | 'cdev';
  /** IOMMU group number (group path), or null. */
  readonly group: number | null;
  /** True for a no-IOMMU group (/dev/vfio/noiommu-N): no DMA translation, CAP_SYS_RAWIO needed. */
  readonly noiommu: boolean;
  /** The node opened: /dev/vfio/N, /dev/vfio/noiommu-N or /dev/vfio/devices/vfioM. */
  readonly node: string;
  /**
   * The kernel's page size (PAGE_SIZE): 4096, or 16384 / 65536 on arm64 kernels built with
   * larger pages. Mapping offsets are multiples of it, and a region is mappable only when its
   * start and size are.
   */
  readonly pageSize: number;
  readonly info: DeviceInfo;
  readonly regions: readonly Region[];
  readonly busMaster: BusMaster;
  /** MSI interrupts. */
  readonly msi: Msi;
  /** DMA buffers in the device's IOMMU address space. */
  readonly dma: Dma;
  readonly #handle: NativeDeviceHandle;
  readonly #mappings = new Set<Mapping>();

  /** @internal Made by {@link CdxBus.open}. */
  constructor(token: unknown, handle: NativeDeviceHandle) {
    checkConstruct(token, 'Device');
    this.#handle = handle;
    const d = handle.describe();
    this.name = d.name;
    this.path = d.path;
    this.group = d.group >= 0 ? d.group : null;
    this.noiommu = d.noiommu;
    this.node = d.node;
    this.pageSize = d.pageSize;
    const i = handle.info();
    this.info = Object.freeze({
      flags: i.flags,
      numRegions: i.numRegions,
      numIrqs: i.numIrqs,
      resettable: (i.flags & native().abi.constants.VFIO_DEVICE_FLAGS_RESET) !== 0,
    });
    const map = (region: Region, options: MapOptions) => this.#mapRegion(region, options);
    this.regions = Object.freeze(handle.regions().map((r) => new Region(kConstruct, map, r)));
    this.busMaster = new BusMaster(kConstruct, handle);
    this.msi = new Msi(kConstruct, handle, this);
    this.dma = new Dma(kConstruct, handle);
    finalizer.register(this, { handle, name: this.name }, this);
  }

  static #check(self: unknown): asserts self is Device {
    if (typeof self !== 'object' || self === null || !(#handle in self)) throw invalidThis('Device');
  }

  /** True once closed. */
  get closed(): boolean {
    Device.#check(this);
    return this.#handle.closed();
  }

  /**
   * The device fd, for raw ioctls (`vfio-cdx/raw`). Owned by this Device: never close it.
   * @throws ERR_VFIO_CLOSED
   */
  get fd(): number {
    Device.#check(this);
    return this.#handle.fd();
  }

  /**
   * VFIO_DEVICE_RESET: the controller resets the device. Mappings stay valid,
   * but the device's registers are back to their reset values. The reset
   * quiesces the device's interrupts and vfio-cdx does not restore them, so
   * when MSI is enabled the library re-arms it with the same eventfds (two more
   * SET_IRQS): the {@link MsiVector}s keep working.
   * @throws VfioError with the controller's errno; ERR_VFIO_CLOSED. If re-arming
   *   MSI fails, MSI is disabled (its vectors close) and that error is thrown.
   */
  reset(): void {
    Device.#check(this);
    try {
      this.#handle.reset();
    } catch (e) {
      // A failed re-arm leaves MSI disabled (the addon closed the eventfds): the vectors are dead.
      if (this.msi.enabled && !this.#handle.msiInfo().enabled) closeMsi(this.msi);
      throw e;
    }
  }

  /**
   * Unmaps every mapping (detaching their buffers), frees every DMA buffer, disables MSI and
   * closes the device; the native side is released now, not at the next GC. Idempotent.
   * Pending MSI waits reject with ERR_VFIO_CLOSED once everything is closed.
   */
  close(): void {
    Device.#check(this);
    if (!this.#handle.closed()) this.#handle.close();
    for (const m of this.#mappings) invalidateMapping(m);
    this.#mappings.clear();
    finalizer.unregister(this);
    closeMsi(this.msi);  // last: it runs listeners, which see a fully closed device
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #mapRegion(region: Region, options: MapOptions): Mapping {
    if (this.#handle.closed()) throw closedError(`device ${this.name}`);
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    checkKeys(options, 'map() options', ['offset', 'length', 'accessor']);
    const offset = options.offset ?? 0;
    if (typeof offset !== 'number') throw invalidArgType('options.offset', 'of type number', offset);
    const pageSize = this.pageSize;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= region.size || offset % pageSize !== 0) {
      throw outOfRange('options.offset', `a multiple of the page size (${pageSize}) below the region size ${region.size}`,
        offset);
    }
    const length = options.length ?? region.size - offset;
    if (typeof length !== 'number') throw invalidArgType('options.length', 'of type number', length);
    if (!Number.isSafeInteger(length) || length <= 0 || length > region.size - offset) {
      throw outOfRange('options.length', `an integer > 0 and <= ${region.size - offset}`, length);
    }
    const accessor = options.accessor;
    if (accessor !== undefined && accessor !== 'js' && accessor !== 'native') {
      throw invalidArgType('options.accessor', "'js' or 'native'", accessor);
    }
    let handle, buffer;
    try {
      [handle, buffer] = this.#handle.map(region.index, offset, length);
    } catch (e) {
      if (e instanceof VfioError && e.syscall === 'mmap' && e.code === 'EINVAL' && !region.mappable) {
        e.addHint(`region ${region.index} of ${this.name} has no VFIO_REGION_INFO_FLAG_MMAP: vfio-cdx maps only ` +
          `regions whose address and size are page aligned (this one is ${region.size} bytes), and it offers ` +
          'no read/write access either');
      }
      throw e;
    }
    const mapping = new Mapping(kConstruct, this.#parent, handle, buffer, region.index, offset, length, region.writable,
      accessor);
    this.#mappings.add(mapping);
    return mapping;
  }

  // What the mappings know of this device: its name, and how to leave its list when unmapped.
  readonly #parent: MappingParent = ((dev: Device): MappingParent => ({
    get name() { return dev.name; },
    forget: (m) => { dev.#mappings.delete(m); },
  }))(this);
}
