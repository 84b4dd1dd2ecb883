// kernfs.cc — the filesystem the mock owns: sysfs (fs/sysfs/file.c, fs/kernfs/file.c) and the
// device nodes devtmpfs would create under /dev. Nothing here touches the real /sys or /dev.
//
// Lookup() computes a node from the current kernel state, so Stat, ReadDir, ReadLink, ReadFile,
// WriteFile and Open always agree. Paths are resolved component by component; symlinks (relative,
// like the kernel's) are followed anywhere but in the last component unless asked. Runs with
// Impl::mu held.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {

// The IOMMU instance in /sys/class/iommu (arm_smmu_device_probe(): "smmu3.%pa").
static const char kIommuName[] = "smmu3.0x0000000009050000";
namespace {

using T = Node::Type;
using O = Node::Obj;

constexpr unsigned kMiscMajor = 10;
constexpr unsigned kVfioMinor = 196;       // VFIO_MINOR (include/linux/miscdevice.h)
constexpr unsigned kIommufdMinor = 123;    // MISC_DYNAMIC_MINOR: any free minor
constexpr unsigned kVfioGroupMajor = 243;  // alloc_chrdev_region("vfio"): dynamic
constexpr unsigned kVfioDevMajor = 242;    // alloc_chrdev_region("vfio-dev"): dynamic
constexpr const char* kCdxRoot = "/sys/devices/platform/cdx-mock";
constexpr int kMaxSymlinks = 40;           // MAXSYMLINKS

Node Dir() {
  Node n;
  n.type = T::kDir;
  n.mode = 0755;
  return n;
}
Node File(mode_t mode, O obj) {
  Node n;
  n.type = T::kFile;
  n.mode = mode;
  n.obj = obj;
  return n;
}
Node Link(const std::string& target) {
  Node n;
  n.type = T::kLink;
  n.mode = 0777;
  n.target = target;
  return n;
}
Node Chr(mode_t mode, unsigned major, unsigned minor, O obj) {
  Node n;
  n.type = T::kChr;
  n.mode = mode;
  n.rdev = makedev(major, minor);
  n.obj = obj;
  return n;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++) s += "/" + c[i];
  return s.empty() ? "/" : s;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

int ParseInt(const std::string& s) {
  if (s.empty() || s.size() > 9) return -1;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return -1;
  }
  return std::stoi(s);
}

const char* const kCdxDevAttrs[] = {"vendor", "device", "subsystem_vendor", "subsystem_device",
                                    "class", "revision", "modalias"};

}  // namespace

CdxDevice* MockKernel::Impl::LiveDevice(const std::string& name) {
  auto it = devices.find(name);
  return (it == devices.end() || it->second->dead) ? nullptr : it->second.get();
}

// ---- path resolution (fs/namei.c, minus permissions: the caller is root)

int MockKernel::Impl::ResolvePath(const std::string& path, bool follow_last, std::string* canonical) {
  if (path.empty() || path[0] != '/') return -ENOENT;
  std::vector<std::string> cur;
  std::vector<std::string> parts = Split(path);
  std::deque<std::string> todo(parts.begin(), parts.end());
  int links = 0;
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!cur.empty()) cur.pop_back();
      continue;
    }
    cur.push_back(c);
    Node n = Lookup(Join(cur, cur.size()));
    if (n.type == T::kNone) return -ENOENT;
    bool last = todo.empty();
    if (n.type == T::kLink && (!last || follow_last)) {
      if (++links > kMaxSymlinks) return -ELOOP;
      cur.pop_back();
      if (!n.target.empty() && n.target[0] == '/') cur.clear();
      std::vector<std::string> t = Split(n.target);
      todo.insert(todo.begin(), t.begin(), t.end());
      continue;
    }
    if (!last && n.type != T::kDir) return -ENOTDIR;
  }
  *canonical = Join(cur, cur.size());
  return 0;
}

// ---- the tree

Node MockKernel::Impl::Lookup(const std::string& canonical) {
  std::vector<std::string> c = Split(canonical);
  if (c.empty()) return Dir();
  if (c[0] == "sys") return LookupSys(c);
  if (c[0] == "dev") return LookupDev(c);
  if (c[0] == "proc") return LookupProc(c);
  return Node();
}

