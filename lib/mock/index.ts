/**
 * `vfio-cdx/mock`: a Linux 6.12 kernel in miniature, for tests without hardware.
 *
 * The mock sits under the library's native code at the syscall seam: opening a
 * device, packing structs, ownership and error mapping run exactly as on the
 * real kernel; only the final system call is answered by the mock, with the
 * kernel's own check order and errno (docs/kernel-rules.md lists those rules). Its
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
import { checkConstruct, checkKeys, errnoNumber, invalidArgType, invalidArgValue, invalidThis, kConstruct, outOfRange } from '../errors';
import { checkDeviceName } from '../bus';
import { Kernel } from '../kernel';
import { native, type NativeKernelHandle, type NativeLnicControl, type NativeMockControl } from '../native';

/**
 * Named kernel configurations, in the order the native mock defines them (`MockKernel.schema.profiles`
 * is the authority; a test checks that this list matches it).
 */
export const MOCK_PROFILES = ['linux-6.12', 'linux-6.12-iommufd', 'cdev', 'iommufd-compat', 'noiommu'] as const;
/** One of {@link MOCK_PROFILES}. */
export type MockProfile = (typeof MOCK_PROFILES)[number];

/** The device models the native mock implements (`MockKernel.schema.models`, checked by a test). */
export const MOCK_MODELS = ['cdx-test', 'axi-cdma', 'lnic'] as const;
/** One of {@link MOCK_MODELS}. */
export type MockModel = (typeof MOCK_MODELS)[number];

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
   * 'axi-cdma': an AXI CDMA copy engine in simple mode (docs/mock-device-models.md);
   * 'lnic': a simulated loopback NIC with descriptor rings (docs/lnic.md; control it with
   * {@link MockDevice.lnic}).
   */
  model?: MockModel;
  /** IOMMU group number (default: the next free one). */
  iommuGroup?: number;
  /** False: the controller refuses to clear bus mastering, so the feature is unsupported (ENOTTY). */
  busMasterSupported?: boolean;
  /**
   * Created bound to vfio-cdx (default false), as a boot script running as root would bind it:
   * driver_override, then a probe. Where the probe fails (profile 'linux-6.12-iommufd') the device
   * is left unbound with driver_override set, as on Linux.
   */
  bound?: boolean;
}

/** Options of {@link MockKernel.create}. Profile fields can be overridden one by one. */
export interface MockKernelOptions {
  profile?: MockProfile;
  devices?: MockDeviceSpec[];
  /** Page size the mock kernel uses for MMAP flags and mmap checks (a multiple of the host's). */
  pageSize?: number;
  /** Whether the simulated caller holds CAP_SYS_RAWIO (default: true for uid 0, else false). */
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
  /** CONFIG_CDX_BUS: false for a kernel without a CDX bus (no /sys/bus/cdx). Default true. */
  cdxBus?: boolean;
  /** Whether the vfio-cdx driver is loaded. */
  vfioCdxLoaded?: boolean;
  /** vfio_iommu_type1 dma_entry_limit (default 65535). */
  dmaEntryLimit?: number;
  /** RLIMIT_MEMLOCK in bytes for DMA pinning (0: unlimited); `/proc/self/limits` reports it. */
  memlockLimit?: number;
  /**
   * The simulated caller's uid (default 0, root). Every file the mock serves is root:root, so
   * another uid is held to the mode bits (`/dev/vfio/N` is 0600: EACCES; sysfs stores: EACCES)
   * and holds no capability unless `capSysRawio` says so. `/proc/self/status` reports it.
   */
  uid?: number;
  /** The simulated caller's gid (default 0); gid 0 gets a node's group permission bits. */
  gid?: number;
}

/** The calls a fault can hit (the native schema's `faultOps`, checked by a test). */
export const FAULT_OPS = ['ioctl', 'open', 'mmap', 'eventfd', 'sysfsRead', 'sysfsWrite', 'readDir', 'readLink',
  'controller'] as const;
/** One of {@link FAULT_OPS}. */
export type FaultOp = (typeof FAULT_OPS)[number];

