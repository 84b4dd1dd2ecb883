// cdx_sysfs.cc — see cdx_sysfs.h.
#include "cdx_sysfs.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace vfiocdx {

namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// sysfs prints ids as "0x%04x\n" (K-BUS-2); parsed like JavaScript's parseInt(s, 16): leading
// hex digits, an optional 0x, NaN when there are none.
double ParseHex(const std::string& text) {
  std::string s = Trim(text);
  size_t i = 0;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) i = 2;
  double v = 0;
  size_t start = i;
  for (; i < s.size(); i++) {
    char c = s[i];
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) break;
    v = v * 16 + d;
  }
  return i == start ? NAN : v;
}

// Number(text) for the last component of an iommu_group link: digits only, else NaN ("" is 0).
double ParseDecimal(const std::string& s) {
  if (s.empty()) return 0;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return NAN;
  return std::strtod(s.c_str(), nullptr);
}

}  // namespace

bool CdxSysfs::IsValidDeviceName(const std::string& n) {
  return n.size() == 9 && n.compare(0, 4, "cdx-") == 0 && IsLowerHex(n[4]) && IsLowerHex(n[5]) && n[6] == ':' &&
         IsLowerHex(n[7]) && IsLowerHex(n[8]);
}

std::string CdxSysfs::DevicePath(const std::string& name) { return std::string(kBus) + "/devices/" + name; }

bool CdxSysfs::BusPresent() const { return sys_.TryStat(kBus) >= 0; }

std::vector<std::string> CdxSysfs::DeviceNames() const {
  std::vector<std::string> names = sys_.ReadDir(std::string(kBus) + "/devices");
  names.erase(std::remove_if(names.begin(), names.end(), [](const std::string& n) { return !IsValidDeviceName(n); }),
              names.end());
  std::sort(names.begin(), names.end());
  return names;
}

void CdxSysfs::CheckExists(const std::string& name) const {
  std::string dev = DevicePath(name);
  int rc = sys_.TryStat(dev);
  if (rc < 0) throw SysError(-rc, "stat", "", dev);
}

std::optional<std::string> CdxSysfs::Driver(const std::string& name) const {
  std::string path = DevicePath(name) + "/driver";
  std::string link;
  int rc = sys_.TryReadLink(path, &link);
  if (rc == -ENOENT) return std::nullopt;
  if (rc < 0) throw SysError(-rc, "readlink", "", path);
  return Basename(link);
}

std::string CdxSysfs::VfioDev(const std::string& name) const {
  std::vector<std::string> names;
  if (sys_.TryReadDir(DevicePath(name) + "/vfio-dev", &names) < 0) return "";
  for (const auto& n : names) {
    if (n.compare(0, 4, "vfio") == 0) return n;
  }
  return "";
}

int CdxSysfs::IommuGroup(const std::string& name) const {
  std::string link = sys_.ReadLink(DevicePath(name) + "/iommu_group");
  std::string number_text = Basename(link);
  char* end = nullptr;
  long number = std::strtol(number_text.c_str(), &end, 10);
  if (number_text.empty() || *end != '\0' || number < 0) {
    throw UsageError("ERR_VFIO_BAD_GROUP", "unexpected iommu_group link of " + name + ": " + link);
  }
  return static_cast<int>(number);
}

// The reads happen in this order, so a fault injected on one of them fails the same way each time.
CdxEntry CdxSysfs::Entry(const std::string& name) const {
  const std::string dev = DevicePath(name);
  CdxEntry e;
  e.name = name;
  std::string override_text = Trim(sys_.ReadFile(dev + "/driver_override"));
  if (override_text != "(null)") e.driver_override = override_text;
  std::string group;
  if (sys_.TryReadLink(dev + "/iommu_group", &group) >= 0) e.iommu_group = ParseDecimal(Basename(group));
  std::vector<std::string> vfio_dev;
  if (sys_.TryReadDir(dev + "/vfio-dev", &vfio_dev) >= 0) {
    for (const auto& n : vfio_dev) {
      if (n.compare(0, 4, "vfio") == 0) {
        e.vfio_device = n;
        break;
      }
    }
  }
  e.vendor_id = ParseHex(sys_.ReadFile(dev + "/vendor"));
  e.device_id = ParseHex(sys_.ReadFile(dev + "/device"));
  e.subsystem_vendor_id = ParseHex(sys_.ReadFile(dev + "/subsystem_vendor"));
  e.subsystem_device_id = ParseHex(sys_.ReadFile(dev + "/subsystem_device"));
  e.class_code = ParseHex(sys_.ReadFile(dev + "/class"));
  e.revision = ParseHex(sys_.ReadFile(dev + "/revision"));
  e.driver = Driver(name);
  e.modalias = Trim(sys_.ReadFile(dev + "/modalias"));
  return e;
}

void CdxSysfs::RefuseIfOpenHere(const std::string& name, const char* what) const {
  if (open_here_ && open_here_(name)) Refuse(name, what);
}

void CdxSysfs::Refuse(const std::string& name, const char* what) {
  throw UsageError("ERR_VFIO_DEVICE_OPEN", name + " is open in this thread: " + what +
                                                 " would block until it is closed, which can never happen while "
                                                 "this thread waits (close the Device first)");
}

void CdxSysfs::Bind(const std::string& name) const {
  const std::string dev = DevicePath(name);
  CheckExists(name);
  std::optional<std::string> current = Driver(name);
  if (current && *current == kDriverName) return;
  const std::string driver_dir = std::string(kBus) + "/drivers/" + kDriverName;
  if (sys_.TryStat(driver_dir) < 0) throw SysError(ENOENT, "stat", "", driver_dir);
  sys_.WriteFile(dev + "/driver_override", kDriverName);
  if (current) sys_.WriteFile(dev + "/driver/unbind", name);
  sys_.WriteFile(driver_dir + "/bind", name);
}

void CdxSysfs::Unbind(const std::string& name) const {
  const std::string dev = DevicePath(name);
  CheckExists(name);
  if (Driver(name)) {
    RefuseIfOpenHere(name, "unbind");
    sys_.WriteFile(dev + "/driver/unbind", name);
  }
  sys_.WriteFile(dev + "/driver_override", "\n");
}

void CdxSysfs::Reset(const std::string& name) const { sys_.WriteFile(DevicePath(name) + "/reset", "1"); }

void CdxSysfs::Remove(const std::string& name) const {
  CheckExists(name);
  RefuseIfOpenHere(name, "remove");
  sys_.WriteFile(DevicePath(name) + "/remove", "1");
}

void CdxSysfs::Rescan(const std::vector<std::string>& open) const {
  if (!open.empty()) Refuse(open.front(), "rescan");
  sys_.WriteFile(std::string(kBus) + "/rescan", "1");
}

}  // namespace vfiocdx