Node MockKernel::Impl::LookupSys(const std::vector<std::string>& c) {
  size_t n = c.size();
  if (n == 1) return Dir();
  if (c[1] == "bus") {
    if (n == 2) return Dir();
    if (c[2] != "cdx" || !config.cdx_bus) return Node();
    return LookupCdxDir(c);
  }
  if (c[1] == "devices") {
    if ((n >= 3 && c[2] != "platform") || (n >= 4 && (c[3] != "cdx-mock" || !config.cdx_bus))) return Node();
    if (n <= 4) return Dir();
    CdxDevice* bus = LiveDevice(c[4]);
    if (!bus || !bus->is_bus) return Node();
    if (n == 5) return Dir();
    CdxDevice* dev = LiveDevice(c[5]);
    if (dev && !dev->is_bus && dev->bus_num == bus->bus_num) {
      return LookupDeviceEntry(dev, std::vector<std::string>(c.begin() + 6, c.end()));
    }
    return LookupDeviceEntry(bus, std::vector<std::string>(c.begin() + 5, c.end()));
  }
  if (c[1] == "kernel") {
    if (n == 2) return Dir();
    return c[2] == "iommu_groups" ? LookupIommuGroups(c) : Node();
  }
  if (c[1] == "class") {
    // /sys/class/iommu/<name>: each registered IOMMU (iommu_device_sysfs_add()); the mock's is
    // the SMMUv3 of QEMU's virt machine, named as arm-smmu-v3 names it.
    if (n == 2 || (n == 3 && c[2] == "iommu")) return Dir();
    if (c[2] == "iommu" && n == 4 && config.iommu && c[3] == kIommuName) return Dir();
    return Node();
  }
  if (c[1] == "module") {
    // Module parameters (kernel/params.c; built-in modules get the same directory):
    // vfio.enable_unsafe_noiommu_mode exists only with CONFIG_VFIO_NOIOMMU (vfio_main.c:57-62), and
    // iommufd.allow_unsafe_interrupts (iommufd/device.c:15) whenever iommufd is built in or loaded,
    // which is how userspace can tell that CONFIG_IOMMUFD is on without /dev or the build config.
    if (n == 2) return Dir();
    bool vfio = c[2] == "vfio";
    bool iommufd = c[2] == "iommufd" && config.iommufd;
    if (!vfio && !iommufd) return Node();
    if (n == 3) return Dir();
    if (c[3] != "parameters" || (vfio && !config.noiommu_config)) return Node();
    if (n == 4) return Dir();
    if (n == 5 && vfio && c[4] == "enable_unsafe_noiommu_mode") return File(0644, O::kNoiommuParam);
    if (n == 5 && iommufd && c[4] == "allow_unsafe_interrupts") return File(0644, O::kIommufdParam);
  }
  return Node();
}

// /sys/bus/cdx/...
Node MockKernel::Impl::LookupCdxDir(const std::vector<std::string>& c) {
  size_t n = c.size();
  if (n == 3) return Dir();
  const std::string& e = c[3];
  if (n == 4) {
    if (e == "devices" || e == "drivers") return Dir();
    if (e == "drivers_probe") return File(0200, O::kDriversProbe);
    if (e == "drivers_autoprobe") return File(0644, O::kAutoprobe);
    if (e == "rescan") return File(0200, O::kRescan);
    return Node();
  }
  if (e == "devices" && n == 5) {
    CdxDevice* dev = LiveDevice(c[4]);
    return dev ? Link("../../.." + DevicePath(dev).substr(4)) : Node();
  }
  if (e != "drivers" || c[4] != "vfio-cdx" || !config.vfio_cdx_loaded) return Node();
  if (n == 5) return Dir();
  if (n != 6) return Node();
  if (c[5] == "bind") return File(0200, O::kBind);
  if (c[5] == "unbind") return File(0200, O::kUnbind);
  CdxDevice* dev = LiveDevice(c[5]);
  if (dev && dev->bound && !dev->unbinding) return Link("../../../.." + DevicePath(dev).substr(4));
  return Node();
}