/** Which call an injected fault hits: exactly one of the {@link FAULT_OPS} keys. */
export type FaultTarget =
  | { [K in Exclude<FaultOp, 'controller'>]: { [P in K]: string } }[Exclude<FaultOp, 'controller'>]
  | { controller: (typeof CONTROLLER_OPS)[number] };

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

/** The controller operations a `{ controller }` fault can fail (`MockKernel.schema.controllerOps`). */
export const CONTROLLER_OPS = ['reset', 'set_master', 'clear_master', 'msi_enable'] as const;

// The keys of each option type, listed so that the compiler rejects a list that misses or adds one
// (`satisfies Record<keyof T, true>`), and a test compares each list with the native schema: the
// TypeScript types and the native validation (src-native/mock_schema.cc) cannot drift apart.
type KeyList<T> = Record<keyof Required<T>, true>;
const keys = <T>(r: KeyList<T>) => Object.keys(r) as Array<keyof T>;
/** The keys of {@link MockKernelOptions}, {@link MockDeviceSpec}, {@link MockRegionSpec} and of a fault spec
 * besides its target (`MockKernel.schema.configKeys`, `deviceKeys`, `regionKeys`, `faultKeys`). */
export const MOCK_SPEC_KEYS = {
  config: keys<MockKernelOptions>({
    profile: true, devices: true, pageSize: true, capSysRawio: true, iommufd: true, iommu: true, dtDmaRanges: true,
    vfioContainer: true, vfioCdxDetachIoas: true, noiommuConfig: true, noiommuEnabled: true, cdxBus: true,
    vfioCdxLoaded: true, dmaEntryLimit: true, memlockLimit: true, uid: true, gid: true,
  }),
  device: keys<MockDeviceSpec>({
    bus: true, dev: true, vendorId: true, deviceId: true, subsystemVendorId: true, subsystemDeviceId: true,
    classCode: true, revision: true, regions: true, msiCount: true, model: true, iommuGroup: true,
    busMasterSupported: true, bound: true,
  }),
  region: keys<MockRegionSpec>({ size: true, readOnly: true, addr: true, init: true }),
  fault: keys<Omit<FaultSpec, FaultOp>>({ errno: true, times: true, skip: true, device: true }),
} as const;

/** One seam call recorded by {@link MockKernel.startTrace}. */
export interface MockCall {
  op: string;
  name: string;
  fd: number;
  result: number;
}

/** A mock kernel. Pass it to `new CdxBus({ kernel })`. */
export class MockKernel extends Kernel {
  readonly kind = 'mock' as const;
  readonly #k: NativeMockControl;
  readonly #devices = new Map<string, MockDevice>();

  /** @internal Use {@link MockKernel.create}, {@link MockKernel.fixture} or {@link MockKernel.attach}. */
  constructor(token: unknown, handle: NativeKernelHandle) {
    checkConstruct(token, 'MockKernel');
    super(token, handle);
    this.#k = native().mockControl(handle);
  }

  static #check(self: unknown): asserts self is MockKernel {
    if (typeof self !== 'object' || self === null || !(#k in self)) throw invalidThis('MockKernel');
  }

  /**
   * A new mock kernel with the given profile and devices. Every key and value is checked: an
   * unknown key (`profle`, `msicount`), a value of the wrong type, an unknown profile or model is
   * a TypeError/RangeError with an `ERR_*` code whose message lists what is valid, and nothing
   * is created.
   * @throws TypeError / RangeError as above; TypeError ERR_INVALID_ARG_VALUE for a device the
   *   kernel would not create (two devices with one name, a model's region too small)
   */
  static create(options: MockKernelOptions = {}): MockKernel {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw invalidArgType('options', 'of type object', options);
    }
    return new MockKernel(kConstruct, native().createMockKernel(options));
  }

