// driver_core.cc — drivers/base/bus.c and drivers/base/dd.c as the CDX bus uses them: bind,
// unbind, drivers_probe, drivers_autoprobe, driver_override and the probe/release of vfio-cdx.
//
// The only driver on the mock's bus is vfio-cdx (when KernelConfig::vfio_cdx_loaded). Runs with
// Impl::mu held; releasing a driver may wait (mutex released) for the device's last file.
#include <cerrno>

#include "mock_internal.h"

namespace vfiocdx {
namespace mock {

// cdx_dma_configure() (drivers/cdx/cdx.c:346-367), the bus's dma_configure(), which
// really_probe() calls before the driver's probe: of_dma_configure_id() on the controller's DT
// node puts the device behind its IOMMU (of_iommu_configure → iommu_probe_device: a new group)
// — but only when the node has dma-ranges, since force_dma is false. The group stays when the
// probe fails and after unbind; it goes with the device.
void MockKernel::Impl::CdxDmaConfigure(CdxDevice* dev) {
  if (config.iommu && config.dt_dma_ranges && dev->iommu_group < 0) {
    IommuGroupAddDevice(IommuGroupAlloc(dev->spec.iommu_group), dev);
  }
}

// vfio_cdx_probe() (drivers/vfio/cdx/main.c:313-333) via cdx_probe() and really_probe()
// (dd.c:662-785): a failed probe comes back as a positive errno (dd.c:732).
int MockKernel::Impl::ReallyProbe(CdxDevice* dev) {
  CdxDmaConfigure(dev);
  int ret = VfioRegisterGroupDev(dev);
  if (ret) return -ret;
  dev->bound = true;
  return 0;
}

// __driver_probe_device() (dd.c:838-886) + device_driver_attach() (dd.c:1216-1229).
int MockKernel::Impl::DeviceDriverAttach(CdxDevice* dev) {
  if (dev->dead) return -ENODEV;
  if (dev->bound) return -EBUSY;
  int ret = ReallyProbe(dev);
  return ret > 0 ? -ret : ret;
}

// device_attach() → __device_attach() (dd.c:1111-1169): try every matching driver, ignore probe
// errors (dd.c:1037-1040). Returns 1 if bound, 0 otherwise.
int MockKernel::Impl::DeviceAttach(CdxDevice* dev) {
  if (dev->dead) return 0;
  if (dev->bound) return 1;
  if (!CdxBusMatch(dev)) return 0;
  return ReallyProbe(dev) == 0 ? 1 : 0;
}

// __device_release_driver() (dd.c:1336-1381) → cdx_remove() → vfio_cdx_remove() (main.c:335-344).
// A concurrent release (device_lock held by someone else) is waited for, as the lock would be.
void MockKernel::Impl::DeviceReleaseDriver(CdxDevice* dev, Lock& lk) {
  if (!dev->bound) return;
  if (dev->unbinding) {
    std::string name = dev->name;
    cv.wait(lk, [&] {
      auto it = devices.find(name);
      return it == devices.end() || it->second.get() != dev || !dev->unbinding;
    });
    return;
  }
  dev->unbinding = true;  // driver_sysfs_remove(): the driver link goes first
  VfioUnregisterGroupDev(dev->vdev.get(), lk);
  device_indexes.erase(dev->vdev->index);  // vfio_put_device() → ida_free()
  dev->vdev.reset();
  dev->bound = false;
  dev->unbinding = false;
  cv.notify_all();
}

// bind_store() (bus.c:256-276).
long MockKernel::Impl::BindStore(const std::string& buf) {
  CdxDevice* dev = BusFindDeviceByName(buf);
  if (!dev || !CdxBusMatch(dev)) return -ENODEV;
  int err = DeviceDriverAttach(dev);
  return err ? err : static_cast<long>(buf.size());
}

// unbind_store() (bus.c:235-249).
long MockKernel::Impl::UnbindStore(const std::string& buf, Lock& lk) {
  CdxDevice* dev = BusFindDeviceByName(buf);
  if (!dev || !dev->bound || dev->unbinding) return -ENODEV;
  DeviceReleaseDriver(dev, lk);
  return static_cast<long>(buf.size());
}

// drivers_probe_store() (bus.c:309-322) → bus_rescan_devices_helper() (bus.c:819-832): success
// even when the probe failed.
long MockKernel::Impl::DriversProbeStore(const std::string& buf) {
  CdxDevice* dev = BusFindDeviceByName(buf);
  if (!dev) return -ENODEV;
  if (!dev->bound) DeviceAttach(dev);
  return static_cast<long>(buf.size());
}

// drivers_autoprobe_store() (bus.c:292-307): '0' turns it off, anything else on.
long MockKernel::Impl::DriversAutoprobeStore(const std::string& buf) {
  drivers_autoprobe = !(buf.size() > 0 && buf[0] == '0');
  return static_cast<long>(buf.size());
}

// driver_override_store() → __device_set_driver_override() (dd.c:383-440).
long MockKernel::Impl::DriverOverrideStore(CdxDevice* dev, const std::string& buf) {
  if (buf.size() >= page_size - 1) return -EINVAL;
  std::string s = buf.substr(0, buf.find('\0'));  // strlen(): stop at an embedded NUL
  if (s.empty()) {
    dev->has_override = false;
    dev->driver_override.clear();
    return static_cast<long>(buf.size());
  }
  size_t nl = s.find('\n');
  if (nl == 0) {  // "\n" clears
    dev->has_override = false;
    dev->driver_override.clear();
  } else {
    dev->has_override = true;
    dev->driver_override = nl == std::string::npos ? s : s.substr(0, nl);
  }
  return static_cast<long>(buf.size());
}

}  // namespace mock
}  // namespace vfiocdx