// An entry inside a device's (or bus device's) directory; `rest` is empty for the directory itself.
Node MockKernel::Impl::LookupDeviceEntry(CdxDevice* dev, const std::vector<std::string>& rest) {
  if (rest.empty()) return Dir();
  const std::string& e = rest[0];
  std::string up = dev->is_bus ? "../../../.." : "../../../../..";  // back to /sys
  Node node;
  if (rest.size() == 1) {
    if (e == "subsystem") return Link(up + "/bus/cdx");
    if (e == "driver_override") node = File(0644, O::kDevAttr);
    if (e == "reset") node = File(0200, O::kDevAttr);
    if (dev->is_bus && e == "enable") node = File(0644, O::kDevAttr);
    if (!dev->is_bus) {
      for (const char* a : kCdxDevAttrs) {
        if (e == a) node = File(0444, O::kDevAttr);
      }
      if (e == "remove") node = File(0200, O::kDevAttr);
      if (e == "driver" && dev->bound && !dev->unbinding) return Link(up + "/bus/cdx/drivers/vfio-cdx");
      if (e == "iommu_group" && dev->iommu_group >= 0) {
        return Link(up + "/kernel/iommu_groups/" + std::to_string(dev->iommu_group));
      }
      if (e == "vfio-dev" && dev->vdev && dev->vdev->index >= 0) return Dir();
      int idx = StartsWith(e, "resource") ? ParseInt(e.substr(8)) : -1;
      if (idx >= 0 && static_cast<size_t>(idx) < dev->res.size()) {
        node.type = T::kBin;
        node.mode = 0600;
        node.obj = O::kResource;
        node.size = dev->res[idx]->size;
        node.index = idx;
      }
    }
    node.dev = dev;
    node.name = e;
    return node;
  }
  VfioDevice* v = dev->vdev.get();
  if (dev->is_bus || e != "vfio-dev" || !v || v->index < 0) return Node();
  if (rest[1] != "vfio" + std::to_string(v->index)) return Node();
  if (rest.size() == 2) return Dir();
  if (rest.size() == 3 && rest[2] == "dev" && v->cdev) {
    node = File(0444, O::kVfioDevDev);
    node.dev = dev;
    return node;
  }
  return Node();
}

// /sys/kernel/iommu_groups/N/{devices/<name>,name} (drivers/iommu/iommu.c).
Node MockKernel::Impl::LookupIommuGroups(const std::vector<std::string>& c) {
  size_t n = c.size();
  if (n == 3) return Dir();
  int id = ParseInt(c[3]);
  auto it = iommu_groups.find(id);
  if (id < 0 || it == iommu_groups.end()) return Node();
  if (n == 4) return Dir();
  if (n == 5 && c[4] == "devices") return Dir();
  if (n == 5 && c[4] == "name" && !it->second.name.empty()) {
    Node node = File(0444, O::kGroupName);
    node.index = id;
    return node;
  }
  if (n == 5 && (c[4] == "reserved_regions" || c[4] == "type")) {
    Node node = File(0444, c[4] == "type" ? O::kGroupType : O::kGroupResv);
    node.index = id;
    return node;
  }
  if (n == 6 && c[4] == "devices") {
    CdxDevice* dev = LiveDevice(c[5]);
    if (dev && dev->iommu_group == id) return Link("../../../.." + DevicePath(dev).substr(4));
  }
  return Node();
}

// /dev/vfio/vfio, /dev/vfio/<group>, /dev/vfio/devices/vfioM, /dev/iommu.
Node MockKernel::Impl::LookupDev(const std::vector<std::string>& c) {
  size_t n = c.size();
  if (n == 1) return Dir();
  if (n == 2 && c[1] == "iommu") {
    return config.iommufd ? Chr(0660, kMiscMajor, kIommufdMinor, O::kIommuNode) : Node();
  }
  if (c[1] != "vfio") return Node();
  if (n == 2) return Dir();
  if (n == 3 && c[2] == "vfio") return Chr(0666, kMiscMajor, kVfioMinor, O::kContainerNode);
  if (n == 3 && c[2] != "devices") {
    VfioGroup* g = VfioGroupByNode(c[2]);
    if (!g) return Node();
    Node node = Chr(0600, kVfioGroupMajor, static_cast<unsigned>(g->minor), O::kGroupNode);
    node.name = c[2];
    return node;
  }
  bool any_cdev = false;
  for (auto& kv : devices) {
    VfioDevice* v = kv.second->vdev.get();
    if (v && v->cdev) any_cdev = true;
  }
  if (c[2] != "devices" || !any_cdev) return Node();  // devtmpfs removes empty directories
  if (n == 3) return Dir();
  VfioDevice* v = n == 4 ? VfioDeviceByCdevNode(c[3]) : nullptr;
  if (!v) return Node();
  Node node = Chr(0600, kVfioDevMajor, static_cast<unsigned>(v->index), O::kCdevNode);
  node.name = c[3];
  return node;
}

