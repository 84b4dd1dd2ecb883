/**
 * `vfio-cdx/mock`: a Linux 6.12 kernel in miniature, for tests without hardware.
 *
 * The mock sits under the library's native code at the syscall seam: opening a
 * device, packing structs, ownership and error mapping run exactly as on the
 * real kernel; only the final system call is answered by the mock, with the
 * kernel's own check order and errno (see the project's ABI reference). Its
 * region memory is real shared memory, so a Mapping over a mock device is a
 * real mapping, and the device side can look at it through {@link MockDevice.region}.
 *
 * ```ts
 * const kernel = MockKernel.create({ devices: [{ dev: 0, deviceId: 0x8084, regions: [{ size: 0x1000 }] }] });
 * const bus = new CdxBus({ kernel });
 * ```
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoNumber, invalidArgType, invalidArgValue, outOfRange } from '../errors';
import { Kernel } from '../kernel';
import { native, type NativeKernelHandle } from '../native';

/** Named kernel configurations. */
export type MockProfile = 'linux-6.12' | 'linux-6.12-iommufd' | 'cdev' | 'iommufd-compat' | 'noiommu';

/** One MMIO region of a mock device. */
export interface MockRegionSpec {
  /** Size in bytes. Not a page multiple → vfio-cdx gives the region no MMAP flag. */
  size: number;
  /** IORESOURCE_READONLY: no WRITE flag; a PROT_WRITE mmap fails with EPERM. */
  readOnly?: boolean;
  /** Physical start address (default: a page-aligned address the mock picks). */
  addr?: number | bigint;
  /** Initial contents (the rest is zero), restored by every reset. */
  init?: Uint8Array | ArrayLike<number>;
}

/** A mock CDX device, as the controller's scan would add it. */
export interface MockDeviceSpec {
  /** Bus number (default 0). The device is named cdx-BB:DD. */
  bus?: number;
  /** Device number on the bus. */
  dev: number;
  vendorId?: number;
  deviceId: number;
  subsystemVendorId?: number;
  subsystemDeviceId?: number;
  classCode?: number;
  revision?: number;
  /** At most 4 regions. */
  regions?: MockRegionSpec[];
  /** Number of MSI vectors (0: none). */
  msiCount?: number;
  /**
   * 'cdx-test': the test device register model shared with the VM tier (fixtures/cdx-test-devices.json);
   * 'axi-cdma': an AXI CDMA copy engine in simple mode (docs/mock-device-models.md).
   */
  model?: 'cdx-test' | 'axi-cdma';
  /** IOMMU group number (default: the next free one). */
  iommuGroup?: number;
  /** False: the controller refuses to clear bus mastering, so the feature is unsupported (ENOTTY). */
  busMasterSupported?: boolean;
  /** Created already bound to vfio-cdx (default false). */
  bound?: boolean;
}

/** Options of {@link MockKernel.create}. Profile fields can be overridden one by one. */
export interface MockKernelOptions {
  profile?: MockProfile;
  devices?: MockDeviceSpec[];
  /** Page size the mock kernel uses for MMAP flags and mmap checks (a multiple of the host's). */
  pageSize?: number;
  /** Whether the simulated caller holds CAP_SYS_RAWIO (default true, as root). */
  capSysRawio?: boolean;
  /** CONFIG_IOMMUFD (and VFIO_DEVICE_CDEV). */
  iommufd?: boolean;
  /**
   * CONFIG_VFIO_CONTAINER (default true). False (with `iommufd`): iommufd provides
   * /dev/vfio/vfio (CONFIG_IOMMUFD_VFIO_CONTAINER) and answers the container ioctls itself.
   */
  vfioContainer?: boolean;
  /** Whether an IOMMU exists (a device gets an IOMMU group when a driver probes it: the bus's dma_configure). */
  iommu?: boolean;
  /**
   * The CDX controller's device-tree node has `dma-ranges` (default true). Without it Linux
   * never puts CDX devices behind the IOMMU (of_dma_configure_id() with force_dma false stops
   * early): they get no IOMMU group, so VFIO needs no-IOMMU mode, even though an IOMMU exists.
   */
  dtDmaRanges?: boolean;
  /** vfio-cdx carries the `.detach_ioas` fix. */
  vfioCdxDetachIoas?: boolean;
  /** CONFIG_VFIO_NOIOMMU. */
  noiommuConfig?: boolean;
  /** vfio.enable_unsafe_noiommu_mode=1. */
  noiommuEnabled?: boolean;
  /** Whether the vfio-cdx driver is loaded. */
  vfioCdxLoaded?: boolean;
  /** vfio_iommu_type1 dma_entry_limit (default 65535). */
  dmaEntryLimit?: number;
  /** RLIMIT_MEMLOCK in bytes for DMA pinning (0: unlimited). */
  memlockLimit?: number;
}