  /**
   * A mock kernel with the bundled fixture: the two test devices that the VM
   * tier's simulated controller also creates (fixtures/cdx-test-devices.json),
   * unbound unless `bound` is true.
   * @throws as {@link create}
   */
  static fixture(options: Omit<MockKernelOptions, 'devices'> & { bound?: boolean } = {}): MockKernel {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw invalidArgType('options', 'of type object', options);
    }
    const { bound = false, ...rest } = options;
    if (typeof bound !== 'boolean') throw invalidArgType('options.bound', 'of type boolean', bound);
    if ('devices' in rest) throw invalidArgValue('options.devices', (rest as { devices: unknown }).devices, 'is not an option of fixture() (it brings its own devices)');
    return MockKernel.create({ ...rest, devices: fixtureDevices().map((d) => ({ ...d, bound })) });
  }

  /**
   * The same mock kernel in another thread: pass {@link token} to a worker and
   * attach there. The kernel lives while any thread holds it.
   * @throws TypeError ERR_INVALID_ARG_VALUE when no live mock kernel has that token
   */
  static attach(token: string): MockKernel {
    if (typeof token !== 'string') throw invalidArgType('token', 'of type string', token);
    return new MockKernel(kConstruct, native().attachMockKernel(token));
  }

  /** The names the mock accepts: profiles, models, ioctl requests, fault targets, option keys. */
  static get schema(): MockSchema {
    return native().mockSchema();
  }

  /** Identifies this kernel for {@link MockKernel.attach} in a worker. */
  get token(): string {
    MockKernel.#check(this);
    return this.#k.token();
  }

  /** The effective configuration (the profile plus overrides). */
  get config(): Readonly<Record<string, unknown>> {
    MockKernel.#check(this);
    return this.#k.config();
  }

  /** Names of the CDX devices that exist now. */
  get devices(): string[] {
    MockKernel.#check(this);
    return this.#k.deviceNames();
  }

  /**
   * Hot-adds a device, as a controller rescan would (checked like {@link create}'s devices).
   * @throws TypeError / RangeError for a bad spec; TypeError ERR_INVALID_ARG_VALUE when the kernel refuses it
   */
  addDevice(spec: MockDeviceSpec): void {
    MockKernel.#check(this);
    this.#k.addDevice(spec);
  }

  /**
   * The control side of one device (what the hardware sees). After a sysfs `remove` and a
   * `rescan`, the device of that name is a new device: call this again to reach it.
   * @throws TypeError ERR_INVALID_ARG_VALUE when the kernel has no such device
   */
  device(name: string): MockDevice {
    MockKernel.#check(this);
    checkDeviceName(name);
    const status = this.#k.status(name);
    if (!status.exists) throw invalidArgValue('name', name, 'is not a device of this mock kernel');
    let d = this.#devices.get(name);
    if (d === undefined || instanceOf(d) !== status.instance) {
      d = new MockDevice(kConstruct, this.#k, name, status.instance);
      this.#devices.set(name, d);
    }
    return d;
  }

  /**
   * Makes matching calls fail; see {@link FaultSpec}. The target is checked: an unknown ioctl
   * name, controller operation, or a path fragment that no path this kernel serves (now, or once
   * its devices are bound) contains is a TypeError ERR_INVALID_ARG_VALUE listing what is valid;
   * `errno` must be an errno name ('EIO') or a positive errno number.
   * @throws TypeError / RangeError as above
   */
  injectFault(fault: FaultSpec): void {
    MockKernel.#check(this);
    if (fault === null || typeof fault !== 'object' || Array.isArray(fault)) {
      throw invalidArgType('fault', 'of type object', fault);
    }
    const errno = (fault as { errno?: unknown }).errno;
    this.#k.injectFault(typeof errno === 'string' ? { ...fault, errno: errnoNumber(errno) } : fault);
  }

  /** Removes every injected fault. */
  clearFaults(): void {
    MockKernel.#check(this);
    this.#k.clearFaults();
  }

  /** Whether the simulated caller holds CAP_SYS_RAWIO (needed for no-IOMMU groups). */
  set capSysRawio(on: boolean) {
    MockKernel.#check(this);
    if (typeof on !== 'boolean') throw invalidArgType('capSysRawio', 'of type boolean', on);
    this.#k.setCapSysRawio(on);
  }

  /** Starts recording every seam call (see {@link takeTrace}). */
  startTrace(): void {
    MockKernel.#check(this);
    this.#k.takeTrace();
    this.#k.setTracing(true);
  }

  /** Stops recording and returns the calls recorded since {@link startTrace}. */
  takeTrace(): MockCall[] {
    MockKernel.#check(this);
    const calls = this.#k.takeTrace();
    this.#k.setTracing(false);
    return calls;
  }

  /** Emulated objects (fds and mappings) the mock holds now: 0 when nothing leaked. */
  openObjects(): number {
    MockKernel.#check(this);
    return this.#k.openObjects();
  }
}