// /proc/self/limits (fs/proc/base.c proc_pid_limits) and /proc/self/status (fs/proc/array.c): the
// caller's RLIMIT_MEMLOCK, credentials and capabilities as this kernel enforces them.
Node MockKernel::Impl::LookupProc(const std::vector<std::string>& c) {
  size_t n = c.size();
  if (n == 1) return Dir();
  if (c[1] != "self") return Node();
  if (n == 2) return Dir();  // Linux makes it a link to /proc/<pid>; nothing here depends on that
  if (n == 3 && c[2] == "limits") return File(0444, O::kProcLimits);
  if (n == 3 && c[2] == "status") return File(0444, O::kProcStatus);
  return Node();
}

// generic_permission() (fs/namei.c) for the simulated caller. Every node is owned by root:root, so
// root passes on CAP_DAC_OVERRIDE (sysfs's stricter open check, which binds even root, is
// OpenSysfs's), a caller whose gid is 0 gets the group bits, and anyone else the "other" bits.
bool MockKernel::Impl::MayAccess(const Node& node, bool read, bool write) const {
  if (config.uid == 0) return true;
  mode_t bits = config.gid == 0 ? (node.mode >> 3) & 7 : node.mode & 7;
  return (!read || (bits & 4)) && (!write || (bits & 2));
}

namespace {

constexpr uint64_t kCapAll = (1ull << 41) - 1;  // CAP_LAST_CAP is CAP_CHECKPOINT_RESTORE (40) in 6.12
constexpr uint64_t kCapIpcLock = 1ull << 14;
constexpr uint64_t kCapSysRawio = 1ull << 17;

bool LineIs(const std::string& line, const char* key) { return line.rfind(key, 0) == 0; }

}  // namespace

// The real process's /proc/self/status with the lines this kernel decides replaced: Uid/Gid (the
// simulated caller's), no supplementary groups, and the capability sets. The caller never holds
// CAP_IPC_LOCK, because the mock charges every DMA pin against memlock_limit as the kernel does
// for such a caller; it holds CAP_SYS_RAWIO exactly when cap_sys_rawio says so.
std::string MockKernel::Impl::ProcSelfStatus() const {
  uint64_t eff = config.uid == 0 ? kCapAll & ~kCapIpcLock : 0;
  eff = config.cap_sys_rawio ? eff | kCapSysRawio : eff & ~kCapSysRawio;
  char buf[128];
  auto ids = [&](const char* key, uint32_t id) {
    snprintf(buf, sizeof(buf), "%s\t%u\t%u\t%u\t%u\n", key, id, id, id, id);
    return std::string(buf);
  };
  auto caps = [&](const char* key, uint64_t v) {
    snprintf(buf, sizeof(buf), "%s\t%016llx\n", key, static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  std::string real;
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(fd, chunk, sizeof(chunk))) > 0) real.append(chunk, static_cast<size_t>(n));
    ::close(fd);
  }
  if (real.empty()) real = "Name:\tnode\nUid:\nGid:\nGroups:\nCapInh:\nCapPrm:\nCapEff:\nCapBnd:\nCapAmb:\n";
  std::string out;
  size_t pos = 0;
  while (pos < real.size()) {
    size_t end = real.find('\n', pos);
    if (end == std::string::npos) end = real.size() - 1;
    std::string line = real.substr(pos, end - pos + 1);
    pos = end + 1;
    if (LineIs(line, "Uid:")) line = ids("Uid:", config.uid);
    else if (LineIs(line, "Gid:")) line = ids("Gid:", config.gid);
    else if (LineIs(line, "Groups:")) line = "Groups:\t \n";  // array.c leaves a trailing space
    else if (LineIs(line, "CapInh:")) line = caps("CapInh:", 0);
    else if (LineIs(line, "CapPrm:")) line = caps("CapPrm:", eff);
    else if (LineIs(line, "CapEff:")) line = caps("CapEff:", eff);
    else if (LineIs(line, "CapBnd:")) line = caps("CapBnd:", kCapAll);
    else if (LineIs(line, "CapAmb:")) line = caps("CapAmb:", 0);
    out += line;
  }
  return out;
}