/** Which call an injected fault hits: exactly one of these keys. */
export type FaultTarget =
  | { ioctl: string }
  | { open: string }
  | { mmap: string }
  | { eventfd: string }
  | { sysfsRead: string }
  | { sysfsWrite: string }
  | { readDir: string }
  | { readLink: string }
  | { controller: 'reset' | 'set_master' | 'clear_master' | 'msi_enable' };

/**
 * A failure to inject: the matching call returns `errno` instead of running,
 * with no side effect. `ioctl` takes a request name or '*'; `open`, `sysfs*`,
 * `readDir` and `readLink` a substring of the path or '*'; `mmap`/`eventfd` '*'
 * or a device name; `controller` makes the controller's operation fail, which
 * the kernel then reports as it would a real controller error (a failing reset
 * makes the first open fail; a failing clear_master makes bus master unsupported).
 */
export type FaultSpec = FaultTarget & {
  errno: string | number;
  /** How many matching calls fail (default 1; -1: all). */
  times?: number;
  /** How many matching calls pass before the failures start (default 0). */
  skip?: number;
  /** Only calls on this device. */
  device?: string;
};

/** One seam call recorded by {@link MockKernel.startTrace}. */
export interface MockCall {
  op: string;
  name: string;
  fd: number;
  result: number;
}

const FAULT_OPS = ['ioctl', 'open', 'mmap', 'eventfd', 'sysfsRead', 'sysfsWrite', 'readDir', 'readLink', 'controller'];

/** A mock kernel. Pass it to `new CdxBus({ kernel })`. */
export class MockKernel extends Kernel {
  readonly kind = 'mock' as const;
  readonly #k: NativeKernelHandle;
  readonly #devices = new Map<string, MockDevice>();

  private constructor(handle: NativeKernelHandle) {
    super(handle);
    this.#k = handle;
  }

  /**
   * A new mock kernel with the given profile and devices.
   * @throws TypeError for an unknown profile or a device the kernel would not create
   */
  static create(options: MockKernelOptions = {}): MockKernel {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    const { devices = [], ...config } = options;
    if (!Array.isArray(devices)) throw invalidArgType('options.devices', 'an array', devices);
    const kernel = new MockKernel(native().createMockKernel(config, devices.map(normalizeDevice)));
    for (const d of devices) if (d.bound) kernel.#bind(d);
    return kernel;
  }

