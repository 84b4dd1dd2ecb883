// cdx_sysfs.h — the CDX bus as sysfs shows it, in one place: its paths, the device-name check,
// the parsing of a device's attributes, driver, IOMMU group and vfio-dev entry, and the writes
// that bind, unbind, reset, remove and rescan (docs/kernel-rules.md K-BUS, K-DRV).
//
// Above the seam: every read and write goes through Sys, so each is traced (NODE_DEBUG=vfio-cdx)
// and a failure is a SysError naming the file. Used by Device::Open and by the bus API (CdxBus in
// lib/bus.ts, through NativeKernel), which adds the hints. Holds a share of the Sys it is given and
// nothing else; the caller's thread (one JS environment) only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sys.h"

namespace vfiocdx {

// A CDX device as sysfs describes it. Numbers that do not parse are NaN, as JavaScript's parseInt
// would give.
struct CdxEntry {
  std::string name;
  double vendor_id, device_id, subsystem_vendor_id, subsystem_device_id, class_code, revision;
  std::optional<std::string> driver;           // the bound driver's name
  std::optional<std::string> driver_override;  // unset prints "(null)" (K-BUS-2)
  std::optional<double> iommu_group;           // from the iommu_group link, when there is one
  std::optional<std::string> vfio_device;      // vfio-dev/vfioM when bound to vfio-cdx
  std::string modalias;
};

class CdxSysfs {
 public:
  static constexpr const char* kBus = "/sys/bus/cdx";
  static constexpr const char* kDriverName = "vfio-cdx";

  // True for 'cdx-BB:DD' in lower-case hex (K-BUS-1): the only names that build a path here.
  static bool IsValidDeviceName(const std::string& name);
  // /sys/bus/cdx/devices/<name>
  static std::string DevicePath(const std::string& name);

  // `open_here(name)`: whether this environment holds the device open. Unbind, remove and rescan
  // would block until it is closed (K-CORE-8), which could never happen: they refuse instead.
  explicit CdxSysfs(std::shared_ptr<const Sys> sys, std::function<bool(const std::string&)> open_here = {})
      : sys_ptr_(std::move(sys)), sys_(*sys_ptr_), open_here_(std::move(open_here)) {}

  bool BusPresent() const;
  // Device names (bus devices cdx-BB left out), sorted. SysError "scandir" without a bus.
  std::vector<std::string> DeviceNames() const;
  CdxEntry Entry(const std::string& name) const;
  // SysError "stat" when the device does not exist.
  void CheckExists(const std::string& name) const;
  // The bound driver's name; nullopt when none (no `driver` link). Other readlink errors throw.
  std::optional<std::string> Driver(const std::string& name) const;
  // The device's vfio-dev/vfioM entry, or "" when it has none.
  std::string VfioDev(const std::string& name) const;
  // The IOMMU group number from the iommu_group link; SysError "readlink" when there is no link,
  // UsageError ERR_VFIO_BAD_GROUP when it does not end in a number.
  int IommuGroup(const std::string& name) const;

  // driver_override = vfio-cdx, unbind the current driver, bind through drivers/vfio-cdx/bind
  // (which reports the probe's errno, K-DRV-2). A device already bound to vfio-cdx is left alone.
  void Bind(const std::string& name) const;
  // Unbind the driver (if any), then clear driver_override.
  void Unbind(const std::string& name) const;
  void Reset(const std::string& name) const;
  void Remove(const std::string& name) const;
  // `open` lists every device this environment holds open: rescan waits for every open device.
  void Rescan(const std::vector<std::string>& open) const;

 private:
  void RefuseIfOpenHere(const std::string& name, const char* what) const;
  [[noreturn]] static void Refuse(const std::string& name, const char* what);
  std::shared_ptr<const Sys> sys_ptr_;
  const Sys& sys_;
  std::function<bool(const std::string&)> open_here_;
};

}  // namespace vfiocdx