// proc_pid_limits(): the process's own limits, except RLIMIT_MEMLOCK, which is memlock_limit
// (0: unlimited), the limit the mock's type1 and iommufd pinning is charged against.
std::string MockKernel::Impl::ProcSelfLimits() const {
  static const struct {
    int resource;
    const char* name;
    const char* unit;
  } kLimits[] = {
      {RLIMIT_CPU, "Max cpu time", "seconds"},       {RLIMIT_FSIZE, "Max file size", "bytes"},
      {RLIMIT_DATA, "Max data size", "bytes"},       {RLIMIT_STACK, "Max stack size", "bytes"},
      {RLIMIT_CORE, "Max core file size", "bytes"},  {RLIMIT_RSS, "Max resident set", "bytes"},
      {RLIMIT_NPROC, "Max processes", "processes"},  {RLIMIT_NOFILE, "Max open files", "files"},
      {RLIMIT_MEMLOCK, "Max locked memory", "bytes"}, {RLIMIT_AS, "Max address space", "bytes"},
      {RLIMIT_LOCKS, "Max file locks", "locks"},     {RLIMIT_SIGPENDING, "Max pending signals", "signals"},
      {RLIMIT_MSGQUEUE, "Max msgqueue size", "bytes"}, {RLIMIT_NICE, "Max nice priority", nullptr},
      {RLIMIT_RTPRIO, "Max realtime priority", nullptr}, {RLIMIT_RTTIME, "Max realtime timeout", "us"},
  };
  std::string out = "Limit                     Soft Limit           Hard Limit           Units     \n";
  auto value = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
  char buf[160];
  for (const auto& l : kLimits) {
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    if (l.resource == RLIMIT_MEMLOCK) {
      if (config.memlock_limit) rl.rlim_cur = rl.rlim_max = config.memlock_limit;
    } else {
      getrlimit(l.resource, &rl);
    }
    snprintf(buf, sizeof(buf), "%-25s %-20s %-20s ", l.name, value(rl.rlim_cur).c_str(), value(rl.rlim_max).c_str());
    out += buf;
    if (l.unit) {
      snprintf(buf, sizeof(buf), "%-10s\n", l.unit);
      out += buf;
    } else {
      out += "\n";
    }
  }
  return out;
}

// Every name a directory might hold; ListDir() keeps those Lookup() finds, so both always agree.
std::vector<std::string> MockKernel::Impl::DirCandidates() {
  std::vector<std::string> out = {"sys", "dev", "bus", "cdx", "devices", "drivers", "drivers_probe",
                                  "drivers_autoprobe", "rescan", "vfio-cdx", "bind", "unbind",
                                  "platform", "cdx-mock", "kernel", "iommu_groups", "module", "vfio",
                                  "parameters", "enable_unsafe_noiommu_mode", "iommu", "name",
                                  "subsystem", "driver_override", "reset", "enable", "remove", "driver",
                                  "iommu_group", "vfio-dev", "dev", "class", kIommuName, "reserved_regions",
                                  "type", "iommufd", "allow_unsafe_interrupts", "proc", "self", "limits",
                                  "status"};
  for (const char* a : kCdxDevAttrs) out.push_back(a);
  for (int i = 0; i < 4; i++) out.push_back("resource" + std::to_string(i));
  for (auto& kv : devices) {
    out.push_back(kv.first);
    if (kv.second->vdev) out.push_back("vfio" + std::to_string(kv.second->vdev->index));
  }
  for (auto& kv : iommu_groups) out.push_back(std::to_string(kv.first));
  for (auto& g : vfio_groups) out.push_back(g->dev_name);
  return out;
}

int MockKernel::Impl::ListDir(const std::string& canonical, std::vector<std::string>* names) {
  names->clear();
  std::set<std::string> seen;
  std::string prefix = canonical == "/" ? "/" : canonical + "/";
  for (const std::string& cand : DirCandidates()) {
    if (seen.count(cand)) continue;
    if (Lookup(prefix + cand).type == T::kNone) continue;
    seen.insert(cand);
    names->push_back(cand);
  }
  return 0;
}

// ---- attributes