  // Binds as a boot script would: driver_override, then drivers_probe.
  #bind(d: MockDeviceSpec): void {
    const name = `cdx-${(d.bus ?? 0).toString(16).padStart(2, '0')}:${d.dev.toString(16).padStart(2, '0')}`;
    this.#k.writeFile(`/sys/bus/cdx/devices/${name}/driver_override`, 'vfio-cdx');
    this.#k.writeFile('/sys/bus/cdx/drivers_probe', name);
  }

  /**
   * A mock kernel with the bundled fixture: the two test devices that the VM
   * tier's simulated controller also creates (fixtures/cdx-test-devices.json).
   */
  static fixture(options: Omit<MockKernelOptions, 'devices'> & { bound?: boolean } = {}): MockKernel {
    const { bound = false, ...rest } = options;
    return MockKernel.create({ ...rest, devices: fixtureDevices().map((d) => ({ ...d, bound })) });
  }

  /**
   * The same mock kernel in another thread: pass {@link token} to a worker and
   * attach there. The kernel lives while any thread holds it.
   */
  static attach(token: string): MockKernel {
    if (typeof token !== 'string') throw invalidArgType('token', 'of type string', token);
    return new MockKernel(native().attachMockKernel(token));
  }

  /** Identifies this kernel for {@link MockKernel.attach} in a worker. */
  get token(): string {
    return this.#k.mockToken();
  }

  /** The effective configuration (the profile plus overrides). */
  get config(): Readonly<Record<string, unknown>> {
    return this.#k.mockConfig();
  }

  /** Names of the CDX devices that exist now. */
  get devices(): string[] {
    return this.#k.mockDeviceNames();
  }

  /** Hot-adds a device, as a controller rescan would. */
  addDevice(spec: MockDeviceSpec): void {
    this.#k.mockAddDevice(normalizeDevice(spec));
    if (spec.bound) this.#bind(spec);
  }

  /** The control side of one device (what the hardware sees). */
  device(name: string): MockDevice {
    let d = this.#devices.get(name);
    if (d === undefined) {
      if (!this.#k.mockStatus(name).exists) throw invalidArgValue('name', name, 'is not a device of this mock kernel');
      d = new MockDevice(this.#k, name);
      this.#devices.set(name, d);
    }
    return d;
  }

  /** Makes matching calls fail; see {@link FaultSpec}. */
  injectFault(fault: FaultSpec): void {
    if (fault === null || typeof fault !== 'object') throw invalidArgType('fault', 'of type object', fault);
    const ops = FAULT_OPS.filter((k) => k in fault);
    if (ops.length !== 1) throw invalidArgValue('fault', fault, `must name exactly one of ${FAULT_OPS.join(', ')}`);
    const op = ops[0]!;
    const errno = typeof fault.errno === 'number' ? Math.abs(fault.errno) : errnoNumber(fault.errno);
    this.#k.mockInjectFault({
      op,
      match: String((fault as Record<string, unknown>)[op]),
      device: fault.device ?? '',
      errno,
      times: fault.times ?? 1,
      skip: fault.skip ?? 0,
    });
  }

  /** Removes every injected fault. */
  clearFaults(): void {
    this.#k.mockClearFaults();
  }

  /** Whether the simulated caller holds CAP_SYS_RAWIO (needed for no-IOMMU groups). */
  set capSysRawio(on: boolean) {
    this.#k.mockSetCapSysRawio(on);
  }

  /** Starts recording every seam call (see {@link takeTrace}). */
  startTrace(): void {
    this.#k.mockTakeTrace();
    this.#k.mockSetTracing(true);
  }

  /** Stops recording and returns the calls recorded since {@link startTrace}. */
  takeTrace(): MockCall[] {
    const calls = this.#k.mockTakeTrace();
    this.#k.mockSetTracing(false);
    return calls;
  }

  /** Emulated objects (fds and mappings) the mock holds now: 0 when nothing leaked. */
  openObjects(): number {
    return this.#k.mockOpenObjects();
  }
}

/** The device side of a mock device. */
export class MockDevice {
  /** The device name, 'cdx-BB:DD'. */
  readonly name: string;
  readonly #k: NativeKernelHandle;
  readonly #regions = new Map<number, Uint8Array>();

  /** @internal */
  constructor(k: NativeKernelHandle, name: string) {
    this.#k = k;
    this.name = name;
  }

  /** The device's own memory of region `index`: the bytes the hardware sees. */
  region(index: number): Uint8Array {
    let r = this.#regions.get(index);
    if (r === undefined) {
      r = new Uint8Array(this.#k.mockRegion(this.name, index));
      this.#regions.set(index, r);
    }
    return r;
  }

  /** Whether the controller has bus mastering enabled. */
  get busMaster(): boolean {
    return this.#k.mockStatus(this.name).busMaster;
  }

  /** Controller resets so far (open, last close, VFIO_DEVICE_RESET, sysfs reset). */
  get resets(): number {
    return this.#k.mockStatus(this.name).resets;
  }

  /** The bound driver, or null. */
  get driver(): string | null {
    return this.#k.mockStatus(this.name).driver || null;
  }

  /** VFIO open count (the kernel runs open_device/close_device at 0↔1). */
  get openCount(): number {
    return this.#k.mockStatus(this.name).openCount;
  }

  /** Whether MSI is enabled at the controller. */
  get msiEnabled(): boolean {
    return this.#k.mockStatus(this.name).msiEnabled;
  }

  /** DMA accesses by the device that faulted (unmapped IOVA, no permission, bus master off). */
  get dmaErrors(): number {
    return this.#k.mockStatus(this.name).dmaErrors;
  }

  /**
   * The device raises MSI `vector`, as hardware does: delivered when the
   * kernel has MSI enabled and a trigger on the vector (the eventfd gets +1).
   * Callable from any thread (attach the kernel there with MockKernel.attach).
   * @returns true when delivered; false when lost (MSI off or no trigger on the vector)
   * @throws RangeError for a vector the device does not have
   */
  raiseMsi(vector: number): boolean {
    const rc = this.#k.mockRaiseMsi(this.name, vector);
    if (rc === -22) throw outOfRange('vector', `below the device's MSI count`, vector);
    return rc === 0;
  }

  /** Reads `length` bytes at `iova` as the device would (through its IOMMU). @returns the bytes, or the -errno of the fault */
  dmaRead(iova: bigint, length: number): Uint8Array | number {
    const out = new Uint8Array(length);
    const rc = this.#k.mockDmaRead(this.name, iova, out);
    return rc === 0 ? out : rc;
  }

  /** Writes `bytes` at `iova` as the device would. @returns 0, or the -errno of the fault */
  dmaWrite(iova: bigint, bytes: Uint8Array): number {
    return this.#k.mockDmaWrite(this.name, iova, bytes);
  }

  /** False once the device was removed. */
  get exists(): boolean {
    return this.#k.mockStatus(this.name).exists;
  }
}

function int(v: unknown, name: string, max: number, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!Number.isInteger(v) || v < 0 || v > max) throw invalidArgValue(name, v, `must be an integer 0..${max}`);
  return v;
}

