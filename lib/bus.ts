/**
 * The CDX bus: discovery through sysfs, binding to vfio-cdx, and opening
 * devices. Every path is built from a validated device name, so nothing a
 * caller passes can reach a file outside /sys/bus/cdx or /dev/vfio.
 */
import { Device } from './device';
import { checkKeys, invalidArgType, invalidArgValue, invalidThis, kConstruct, VfioError } from './errors';
import { nativeKernel, type Kernel } from './kernel';
import { native, type NativeKernelHandle } from './native';

const BUS = '/sys/bus/cdx';
const DRIVER = 'vfio-cdx';
const NO_BUS = 'this kernel has no CDX bus (CONFIG_CDX_BUS, arm64 Versal/Versal Net)';

/** A CDX device as sysfs describes it. */
export interface CdxDeviceEntry {
  /** 'cdx-BB:DD' */
  name: string;
  vendorId: number;
  deviceId: number;
  subsystemVendorId: number;
  subsystemDeviceId: number;
  /** 24-bit class code. */
  classCode: number;
  revision: number;
  /** The bound driver's name, or null. */
  driver: string | null;
  /** driver_override, or null when unset. */
  driverOverride: string | null;
  /** IOMMU group number, or null when the device has none (no IOMMU and not bound in no-IOMMU mode). */
  iommuGroup: number | null;
  /** The VFIO device entry (vfio-dev/vfioM) when bound to vfio-cdx, else null. */
  vfioDevice: string | null;
  modalias: string;
}

/** Options of {@link CdxBus}. */
export interface CdxBusOptions {
  /** The kernel to talk to: a MockKernel, or (default) the running system's. */
  kernel?: Kernel;
}

/** Options of {@link CdxBus.open}. */
export interface OpenOptions {
  /**
   * 'group': /dev/vfio/N (or noiommu-N) through a VFIO container;
   * 'cdev': /dev/vfio/devices/vfioM with iommufd;
   * 'auto' (default): cdev when the kernel offers it for this device, else group.
   */
  path?: 'auto' | 'group' | 'cdev';
}

/** True for a CDX device name ('cdx-XX:YY', lower-case hex); the one check is native (cdx_sysfs.cc). @internal */
export function isDeviceName(name: string): boolean {
  return native().isDeviceName(name);
}

/** Checks a CDX device name ('cdx-XX:YY', lower-case hex). @internal */
export function checkDeviceName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  if (!isDeviceName(name)) throw invalidArgValue('name', name, "must be a CDX device name such as 'cdx-00:00'");
  return name;
}

/** The CDX bus of one kernel. */
export class CdxBus {
  readonly #k: NativeKernelHandle;

  /** @throws TypeError when `kernel` is not a Kernel */
  constructor(options: CdxBusOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    checkKeys(options, 'CdxBus options', ['kernel']);
    this.#k = nativeKernel(options.kernel);
  }