int MockKernel::Impl::ShowAttr(const Node& node, std::string* out) {
  char buf[64];
  switch (node.obj) {
    case O::kDevAttr: return CdxDeviceShow(node.dev, node.name, out);
    case O::kAutoprobe:  // drivers_autoprobe_show() (bus.c:279-290)
      *out = drivers_autoprobe ? "1\n" : "0\n";
      return 0;
    case O::kGroupType: {  // iommu_group_show_type(): the SMMU's default domain; none for no-IOMMU
      bool fake = iommu_groups[node.index].name == "vfio-noiommu";
      *out = fake ? "unknown\n" : "DMA\n";
      return 0;
    }
    case O::kGroupResv: {  // iommu_group_show_resv_regions(): the SMMU's software MSI window
      bool fake = iommu_groups[node.index].name == "vfio-noiommu";
      *out = fake ? "" : "0x0000000008000000 0x00000000080fffff msi\n";
      return 0;
    }
    case O::kGroupName:  // iommu_group_show_name() (iommu.c:758-761)
      *out = iommu_groups[node.index].name + "\n";
      return 0;
    case O::kVfioDevDev:  // dev_show() (drivers/base/core.c): "%u:%u\n"
      snprintf(buf, sizeof(buf), "%u:%u\n", kVfioDevMajor, static_cast<unsigned>(node.dev->vdev->index));
      *out = buf;
      return 0;
    case O::kNoiommuParam:  // param_get_bool(): "Y\n" / "N\n"
      *out = noiommu_param ? "Y\n" : "N\n";
      return 0;
    case O::kIommufdParam:  // param_get_bool()
      *out = iommufd_unsafe_interrupts ? "Y\n" : "N\n";
      return 0;
    case O::kProcLimits:
      *out = ProcSelfLimits();
      return 0;
    case O::kProcStatus:
      *out = ProcSelfStatus();
      return 0;
    case O::kResource:  // sysfs_kf_bin_read(): no ->read (fs/sysfs/file.c:77-98)
      return -EIO;
    default: return -EIO;
  }
}

long MockKernel::Impl::StoreAttr(const Node& node, const std::string& data, Lock& lk) {
  switch (node.obj) {
    case O::kDevAttr: return CdxDeviceStore(node.dev, node.name, data, lk);
    case O::kBind: return BindStore(data);
    case O::kUnbind: return UnbindStore(data, lk);
    case O::kDriversProbe: return DriversProbeStore(data);
    case O::kAutoprobe: return DriversAutoprobeStore(data);
    case O::kRescan: return RescanStore(data, lk);
    case O::kNoiommuParam: {  // param_set_bool() → kstrtobool()
      bool val = false;
      if (Kstrtobool(data, &val) < 0) return -EINVAL;
      noiommu_param = val;
      return static_cast<long>(data.size());
    }
    case O::kIommufdParam: {
      bool val = false;
      if (Kstrtobool(data, &val) < 0) return -EINVAL;
      iommufd_unsafe_interrupts = val;
      return static_cast<long>(data.size());
    }
    case O::kResource: return -EIO;  // sysfs_kf_bin_write(): no ->write (file.c:144-163)
    default: return -EIO;
  }
}

// ---- open/read/write of sysfs files

// kernfs_fop_open() (fs/kernfs/file.c:611-640): sysfs sets KERNFS_ROOT_EXTRA_OPEN_PERM_CHECK, so
// even root gets -EACCES when opening for write a file without a write bit (a 0444 attribute) or
// for read a file without a read bit (0200 attributes such as reset, remove, bind).
int MockKernel::Impl::OpenSysfs(const std::string& canonical, const Node& node, int flags) {
  int acc = flags & O_ACCMODE;
  bool want_write = acc == O_WRONLY || acc == O_RDWR;
  bool want_read = acc == O_RDONLY || acc == O_RDWR;
  if (node.type == T::kDir) {
    if (want_write) return -EISDIR;
  } else {
    if (flags & O_DIRECTORY) return -ENOTDIR;
    if (want_write && !(node.mode & 0222)) return -EACCES;
    if (want_read && !(node.mode & 0444)) return -EACCES;
  }
  auto f = std::make_unique<OpenFile>();
  f->kind = FileKind::kSysfs;
  f->path = canonical;
  return InstallFile(std::move(f), "sysfs:" + canonical, flags);
}

int MockKernel::Impl::OpenPath(const std::string& path, int flags) {
  std::string canonical;
  int ret = ResolvePath(path, true, &canonical);
  if (ret) return ret;
  Node node = Lookup(canonical);
  int acc = flags & O_ACCMODE;
  if (node.type != T::kDir && !MayAccess(node, acc != O_WRONLY, acc != O_RDONLY)) return -EACCES;
  switch (node.obj) {
    case O::kContainerNode: return VfioFopsOpen(flags);
    case O::kGroupNode: return VfioGroupFopsOpen(VfioGroupByNode(node.name), flags);
    case O::kCdevNode: return VfioDeviceFopsCdevOpen(VfioDeviceByCdevNode(node.name), flags);
    case O::kIommuNode: return IommufdFopsOpen(flags);
    default: return OpenSysfs(canonical, node, flags);
  }
}