function normalizeDevice(d: MockDeviceSpec, i = 0): object {
  if (d === null || typeof d !== 'object') throw invalidArgType(`devices[${i}]`, 'of type object', d);
  const regions = d.regions ?? [];
  if (!Array.isArray(regions)) throw invalidArgType('regions', 'an array', regions);
  return {
    bus: int(d.bus, 'bus', 0xf, 0),
    dev: int(d.dev, 'dev', 0xff),
    vendorId: int(d.vendorId, 'vendorId', 0xffff, 0x10ee),
    deviceId: int(d.deviceId, 'deviceId', 0xffff),
    subsystemVendorId: int(d.subsystemVendorId, 'subsystemVendorId', 0xffff, 0),
    subsystemDeviceId: int(d.subsystemDeviceId, 'subsystemDeviceId', 0xffff, 0),
    classCode: int(d.classCode, 'classCode', 0xffffff, 0),
    revision: int(d.revision, 'revision', 0xff, 0),
    msiCount: int(d.msiCount, 'msiCount', 2048, 0),
    model: d.model ?? '',
    iommuGroup: d.iommuGroup === undefined ? -1 : int(d.iommuGroup, 'iommuGroup', 0x7fffffff),
    busMasterSupported: d.busMasterSupported ?? true,
    regions: regions.map((r) => ({
      size: int(r.size, 'regions[].size', Number.MAX_SAFE_INTEGER),
      addr: r.addr === undefined ? 0 : BigInt(r.addr),
      readOnly: r.readOnly ?? false,
      init: r.init === undefined ? undefined : Uint8Array.from(r.init as ArrayLike<number>),
    })),
  };
}

interface FixtureFile {
  model: { name: string; registers: Record<string, number>; idBase: string; version: string };
  devices: Array<{
    name: string; bus: number; dev: number; vendorId: string; deviceId: string; subsystemVendorId: string;
    subsystemDeviceId: string; classCode: string; revision: string; msiCount: number; model?: string;
    regions: Array<{ size: number; readOnly?: boolean; contents?: string; pattern?: string }>;
  }>;
}

/** The path of the device description shared by the mock fixture and the VM tier. */
export const FIXTURE_PATH = path.join(__dirname, '..', '..', '..', 'fixtures', 'cdx-test-devices.json');

/** The fixture's devices as mock device specs (initial register contents filled in). */
export function fixtureDevices(): MockDeviceSpec[] {
  const file = JSON.parse(fs.readFileSync(FIXTURE_PATH, 'utf8')) as FixtureFile;
  const regs = file.model.registers;
  return file.devices.map((d) => ({
    bus: d.bus,
    dev: d.dev,
    vendorId: Number(d.vendorId),
    deviceId: Number(d.deviceId),
    subsystemVendorId: Number(d.subsystemVendorId),
    subsystemDeviceId: Number(d.subsystemDeviceId),
    classCode: Number(d.classCode),
    revision: Number(d.revision),
    msiCount: d.msiCount,
    ...(d.model === 'cdx-test' ? { model: 'cdx-test' as const } : {}),
    regions: d.regions.map((r) => {
      const init = new Uint8Array(r.size);
      const words = new DataView(init.buffer);
      if (r.contents === 'registers') {
        words.setUint32(regs.ID!, (Number(file.model.idBase) | d.dev) >>> 0, true);
        words.setUint32(regs.VERSION!, Number(file.model.version) >>> 0, true);
      } else if (r.contents === 'pattern') {
        for (let i = 0; i < r.size / 4; i++) words.setUint32(i * 4, (Number(r.pattern) | i) >>> 0, true);
      }
      return { size: r.size, readOnly: r.readOnly ?? false, init };
    }),
  }));
}
