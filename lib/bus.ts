/**
 * The CDX bus: discovery through sysfs, binding to vfio-cdx, and opening
 * devices. Every path is built from a validated device name, so nothing a
 * caller passes can reach a file outside /sys/bus/cdx or /dev/vfio.
 */
import { Device } from './device';
import { checkKeys, invalidArgType, invalidArgValue, invalidThis, kConstruct, VfioError } from './errors';
import { nativeKernel, type Kernel } from './kernel';
import type { NativeKernelHandle } from './native';

const BUS = '/sys/bus/cdx';
const DRIVER = 'vfio-cdx';
const NAME_RE = /^cdx-[0-9a-f]{2}:[0-9a-f]{2}$/;
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

/** Checks a CDX device name ('cdx-XX:YY', lower-case hex). @internal */
export function checkDeviceName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  if (!NAME_RE.test(name)) throw invalidArgValue('name', name, "must be a CDX device name such as 'cdx-00:00'");
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
    return typeof this.#k.stat(BUS) !== 'number';
  }

  /**
   * All CDX devices (bus devices `cdx-BB` excluded), sorted by name.
   * @throws VfioError (ENOENT when there is no CDX bus)
   */
  list(): CdxDeviceEntry[] {
    CdxBus.#check(this);
    const names = this.#readDir(`${BUS}/devices`);
    return names.filter((n) => NAME_RE.test(n)).sort().map((n) => this.#entry(n));
  }

  /**
   * One device's sysfs description.
   * @throws VfioError ENOENT for an unknown device
   */
  device(name: string): CdxDeviceEntry {
    CdxBus.#check(this);
    checkDeviceName(name);
    this.#stat(`${BUS}/devices/${name}`);
    return this.#entry(name);
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
    const dev = `${BUS}/devices/${checkDeviceName(name)}`;
    this.#stat(dev);
    const current = this.#driverOf(name);
    if (current === DRIVER) return;
    if (typeof this.#k.stat(`${BUS}/drivers/${DRIVER}`) === 'number') {
      throw new VfioError(2, 'stat', undefined, `${BUS}/drivers/${DRIVER}`,
        'the vfio-cdx driver is not loaded: run `modprobe vfio-cdx` (kernel 6.5+ with CONFIG_VFIO_CDX)');
    }
    this.#write(`${dev}/driver_override`, DRIVER, name);
    if (current !== null) this.#write(`${dev}/driver/unbind`, name, name);
    const rc = this.#k.writeFile(`${BUS}/drivers/${DRIVER}/bind`, name);
    if (rc < 0) throw this.#bindError(-rc, name);
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
    const dev = `${BUS}/devices/${checkDeviceName(name)}`;
    this.#stat(dev);
    if (this.#driverOf(name) !== null) {
      this.#refuseIfOpenHere(name, 'unbind');
      this.#write(`${dev}/driver/unbind`, name, name);
    }
    this.#write(`${dev}/driver_override`, '\n', name);
  }

  /**
   * Resets the device through sysfs (`reset`), without opening it.
   * @throws VfioError with the controller's errno (ENOENT, with a hint, for a device that does not exist)
   */
  reset(name: string): void {
    CdxBus.#check(this);
    const dev = `${BUS}/devices/${checkDeviceName(name)}`;
    this.#write(`${dev}/reset`, '1', name);
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
    const dev = `${BUS}/devices/${checkDeviceName(name)}`;
    this.#stat(dev);
    this.#refuseIfOpenHere(name, 'remove');
    this.#write(`${dev}/remove`, '1', name);
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
    for (const name of this.#k.openHere()) this.#refuseIfOpenHere(name, 'rescan');
    this.#write(`${BUS}/rescan`, '1', '');
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

  #entry(name: string): CdxDeviceEntry {
    const dev = `${BUS}/devices/${name}`;
    const hex = (attr: string) => Number.parseInt(this.#read(`${dev}/${attr}`).trim(), 16);
    const override = this.#read(`${dev}/driver_override`).trim();
    const group = this.#k.readLink(`${dev}/iommu_group`);
    const vfioDev = this.#k.readDir(`${dev}/vfio-dev`);
    return {
      name,
      vendorId: hex('vendor'),
      deviceId: hex('device'),
      subsystemVendorId: hex('subsystem_vendor'),
      subsystemDeviceId: hex('subsystem_device'),
      classCode: hex('class'),
      revision: hex('revision'),
      driver: this.#driverOf(name),
      driverOverride: override === '(null)' ? null : override,
      iommuGroup: typeof group === 'string' ? Number(group.slice(group.lastIndexOf('/') + 1)) : null,
      vfioDevice: typeof vfioDev === 'number' ? null : vfioDev.find((n) => n.startsWith('vfio')) ?? null,
      modalias: this.#read(`${dev}/modalias`).trim(),
    };
  }

  #driverOf(name: string): string | null {
    const link = this.#k.readLink(`${BUS}/devices/${name}/driver`);
    if (typeof link === 'number') {
      if (link === -2) return null;
      throw new VfioError(-link, 'readlink', undefined, `${BUS}/devices/${name}/driver`);
    }
    return link.slice(link.lastIndexOf('/') + 1);
  }

  #read(path: string): string {
    const r = this.#k.readFile(path);
    if (typeof r === 'number') throw new VfioError(-r, 'read', undefined, path);
    return r;
  }

  #readDir(path: string): string[] {
    const r = this.#k.readDir(path);
    if (typeof r === 'number') {
      const e = new VfioError(-r, 'scandir', undefined, path);
      if (r === -2 && path.startsWith(BUS)) e.addHint('this kernel has no CDX bus (CONFIG_CDX_BUS, arm64 Versal/Versal Net)');
      throw e;
    }
    return r;
  }

  #stat(path: string): void {
    const r = this.#k.stat(path);
    if (typeof r === 'number') {
      const e = new VfioError(-r, 'stat', undefined, path);
      if (r === -2) this.#noDeviceHint(e);
      throw e;
    }
  }

  // ENOENT under /sys/bus/cdx: either there is no bus at all (the words list() uses) or no such device.
  #noDeviceHint(e: VfioError): void {
    if (typeof this.#k.stat(BUS) === 'number') e.addHint(NO_BUS);
    else if (e.path?.startsWith(`${BUS}/devices/`)) e.addHint('no such CDX device');
  }

  #write(path: string, data: string, device: string): void {
    const rc = this.#k.writeFile(path, data);
    if (rc < 0) {
      const e = new VfioError(-rc, 'write', undefined, path);
      if (device) e.device = device;
      if (rc === -2) this.#noDeviceHint(e);
      if (rc === -13 || rc === -1) {
        e.addHint('CDX sysfs attributes can be written by root only: run this as root, or let a privileged ' +
          'service bind the device and give this user access to its /dev/vfio node');
      }
      throw e;
    }
  }

  // The kernel would block the write until this very thread closes the device: never returns.
  #refuseIfOpenHere(name: string, what: string): void {
    if (this.#k.openHere().includes(name)) {
      throw Object.assign(new Error(`${name} is open in this thread: ${what} would block until it is closed, ` +
        'which can never happen while this thread waits (close the Device first)'), { code: 'ERR_VFIO_DEVICE_OPEN' });
    }
  }

  #bindError(errno: number, name: string): VfioError {
    const e = new VfioError(errno, 'write', undefined, `${BUS}/drivers/${DRIVER}/bind`);
    e.device = name;
    if (errno === 22) {
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
    } else if (errno === 16) {
      e.addHint(`${name} is already bound to a driver`);
    } else if (errno === 19) {
      e.addHint(`vfio-cdx does not match ${name}: driver_override must be "vfio-cdx"`);
    }
    return e;
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