long MockKernel::Impl::SysfsRead(OpenFile* f, void* buf, size_t count) {
  Node node = Lookup(f->path);
  if (node.type == T::kNone) return -ENODEV;  // kernfs_get_active() fails once removed
  if (node.type == T::kDir) return -EISDIR;
  if (count == 0) return 0;
  std::string content;
  int ret = ShowAttr(node, &content);
  if (ret < 0) return ret;
  if (f->pos >= content.size()) return 0;
  size_t n = std::min(count, static_cast<size_t>(content.size() - f->pos));
  if (CopyToUser(reinterpret_cast<uintptr_t>(buf), content.data() + f->pos, n)) return -EFAULT;
  f->pos += n;
  return static_cast<long>(n);
}

// kernfs_fop_write_iter() (fs/kernfs/file.c:311-360): at most PAGE_SIZE bytes reach the store;
// sysfs_kf_write() returns 0 for an empty write without calling it.
long MockKernel::Impl::SysfsWrite(OpenFile* f, const void* buf, size_t count, Lock& lk) {
  Node node = Lookup(f->path);
  if (node.type == T::kNone) return -ENODEV;
  size_t len = std::min(count, page_size);
  std::string data(len, '\0');
  if (CopyFromUser(&data[0], reinterpret_cast<uintptr_t>(buf), len)) return -EFAULT;
  if (len == 0) return 0;
  return StoreAttr(node, data, lk);
}

// ---- the seam's filesystem calls

int MockKernel::Impl::ReadDirPath(const std::string& path, std::vector<std::string>* names) {
  std::string canonical;
  int ret = ResolvePath(path, true, &canonical);
  if (ret) return ret;
  if (Lookup(canonical).type != T::kDir) return -ENOTDIR;
  return ListDir(canonical, names);
}

int MockKernel::Impl::ReadLinkPath(const std::string& path, std::string* target) {
  std::string canonical;
  int ret = ResolvePath(path, false, &canonical);
  if (ret) return ret;
  Node node = Lookup(canonical);
  if (node.type != T::kLink) return -EINVAL;
  *target = node.target;
  return 0;
}

// open(O_RDONLY) + read: the permission check of OpenSysfs(), then one show().
int MockKernel::Impl::ReadFilePath(const std::string& path, std::string* contents) {
  std::string canonical;
  int ret = ResolvePath(path, true, &canonical);
  if (ret) return ret;
  Node node = Lookup(canonical);
  if (node.type == T::kDir) return -EISDIR;
  if (!MayAccess(node, true, false)) return -EACCES;
  if (node.type == T::kChr) return -EINVAL;  // VFIO/iommufd nodes have no .read
  if (!(node.mode & 0444)) return -EACCES;
  contents->clear();
  return ShowAttr(node, contents);
}

long MockKernel::Impl::WriteFilePath(const std::string& path, const std::string& data, Lock& lk) {
  std::string canonical;
  int ret = ResolvePath(path, true, &canonical);
  if (ret) return ret;
  Node node = Lookup(canonical);
  if (node.type == T::kDir) return -EISDIR;
  if (!MayAccess(node, false, true)) return -EACCES;
  if (node.type == T::kChr) return -EINVAL;
  if (!(node.mode & 0222)) return -EACCES;
  if (data.empty()) return 0;
  return StoreAttr(node, data.substr(0, page_size), lk);
}

int MockKernel::Impl::StatPath(const std::string& path, struct stat* st) {
  std::string canonical;
  int ret = ResolvePath(path, true, &canonical);
  if (ret) return ret;
  Node node = Lookup(canonical);
  memset(st, 0, sizeof(*st));
  mode_t type = node.type == T::kDir ? S_IFDIR : node.type == T::kChr ? S_IFCHR : S_IFREG;
  st->st_mode = type | node.mode;
  st->st_nlink = node.type == T::kDir ? 2 : 1;
  st->st_rdev = node.rdev;
  st->st_size = node.type == T::kBin ? static_cast<off_t>(node.size) : node.type == T::kFile ? 4096 : 0;
  st->st_blksize = 4096;
  st->st_ino = std::hash<std::string>()(canonical) & 0x7fffffff;
  st->st_dev = makedev(0, StartsWith(canonical, "/dev") ? 5 : 22);
  return 0;
}

// ---- seam entry points

int MockKernel::ReadDir(const std::string& path, std::vector<std::string>* names) {
  Lock lk(impl_->mu);
  int ret = impl_->CheckFault(Fault::Op::kReadDir, path, "");
  if (ret == 0) ret = impl_->ReadDirPath(path, names);
  impl_->Trace("readdir", path, -1, ret);
  return ret;
}

