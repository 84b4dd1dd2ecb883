// cdx_bus.cc — drivers/cdx/cdx.c and cdx_msi.c: the CDX bus, its devices, their sysfs attributes
// and the helpers drivers call (cdx_dev_reset, cdx_set/clear_master, cdx_enable/disable_msi).
//
// Devices are owned by Impl::devices and freed by CdxUnregisterDevice(); their region memory is
// owned by Impl::regions and outlives them. Runs with Impl::mu held.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mock_internal.h"

namespace vfiocdx {
namespace mock {
namespace {

constexpr unsigned kMaxCdxDevResources = 4;  // MAX_CDX_DEV_RESOURCES
constexpr unsigned kCdxBusNumMask = 0xf;     // CDX_BUS_NUM_MASK; the mock's controller id is 0

std::string BusName(uint8_t bus_num) {
  char buf[16];
  snprintf(buf, sizeof(buf), "cdx-%02x", bus_num & kCdxBusNumMask);
  return buf;
}

std::string DeviceName(uint8_t bus_num, uint8_t dev_num) {
  char buf[24];
  snprintf(buf, sizeof(buf), "cdx-%02x:%02x", bus_num & kCdxBusNumMask, dev_num);
  return buf;
}

int ValidateSpec(const DeviceSpec& spec, std::string* error) {
  auto fail = [error](const std::string& why) {
    if (error) *error = why;
    return -EINVAL;
  };
  if (spec.bus > kCdxBusNumMask) return fail("bus must be 0..15");
  if (spec.regions.size() > kMaxCdxDevResources) return fail("at most 4 regions (MAX_CDX_DEV_RESOURCES)");
  for (const RegionSpec& r : spec.regions) {
    if (r.size == 0) return fail("a region's size must be > 0");
    if (r.init.size() > r.size) return fail("a region's init is larger than the region");
  }
  if (spec.class_code > 0xffffff) return fail("class_code is 24 bits");
  return DeviceModel::Validate(spec, error);
}

// sysfs_streq(): equal, ignoring one trailing newline on either side.
bool SysfsStreq(const std::string& a, const std::string& b) {
  auto strip = [](const std::string& s) {
    return (!s.empty() && s.back() == '\n') ? s.substr(0, s.size() - 1) : s;
  };
  return strip(a) == strip(b);
}

}  // namespace

// kstrtobool() (lib/kstrtox.c:348-388).
int Kstrtobool(const std::string& s, bool* res) {
  if (s.empty()) return -EINVAL;
  switch (s[0]) {
    case 'y': case 'Y': case 't': case 'T': case '1': *res = true; return 0;
    case 'n': case 'N': case 'f': case 'F': case '0': *res = false; return 0;
    case 'o': case 'O':
      if (s.size() < 2) return -EINVAL;
      if (s[1] == 'n' || s[1] == 'N') { *res = true; return 0; }
      if (s[1] == 'f' || s[1] == 'F') { *res = false; return 0; }
      return -EINVAL;
    default: return -EINVAL;
  }
}

std::string MockKernel::Impl::DevicePath(const CdxDevice* dev) const {
  std::string bus = "/sys/devices/platform/cdx-mock/" + BusName(dev->bus_num);
  return dev->is_bus ? bus : bus + "/" + dev->name;
}

RegionMemory* MockKernel::Impl::AllocRegion(const std::string& dev_name, uint32_t index, const RegionSpec& spec) {
  auto r = std::make_unique<RegionMemory>();
  size_t unit = std::max(page_size, host_page);
  r->mapped = static_cast<size_t>((spec.size + unit - 1) / unit * unit);
  std::string name = "vfio-mock:region:" + dev_name + ":" + std::to_string(index);
  r->memfd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (r->memfd < 0) return nullptr;
  if (ftruncate(r->memfd, static_cast<off_t>(r->mapped)) < 0) {
    close(r->memfd);
    return nullptr;
  }
  void* p = mmap(nullptr, r->mapped, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
  if (p == MAP_FAILED) {
    close(r->memfd);
    return nullptr;
  }
  r->view = static_cast<uint8_t*>(p);
  r->size = spec.size;
  r->read_only = spec.read_only;
  r->init = spec.init;
  if (spec.addr != 0) {
    r->addr = spec.addr;
  } else {
    constexpr uint64_t kMiB = 1ull << 20;
    r->addr = next_region_addr;
    next_region_addr += (spec.size + kMiB - 1) / kMiB * kMiB;
  }
  regions.push_back(std::move(r));
  return regions.back().get();
}

// cdx_bus_add() (cdx.c:855-891): the bus is itself a device on the cdx bus, enabled when added.
CdxDevice* MockKernel::Impl::CdxBusAdd(uint8_t bus_num) {
  auto bus = std::make_unique<CdxDevice>();
  bus->name = BusName(bus_num);
  bus->is_bus = true;
  bus->bus_num = bus_num;
  bus->enabled = true;
  CdxDevice* raw = bus.get();
  devices[raw->name] = std::move(bus);
  return raw;
}

// cdx_device_add() (cdx.c:762-853), as the controller's scan() calls it.
int MockKernel::Impl::CdxDeviceAdd(const DeviceSpec& spec, std::string* error) {
  int ret = ValidateSpec(spec, error);
  if (ret) return ret;
  std::string name = DeviceName(spec.bus, spec.dev);
  if (devices.count(name)) {
    if (error) *error = name + " already exists";
    return -EEXIST;
  }
  if (!devices.count(BusName(spec.bus))) CdxBusAdd(spec.bus);
  auto dev = std::make_unique<CdxDevice>();
  dev->name = name;
  dev->instance = next_instance++;
  dev->bus_num = spec.bus;
  dev->dev_num = spec.dev;
  dev->spec = spec;
  dev->num_msi = spec.num_msi;  // the controller has an MSI domain
  for (uint32_t i = 0; i < spec.regions.size(); i++) {
    RegionMemory* r = AllocRegion(name, i, spec.regions[i]);
    if (!r) {
      if (error) *error = std::string("region memory: ") + strerror(errno);
      return -ENOMEM;
    }
    dev->res.push_back(r);
  }
  CdxDevice* raw = dev.get();
  devices[name] = std::move(dev);
  raw->model = DeviceModel::Create(this, raw);
  ModelPowerOn(raw);
  ModelStart(raw);  // the device runs from now on (it waits for the mutex we hold)
  // No IOMMU group yet: on the CDX bus the IOMMU is configured by the bus's dma_configure() when a
  // driver probes (driver_core.cc: ReallyProbe), not when the device is added.
  // bus_probe_device(): vfio-cdx never matches a device without driver_override, so autoprobe
  // cannot bind anything here.
  if (drivers_autoprobe) DeviceAttach(raw);
  return 0;
}

// cdx_unregister_device() (cdx.c:147-170). For a bound device, device_del() releases the driver,
// which for vfio-cdx waits until the last device file is closed (K-CORE-8). A device model's thread
// is stopped and joined before the device is freed.
void MockKernel::Impl::CdxUnregisterDevice(CdxDevice* dev, Lock& lk) {
  std::string name = dev->name;
  if (dev->is_bus) {
    std::vector<std::string> children;
    for (auto& kv : devices) {
      CdxDevice* d = kv.second.get();
      if (!d->is_bus && !d->dead && d->bus_num == dev->bus_num) children.push_back(kv.first);
    }
    for (const std::string& c : children) {
      auto it = devices.find(c);
      if (it != devices.end() && !it->second->dead) CdxUnregisterDevice(it->second.get(), lk);
    }
    dev->enabled = false;  // bus_disable
  }
  dev->dead = true;  // device_del(): bus_remove_device() unlinks it first
  DeviceReleaseDriver(dev, lk);
  if (dev->iommu_group >= 0) IommuGroupRemoveDevice(dev);
  ModelStop(dev, lk);  // the device's thread ends with it (joined with the mutex released)
  devices.erase(name);
}

// cdx_dev_reset() (cdx.c:95-119): the controller's dev_configure(CDX_DEV_RESET_CONF).
int MockKernel::Impl::CdxDevReset(CdxDevice* dev) { return CdxConfigureDevice(dev, DevConfig::kReset); }

// cdx_set_master() / cdx_clear_master() (cdx.c:223-252).
int MockKernel::Impl::CdxSetMaster(CdxDevice* dev) { return CdxConfigureDevice(dev, DevConfig::kBusMasterEnable); }
int MockKernel::Impl::CdxClearMaster(CdxDevice* dev) {
  return CdxConfigureDevice(dev, DevConfig::kBusMasterDisable);
}

// cdx_enable_msi() / cdx_disable_msi() (cdx_msi.c:68-93).
int MockKernel::Impl::CdxEnableMsi(CdxDevice* dev) { return CdxConfigureDevice(dev, DevConfig::kMsiEnable); }
void MockKernel::Impl::CdxDisableMsi(CdxDevice* dev) { CdxConfigureDevice(dev, DevConfig::kMsiDisable); }

// cdx_bus_match() (cdx.c:263-300) against the only driver, vfio-cdx, whose id table is a single
// override_only entry: it matches iff driver_override is exactly "vfio-cdx".
bool MockKernel::Impl::CdxBusMatch(const CdxDevice* dev) const {
  if (dev->is_bus || !config.vfio_cdx_loaded) return false;
  return dev->has_override && dev->driver_override == "vfio-cdx";
}

// bus_find_device_by_name(): device_match_name() is sysfs_streq().
CdxDevice* MockKernel::Impl::BusFindDeviceByName(const std::string& buf) {
  for (auto& kv : devices) {
    if (!kv.second->dead && SysfsStreq(kv.first, buf)) return kv.second.get();
  }
  return nullptr;
}

// The show() methods of cdx.c:382-392, 441-450, 479-484 and driver_override_show (bus.c:479-485).
int MockKernel::Impl::CdxDeviceShow(CdxDevice* dev, const std::string& attr, std::string* out) {
  char buf[96];
  const DeviceSpec& s = dev->spec;
  if (attr == "driver_override") {
    *out = (dev->has_override ? dev->driver_override : "(null)") + "\n";
    return 0;
  }
  if (dev->is_bus) {
    if (attr != "enable") return -ENOENT;
    snprintf(buf, sizeof(buf), "%u\n", dev->enabled ? 1u : 0u);
  } else if (attr == "vendor") {
    snprintf(buf, sizeof(buf), "0x%04x\n", s.vendor);
  } else if (attr == "device") {
    snprintf(buf, sizeof(buf), "0x%04x\n", s.device);
  } else if (attr == "subsystem_vendor") {
    snprintf(buf, sizeof(buf), "0x%04x\n", s.subsystem_vendor);
  } else if (attr == "subsystem_device") {
    snprintf(buf, sizeof(buf), "0x%04x\n", s.subsystem_device);
  } else if (attr == "revision") {
    snprintf(buf, sizeof(buf), "0x%02x\n", s.revision);
  } else if (attr == "class") {
    snprintf(buf, sizeof(buf), "0x%06x\n", s.class_code);
  } else if (attr == "modalias") {
    snprintf(buf, sizeof(buf), "cdx:v%04Xd%04Xsv%04Xsd%04Xc%06X\n", s.vendor, s.device, s.subsystem_vendor,
             s.subsystem_device, s.class_code);
  } else {
    return -ENOENT;
  }
  *out = buf;
  return 0;
}

// remove_store() (cdx.c:394-416).
static long RemoveStoreChecks(const std::string& buf) {
  bool val = false;
  if (Kstrtobool(buf, &val) < 0 || !val) return -EINVAL;
  return 0;
}

// The store() methods: remove_store, reset_store (cdx.c:418-439), enable_store (cdx.c:452-477)
// and the driver core's driver_override_store (bus.c:466-477).
long MockKernel::Impl::CdxDeviceStore(CdxDevice* dev, const std::string& attr, const std::string& buf, Lock& lk) {
  long count = static_cast<long>(buf.size());
  if (attr == "driver_override") return DriverOverrideStore(dev, buf);
  bool val = false;
  if (attr == "remove") {
    long ret = RemoveStoreChecks(buf);
    if (ret) return ret;
    CdxUnregisterDevice(dev, lk);
    return count;
  }
  if (Kstrtobool(buf, &val) < 0) return -EINVAL;
  if (attr == "reset") {
    if (!val) return -EINVAL;
    if (!dev->is_bus) {
      int ret = CdxDevReset(dev);
      return ret < 0 ? ret : count;
    }
    for (auto& kv : devices) {  // device_for_each_child(): stops at the first error
      CdxDevice* d = kv.second.get();
      if (d->is_bus || d->dead || d->bus_num != dev->bus_num) continue;
      int ret = CdxDevReset(d);
      if (ret) return ret;
    }
    return count;
  }
  if (attr == "enable") {  // bus devices only; the mock controller's bus_enable/disable succeed
    dev->enabled = val;
    return count;
  }
  return -EIO;
}

// rescan_store() (cdx.c:571-611): unregister every device, then run the controller's scan() again.
// Devices come back as new devices (no driver_override, fresh memory), exactly as after a real rescan.
long MockKernel::Impl::RescanStore(const std::string& buf, Lock& lk) {
  bool val = false;
  if (Kstrtobool(buf, &val) < 0 || !val) return -EINVAL;
  std::vector<std::string> buses;
  for (auto& kv : devices) {
    if (kv.second->is_bus && !kv.second->dead) buses.push_back(kv.first);
  }
  for (const std::string& b : buses) {
    auto it = devices.find(b);
    if (it != devices.end() && !it->second->dead) CdxUnregisterDevice(it->second.get(), lk);
  }
  for (const DeviceSpec& spec : scan_list) {
    if (devices.count(DeviceName(spec.bus, spec.dev))) continue;  // still being removed elsewhere
    CdxDeviceAdd(spec, nullptr);
  }
  return static_cast<long>(buf.size());
}

}  // namespace mock
}  // namespace vfiocdx