  static #check(self: unknown): asserts self is CdxBus {
    if (typeof self !== 'object' || self === null || !(#k in self)) throw invalidThis('CdxBus');
  }

  /** True when the kernel has a CDX bus (/sys/bus/cdx exists). */
  get present(): boolean {
    CdxBus.#check(this);
    return this.#k.busPresent();
  }

  /**
   * All CDX devices (bus devices `cdx-BB` excluded), sorted by name.
   * @throws VfioError (ENOENT when there is no CDX bus)
   */
  list(): CdxDeviceEntry[] {
    CdxBus.#check(this);
    try {
      return this.#k.busList();
    } catch (e) {
      if (e instanceof VfioError && e.code === 'ENOENT' && e.syscall === 'scandir' && e.path?.startsWith(BUS)) {
        e.addHint(NO_BUS);
      }
      throw e;
    }
  }

  /**
   * One device's sysfs description.
   * @throws VfioError ENOENT for an unknown device
   */
  device(name: string): CdxDeviceEntry {
    CdxBus.#check(this);
    checkDeviceName(name);
    return this.#sysfs(name, () => this.#k.busDevice(name));
  }

  /**
   * Binds the device to vfio-cdx: sets driver_override, unbinds any other
   * driver, and binds through /sys/bus/cdx/drivers/vfio-cdx/bind, which reports
   * the probe's errno (writing drivers_probe would hide it). A device already
   * bound to vfio-cdx is left as it is. driver_override stays set after a
   * failure, as the kernel leaves it.
   * @throws VfioError with the probe's errno, and a hint for the known causes
   */
  bind(name: string): void {
    CdxBus.#check(this);
    checkDeviceName(name);
    this.#sysfs(name, () => this.#k.busBind(name));
  }

  /**
   * Unbinds the device from its driver and clears driver_override (so the
   * device can go back to its default driver). A device with no driver is left
   * as it is. Blocks while a process holds the device open (vfio-cdx has no
   * request callback to ask it to let go).
   * @throws VfioError
   */
  unbind(name: string): void {
    CdxBus.#check(this);
    checkDeviceName(name);
    this.#sysfs(name, () => this.#k.busUnbind(name));
  }

  /**
   * Resets the device through sysfs (`reset`), without opening it.
   * @throws VfioError with the controller's errno (ENOENT, with a hint, for a device that does not exist)
   */
  reset(name: string): void {
    CdxBus.#check(this);
    checkDeviceName(name);
    this.#sysfs(name, () => this.#k.busReset(name));
  }

  /**
   * Removes the device from the bus (sysfs `remove`): the kernel unbinds its driver and deletes
   * it; it comes back, as a new device with fresh state and no driver_override, only with
   * {@link rescan}. Like {@link unbind}, the kernel blocks the write until every process holding
   * the device open has closed it (vfio-cdx cannot ask them to), so this refuses when this thread
   * holds it open — that wait could never end.
   * @throws Error ERR_VFIO_DEVICE_OPEN when this thread has the device open; VfioError
   */
  remove(name: string): void {
    CdxBus.#check(this);
    checkDeviceName(name);
    this.#sysfs(name, () => this.#k.busRemove(name));
  }

  /**
   * Rescans the bus (sysfs `/sys/bus/cdx/rescan`): the kernel unregisters every CDX device, then
   * asks each controller to scan again, so every device comes back as a new device (no driver,
   * no driver_override, reset state). It blocks until every device that is open anywhere is
   * closed, so this refuses when this thread holds any device of this kernel open. Controllers
   * that are not device-tree nodes are not rescanned (the kernel answers EINVAL).
   * @throws Error ERR_VFIO_DEVICE_OPEN; VfioError
   */
  rescan(): void {
    CdxBus.#check(this);
    this.#sysfs('', () => this.#k.busRescan());
  }

  /**
   * Opens a device bound to vfio-cdx.
   * @throws VfioError from the failing call (with a hint for permission and group problems);
   *   Error ERR_VFIO_NOT_BOUND when the device is not bound to vfio-cdx;
   *   Error ERR_VFIO_GROUP_NOT_VIABLE (with the group's members) when other devices hold the group
   */
  open(name: string, options: OpenOptions = {}): Device {
    CdxBus.#check(this);
    checkDeviceName(name);
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    checkKeys(options, 'open() options', ['path']);
    const path = options.path ?? 'auto';
    if (path !== 'auto' && path !== 'group' && path !== 'cdev') {
      throw invalidArgValue('options.path', path, "must be 'auto', 'group' or 'cdev'");
    }
    try {
      return new Device(kConstruct, this.#k.openDevice(name, path));
    } catch (e) {
      if (e instanceof VfioError) this.#openHint(e, name);
      throw e;
    }
  }

  // Runs a sysfs operation of the native bus (src-native/cdx_sysfs.cc) and adds the hints this
  // layer knows to its VfioError: which file failed says which step did.
  #sysfs<T>(device: string, op: () => T): T {
    try {
      return op();
    } catch (e) {
      if (e instanceof VfioError) this.#sysfsHint(e, device);
      throw e;
    }
  }

  #sysfsHint(e: VfioError, device: string): void {
    const path = e.path ?? '';
    if (e.syscall === 'stat') {
      if (path === `${BUS}/drivers/${DRIVER}`) {
        e.addHint('the vfio-cdx driver is not loaded: run `modprobe vfio-cdx` (kernel 6.5+ with CONFIG_VFIO_CDX)');
      } else if (e.code === 'ENOENT') {
        this.#noDeviceHint(e);
      }
    } else if (e.syscall === 'write' && path === `${BUS}/drivers/${DRIVER}/bind`) {
      this.#bindHint(e, device);
    } else if (e.syscall === 'write') {
      if (device) e.device = device;
      if (e.code === 'ENOENT') this.#noDeviceHint(e);
      if (e.code === 'EACCES' || e.code === 'EPERM') {
        e.addHint('CDX sysfs attributes can be written by root only: run this as root, or let a privileged ' +
          'service bind the device and give this user access to its /dev/vfio node');
      }
    }
  }