int MockKernel::ReadLink(const std::string& path, std::string* target) {
  Lock lk(impl_->mu);
  int ret = impl_->CheckFault(Fault::Op::kReadLink, path, "");
  if (ret == 0) ret = impl_->ReadLinkPath(path, target);
  impl_->Trace("readlink", path, -1, ret);
  return ret;
}

int MockKernel::ReadFile(const std::string& path, std::string* contents) {
  Lock lk(impl_->mu);
  int ret = impl_->CheckFault(Fault::Op::kSysfsRead, path, "");
  if (ret == 0) ret = impl_->ReadFilePath(path, contents);
  impl_->Trace("readfile", path, -1, ret);
  return ret;
}

long MockKernel::WriteFile(const std::string& path, const std::string& data) {
  Lock lk(impl_->mu);
  impl_->dma_epoch++;  // reset, unbind, remove: before, and after a store that dropped the mutex
  long ret = impl_->CheckFault(Fault::Op::kSysfsWrite, path, "");
  if (ret == 0) ret = impl_->WriteFilePath(path, data, lk);
  impl_->dma_epoch++;
  impl_->Trace("writefile", path, -1, ret);
  return ret;
}

int MockKernel::Stat(const std::string& path, struct stat* st) {
  Lock lk(impl_->mu);
  int ret = impl_->StatPath(path, st);
  impl_->Trace("stat", path, -1, ret);
  return ret;
}

}  // namespace mock
}  // namespace vfiocdx

namespace vfiocdx {
namespace mock {
namespace {

// Digits do not make a typo: "vfio3" and "vfio0", "cdx-00:01" and "cdx-00:00" are the same shape.
std::string DigitShape(const std::string& s) {
  std::string out;
  bool in_digits = false;
  for (char c : s) {
    bool digit = c >= '0' && c <= '9';
    if (!digit) out.push_back(c);
    else if (!in_digits) out.push_back('0');
    in_digits = digit;
  }
  return out;
}

}  // namespace

// Every path of the tree below `path`, links listed but followed only where they lead down
// (device links under bus/cdx/devices and iommu_groups/N/devices; never subsystem, driver,
// iommu_group, which lead back up).
void MockKernel::Impl::CollectPaths(const std::string& path, int depth, std::vector<std::string>* out) {
  out->push_back(path);
  std::vector<std::string> names;
  if (depth == 0 || ReadDirPath(path, &names) < 0) return;
  for (const std::string& n : names) {
    std::string child = path == "/" ? "/" + n : path + "/" + n;
    if (n == "subsystem" || n == "driver" || n == "iommu_group") {
      out->push_back(child);
      continue;
    }
    CollectPaths(child, depth - 1, out);
  }
}

bool MockKernel::ServesPath(const std::string& fragment, std::vector<std::string>* examples) {
  Lock lk(impl_->mu);
  std::vector<std::string> paths;
  impl_->CollectPaths("/", 9, &paths);
  // What binding adds, for each device: device nodes, the vfio-dev entry, the driver and group links.
  for (auto& kv : impl_->devices) {
    const CdxDevice* dev = kv.second.get();
    if (dev->is_bus) continue;
    const std::string base = "/sys/bus/cdx/devices/" + dev->name;
    for (const char* p : {"/driver", "/iommu_group", "/vfio-dev/vfio0/dev"}) paths.push_back(base + p);
    paths.push_back("/sys/kernel/iommu_groups/0/devices/" + dev->name);
  }
  for (const char* p : {"/dev/vfio/0", "/dev/vfio/noiommu-0", "/dev/vfio/devices/vfio0", "/dev/vfio/vfio",
                        "/dev/iommu", "/sys/kernel/iommu_groups/0/name"}) {
    paths.push_back(p);
  }
  const std::string shape = DigitShape(fragment);
  for (const std::string& p : paths) {
    if (DigitShape(p).find(shape) != std::string::npos) return true;
  }
  if (examples) {
    for (const char* p : {"/sys/bus/cdx/drivers/vfio-cdx/bind", "/sys/bus/cdx/drivers_probe", "/sys/bus/cdx/rescan",
                          "/sys/bus/cdx/devices/cdx-00:00/driver_override", "/sys/bus/cdx/devices/cdx-00:00/remove",
                          "/sys/bus/cdx/devices/cdx-00:00/reset", "/sys/kernel/iommu_groups/", "/dev/vfio/vfio",
                          "/dev/vfio/N", "/dev/vfio/devices/vfioN", "/dev/iommu"}) {
      examples->push_back(p);
    }
  }
  return false;
}

}  // namespace mock
}  // namespace vfiocdx