/** The names {@link MockKernel.create} and {@link MockKernel.injectFault} accept. */
export interface MockSchema {
  profiles: string[];
  models: string[];
  ioctls: string[];
  controllerOps: string[];
  faultOps: string[];
  configKeys: string[];
  deviceKeys: string[];
  regionKeys: string[];
  faultKeys: string[];
}

let instanceOf: (d: MockDevice) => number;

/**
 * The device side of one mock device: one device, not one name. Once its removal has begun, its
 * MockDevice says `exists === false`; once it is gone, every other member throws
 * ERR_VFIO_MOCK_DEVICE_GONE, even when a rescan has made a new device of the same name (reach that
 * one with `kernel.device(name)`).
 */
export class MockDevice {
  /** The device name, 'cdx-BB:DD'. */
  readonly name: string;
  readonly #k: NativeMockControl;
  readonly #instance: number;
  readonly #regions = new Map<number, Uint8Array>();
  #lnic: LnicControl | undefined;

  /** @internal */
  constructor(token: unknown, k: NativeMockControl, name: string, instance: number) {
    checkConstruct(token, 'MockDevice');
    this.#k = k;
    this.name = name;
    this.#instance = instance;
  }

  static {
    instanceOf = (d) => d.#instance;
  }

  // The status of the device `self` is; throws for a wrong `this` and once the device is gone.
  static #status(self: unknown): ReturnType<NativeMockControl['status']> {
    if (typeof self !== 'object' || self === null || !(#k in self)) throw invalidThis('MockDevice');
    const d = self as MockDevice;
    const s = d.#k.status(d.name);
    // Removal in progress (the kernel's device_del has begun, e.g. `remove` blocked on an open fd)
    // still reaches this device; once it is gone, or replaced by a rescan, nothing does.
    if (s.instance !== d.#instance) throw deviceGone(d.name, s.instance !== 0);
    return s;
  }

  /**
   * The device's own memory of region `index`: the bytes the hardware sees.
   * @throws RangeError for a region the device does not have; ERR_VFIO_MOCK_DEVICE_GONE
   */
  region(index: number): Uint8Array {
    MockDevice.#status(this);
    if (typeof index !== 'number') throw invalidArgType('index', 'of type number', index);
    let r = this.#regions.get(index);
    if (r === undefined) {
      r = new Uint8Array(this.#k.region(this.name, this.#instance, index));
      this.#regions.set(index, r);
    }
    return r;
  }

  /** Whether the controller has bus mastering enabled. */
  get busMaster(): boolean {
    return MockDevice.#status(this).busMaster;
  }

  /** Controller resets so far (open, last close, VFIO_DEVICE_RESET, sysfs reset). */
  get resets(): number {
    return MockDevice.#status(this).resets;
  }

  /** The bound driver, or null. */
  get driver(): string | null {
    return MockDevice.#status(this).driver || null;
  }

  /** VFIO open count (the kernel runs open_device/close_device at 0↔1). */
  get openCount(): number {
    return MockDevice.#status(this).openCount;
  }

  /** Whether MSI is enabled at the controller. */
  get msiEnabled(): boolean {
    return MockDevice.#status(this).msiEnabled;
  }

  /** DMA accesses by the device that faulted (unmapped IOVA, no permission, bus master off). */
  get dmaErrors(): number {
    return MockDevice.#status(this).dmaErrors;
  }

  /**
   * The device raises MSI `vector`, as hardware does: delivered when the
   * kernel has MSI enabled and a trigger on the vector (the eventfd gets +1).
   * Callable from any thread (attach the kernel there with MockKernel.attach).
   * @returns true when delivered; false when lost (MSI off or no trigger on the vector)
   * @throws RangeError for a vector the device does not have; ERR_VFIO_MOCK_DEVICE_GONE
   */
  raiseMsi(vector: number): boolean {
    MockDevice.#status(this);
    if (typeof vector !== 'number') throw invalidArgType('vector', 'of type number', vector);
    if (!Number.isInteger(vector) || vector < 0 || vector > 0xffffffff) {
      throw outOfRange('vector', 'an integer >= 0', vector);
    }
    const rc = this.#k.raiseMsi(this.name, vector);
    if (rc === -errnoNumber('EINVAL')) throw outOfRange('vector', `below the device's MSI count`, vector);
    if (rc === -errnoNumber('ENODEV')) throw deviceGone(this.name, false);
    return rc === 0;
  }

  /**
   * Reads `length` bytes at `iova` as the device would (through its IOMMU).
   * @returns the bytes, or the -errno of the fault (see the README: -EFAULT unmapped, -EPERM bus master off, ...)
   * @throws TypeError / RangeError for bad arguments; ERR_VFIO_MOCK_DEVICE_GONE
   */
  dmaRead(iova: bigint, length: number): Uint8Array | number {
    MockDevice.#status(this);
    checkIova(iova);
    if (typeof length !== 'number') throw invalidArgType('length', 'of type number', length);
    if (!Number.isSafeInteger(length) || length < 0 || length > kMaxDma) {
      throw outOfRange('length', `an integer >= 0 and <= ${kMaxDma}`, length);
    }
    const out = new Uint8Array(length);
    const rc = this.#k.dmaRead(this.name, iova, out);
    return rc === 0 ? out : rc;
  }

  /**
   * Writes `bytes` at `iova` as the device would.
   * @returns 0, or the -errno of the fault
   * @throws TypeError / RangeError for bad arguments; ERR_VFIO_MOCK_DEVICE_GONE
   */
  dmaWrite(iova: bigint, bytes: Uint8Array): number {
    MockDevice.#status(this);
    checkIova(iova);
    if (!(bytes instanceof Uint8Array)) throw invalidArgType('bytes', 'an instance of Uint8Array', bytes);
    return this.#k.dmaWrite(this.name, iova, bytes);
  }

  /**
   * The clock and counters of the device's 'lnic' model: who runs it (its own thread, or the
   * caller's `step()`), and what it has done.
   * @throws ERR_VFIO_MOCK_NOT_LNIC when the device runs another model; ERR_VFIO_MOCK_DEVICE_GONE
   */
  get lnic(): LnicControl {
    MockDevice.#status(this);
    this.#lnic ??= new LnicControl(kConstruct, native().lnicControl(this.#k, this.name));
    return this.#lnic;
  }

  /** False once this device was removed (even if a rescan made a new one of the same name). */
  get exists(): boolean {
    if (typeof this !== 'object' || this === null || !(#k in this)) throw invalidThis('MockDevice');
    const s = this.#k.status(this.name);
    return s.exists && s.instance === this.#instance;
  }
}

/**
 * Who runs an lnic model:
 * - `'stepped'`: nobody but {@link LnicControl.step}, on the caller's thread. Deterministic: use it
 *   in tests, and to measure a driver's CPU cost.
 * - `'threaded'` (the default): the model's own thread. It spins for 20 µs after activity, then
 *   polls its registers every 50 µs, and after 2 ms of idleness every 1 ms: it costs almost nothing
 *   while idle, and a doorbell is noticed within one poll period.
 * - `'busy'`: the model's own thread, spinning on its registers: a doorbell is noticed within
 *   nanoseconds, at the price of a whole core.
 */
export type LnicScheduler = 'stepped' | 'threaded' | 'busy';

/** What an lnic model has done (see {@link LnicControl.counters}). */
export interface LnicCounters {
  /** step() calls. */
  steps: number;
  /** Passes of the model (a pass reads the registers and moves what it can), by any scheduler. */
  passes: number;
  /** Frames moved: received, sent, generated or dropped. */
  packets: number;
  /** Time spent inside step() (the model's CPU cost when stepped), in ns. */
  stepNs: number;
  /** Threaded schedulers: time spent in passes that did something, in ns. */
  busyNs: number;
  /** Threaded schedulers: how long the model's thread has been running them, in ns. */
  threadNs: number;
  /** MSIs the device sent that reached an eventfd. */
  msis: number;
  /** MSIs the device sent that were lost (MSI disabled, or no eventfd on the vector). */
  msisLost: number;
}

/** The control side of an lnic device model (docs/lnic.md). Get it from {@link MockDevice.lnic}. */
export class LnicControl {
  /**
   * One pass of the model on the calling thread (stepped scheduler only): the model's clock moves
   * by `advanceNs` (default 0), then at most `budget` frames move (default: all it can).
   * A plain function bound to the model: `const step = lnic.step` works.
   * @returns the number of frames moved
   * @throws ERR_VFIO_LNIC_NOT_STEPPED while a threaded scheduler runs the model; ERR_VFIO_MOCK_DEVICE_GONE
   */
  readonly step: (budget?: number, advanceNs?: number) => number;
  readonly #c: NativeLnicControl;

  /** @internal */
  constructor(token: unknown, c: NativeLnicControl) {
    checkConstruct(token, 'LnicControl');
    this.#c = c;
    this.step = c.step;
  }

  static #of(self: unknown): NativeLnicControl {
    if (typeof self !== 'object' || self === null || !(#c in self)) throw invalidThis('LnicControl');
    return (self as LnicControl).#c;
  }

  /** The scheduler running the model now. */
  get scheduler(): LnicScheduler {
    return LnicControl.#of(this).scheduler();
  }

  /**
   * Switches scheduler. `cpu` pins the model's thread to one CPU (threaded schedulers).
   * @throws TypeError for an unknown scheduler or option; ERR_VFIO_MOCK_DEVICE_GONE
   */
  setScheduler(mode: LnicScheduler, options: { cpu?: number } = {}): void {
    const c = LnicControl.#of(this);
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    checkKeys(options, 'setScheduler() options', ['cpu']);
    const cpu = options.cpu ?? -1;
    if (typeof cpu !== 'number') throw invalidArgType('options.cpu', 'of type number', cpu);
    if (!Number.isInteger(cpu) || cpu < -1 || cpu > 1023) throw outOfRange('options.cpu', 'an integer from 0 to 1023', cpu);
    c.setScheduler(mode, cpu);
  }

  /** What the model has done so far. */
  counters(): LnicCounters {
    return LnicControl.#of(this).counters();
  }

  /**
   * How long a reset keeps STATUS.READY clear, in ns of model time (default 10 000). Stepped, the
   * model's time moves only by step()'s `advanceNs`.
   */
  set resetDelayNs(ns: number) {
    const c = LnicControl.#of(this);
    if (typeof ns !== 'number') throw invalidArgType('resetDelayNs', 'of type number', ns);
    if (!Number.isSafeInteger(ns) || ns < 0) throw outOfRange('resetDelayNs', 'an integer >= 0', ns);
    c.setResetDelay(ns);
  }

  /**
   * Records the next `frames` frames the device sends to the wire (TX in generator and sink
   * modes), each up to 2048 bytes; {@link takeCapture} returns them. 0 stops recording.
   */
  capture(frames: number): void {
    const c = LnicControl.#of(this);
    if (typeof frames !== 'number') throw invalidArgType('frames', 'of type number', frames);
    if (!Number.isInteger(frames) || frames < 0 || frames > 0xffffffff) throw outOfRange('frames', 'an integer >= 0', frames);
    c.setCapture(frames);
  }

  /** The frames recorded since {@link capture}, oldest first (and forgets them). */
  takeCapture(): Uint8Array[] {
    return LnicControl.#of(this).takeCapture();
  }

  /** @internal The C hooks of the model, for the benchmark's native driver. */
  _hooks(): unknown {
    return LnicControl.#of(this).hooks();
  }
}

const kMaxDma = 2 ** 30;

function checkIova(iova: unknown): void {
  if (typeof iova !== 'bigint') throw invalidArgType('iova', 'of type bigint', iova);
  if (BigInt.asUintN(64, iova) !== iova) throw outOfRange('iova', '>= 0n and < 2n ** 64n', iova);
}

function deviceGone(name: string, renamed: boolean): Error {
  return Object.assign(new Error(`mock device ${name} was removed` +
    (renamed ? ' (a rescan made a new device of that name: reach it with kernel.device(name))' : '')),
  { code: 'ERR_VFIO_MOCK_DEVICE_GONE' });
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