  // ENOENT under /sys/bus/cdx: either there is no bus at all (the words list() uses) or no such device.
  #noDeviceHint(e: VfioError): void {
    if (typeof this.#k.stat(BUS) === 'number') e.addHint(NO_BUS);
    else if (e.path?.startsWith(`${BUS}/devices/`)) e.addHint('no such CDX device');
  }

  #bindHint(e: VfioError, name: string): void {
    e.device = name;
    if (e.code === 'EINVAL') {
      // __vfio_register_dev() checks the iommufd callbacks before it looks for
      // a group, so on a CONFIG_IOMMUFD kernel (it has /dev/iommu) the missing
      // .detach_ioas is the cause whenever a group could have been found.
      const hasGroup = typeof this.#k.readLink(`${BUS}/devices/${name}/iommu_group`) === 'string';
      const param = this.#k.readFile('/sys/module/vfio/parameters/enable_unsafe_noiommu_mode');
      const noiommuOn = typeof param === 'string' && /^[Yy1]/.test(param);
      const iommufd = typeof this.#k.stat('/dev/iommu') !== 'number';
      const detachIoas = 'this kernel has CONFIG_IOMMUFD=y, and vfio-cdx up to at least Linux 6.12 lacks the ' +
        '.detach_ioas callback that VFIO then requires, so registration fails with EINVAL (dmesg: "probe with driver ' +
        'vfio-cdx failed with error -22"). Use a kernel with CONFIG_IOMMUFD=n or with vfio-cdx patched to set ' +
        '.detach_ioas = vfio_iommufd_physical_detach_ioas';
      const iommus = this.#k.readDir('/sys/class/iommu');
      const iommu = Array.isArray(iommus) && iommus.length > 0 ? iommus.sort().join(', ') : null;
      if (iommufd && (hasGroup || noiommuOn)) {
        e.addHint(`vfio-cdx probe failed: ${detachIoas}`);
      } else if (!hasGroup && !noiommuOn && iommu !== null) {
        // The bus's dma_configure (cdx_dma_configure) ran at probe and gave no group.
        e.addHint(`vfio-cdx probe failed: ${name} has no IOMMU group although an IOMMU is registered (${iommu}). ` +
          'The CDX bus puts its devices behind the IOMMU only when the controller\'s device-tree node ' +
          '("xlnx,versal-net-cdx") has dma-ranges: cdx_dma_configure() calls of_dma_configure_id() with force_dma ' +
          'off, which stops before the IOMMU without them. Add dma-ranges (and iommu-map) to that node for ' +
          'IOMMU groups, or load vfio with enable_unsafe_noiommu_mode=1 for no-IOMMU groups (no DMA translation)' +
          (iommufd ? `; and note that ${detachIoas}` : ''));
      } else if (!hasGroup && !noiommuOn) {
        e.addHint(`vfio-cdx probe failed: ${name} has no IOMMU group. Without an IOMMU, load vfio with ` +
          'enable_unsafe_noiommu_mode=1 (CONFIG_VFIO_NOIOMMU) before binding' + (iommufd ? `; and note that ${detachIoas}` : ''));
      } else {
        e.addHint('vfio-cdx probe failed; see dmesg for the reason');
      }
    } else if (e.code === 'EBUSY') {
      e.addHint(`${name} is already bound to a driver`);
    } else if (e.code === 'ENODEV') {
      e.addHint(`vfio-cdx does not match ${name}: driver_override must be "vfio-cdx"`);
    }
  }

  #openHint(e: VfioError, name: string): void {
    e.device = name;
    const path = e.path ?? '';
    if (e.code === 'ENOENT' && path.startsWith(BUS)) {
      this.#noDeviceHint(e);
      return;
    }
    if ((e.code === 'EACCES' || e.code === 'EPERM') && path.startsWith('/dev/')) {
      const st = this.#k.stat(path);
      if (typeof st !== 'number') {
        const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
        e.addHint(`${path} has mode 0${mode}, owner uid ${st.uid} gid ${st.gid}; give this user access ` +
          '(a udev rule, or run as root)');
      }
      if (e.code === 'EPERM' && path.includes('noiommu')) {
        e.addHint('no-IOMMU groups also need CAP_SYS_RAWIO');
      }
    } else if (e.code === 'EBUSY' && /^\/dev\/vfio\/(noiommu-)?\d+$/.test(path)) {
      e.addHint('the IOMMU group is already open (another process, or another thread of this one)');
    } else if (e.code === 'EPERM' && e.request === 'VFIO_GROUP_GET_DEVICE_FD') {
      e.addHint('no-IOMMU devices need CAP_SYS_RAWIO');
    }
  }
}
