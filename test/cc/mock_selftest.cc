// mock_selftest.cc — drives MockKernel only through the Kernel seam, with the raw structs of abi.h,
// and checks the errno and state rules of docs/kernel-rules.md (cited K-AREA-N) for the profiles
// linux-6.12, linux-6.12-iommufd, cdev and noiommu. Plain C++: CHECK prints file:line; the last
// line is "N passed, N failed"; the exit status is non-zero on any failure.
//
// Build and run: scripts/build-mock-selftest.sh
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "abi.h"
#include "mock/lnic_model.h"
#include "mock/lnic_regs.h"
#include "mock/mock_kernel.h"
#include "mock/axi_cdma_regs.h"
#include "mock/cdx_test_fixture.h"
#include "mock/cdx_test_regs.h"

using namespace vfiocdx;
using namespace vfiocdx::abi;
using vfiocdx::mock::CallRecord;
using vfiocdx::mock::DeviceSpec;
using vfiocdx::mock::Fault;
using vfiocdx::mock::KernelConfig;
using vfiocdx::mock::MockKernel;
using vfiocdx::mock::ProfileConfig;
using vfiocdx::mock::RegionSpec;
using namespace vfiocdx::mock::cdx_test;  // the fixture's devices and the cdx-test register map

namespace {

int g_pass = 0;
int g_fail = 0;

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (cond) {                                                             \
      g_pass++;                                                             \
    } else {                                                                \
      g_fail++;                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                       \
  } while (0)

#define CHECK_EQ(a, b)                                                                        \
  do {                                                                                        \
    long long va_ = static_cast<long long>(a);                                                \
    long long vb_ = static_cast<long long>(b);                                                \
    if (va_ == vb_) {                                                                         \
      g_pass++;                                                                               \
    } else {                                                                                  \
      g_fail++;                                                                               \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, \
              #b, va_, vb_);                                                                  \
    }                                                                                         \
  } while (0)

#define CHECK_STR(a, b)                                                                              \
  do {                                                                                               \
    std::string sa_ = (a);                                                                           \
    std::string sb_ = (b);                                                                           \
    if (sa_ == sb_) {                                                                                \
      g_pass++;                                                                                      \
    } else {                                                                                         \
      g_fail++;                                                                                      \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__, __LINE__, #a, #b, \
              sa_.c_str(), sb_.c_str());                                                             \
    }                                                                                                \
  } while (0)

const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

// ---- fixture: the devices of fixtures/cdx-test-devices.json (generated: mock/cdx_test_fixture.h)
// The tests are written for its shape: the first device has the cdx-test register model (region 0
// its register page, region 1 read-only with a pattern) and MSI vectors; the second is plain
// memory without MSI, its region 1 not a page multiple.

const DeviceSpec& Fixture(size_t i) {
  static const std::vector<DeviceSpec> devices = FixtureDevices();
  return devices.at(i);
}

// printf into a std::string: the expected text of a sysfs attribute.
__attribute__((format(printf, 1, 2))) std::string Fmt(const char* format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  return buf;
}

// A device's name on the bus: cdx-BB:DD (K-BUS-1).
std::string CdxName(const DeviceSpec& d) { return Fmt("cdx-%02x:%02x", d.bus, d.dev); }

const std::string kDev0 = CdxName(Fixture(0));
const std::string kDev1 = CdxName(Fixture(1));
const std::string kSysDev0 = "/sys/bus/cdx/devices/" + kDev0;
const std::string kSysDev1 = "/sys/bus/cdx/devices/" + kDev1;

// The 32-bit little-endian word at byte `off` of a region's initial contents.
uint32_t InitWord(const RegionSpec& r, size_t off) {
  return static_cast<uint32_t>(r.init.at(off)) | static_cast<uint32_t>(r.init.at(off + 1)) << 8 |
         static_cast<uint32_t>(r.init.at(off + 2)) << 16 | static_cast<uint32_t>(r.init.at(off + 3)) << 24;
}

std::shared_ptr<MockKernel> Boot(const std::string& profile, size_t page_size = 0, uint64_t memlock = 0,
                                 uint32_t dma_limit = 65535) {
  KernelConfig c;
  if (!ProfileConfig(profile, &c)) return nullptr;
  c.page_size = page_size;
  c.memlock_limit = memlock;
  c.dma_entry_limit = dma_limit;
  std::string err;
  auto k = MockKernel::Create(c, &err);
  if (!k) {
    fprintf(stderr, "Create(%s): %s\n", profile.c_str(), err.c_str());
    return nullptr;
  }
  for (const DeviceSpec& d : FixtureDevices()) CHECK_EQ(k->AddDevice(d, &err), 0);
  return k;
}

long BindVfio(MockKernel& k, const std::string& dev) {
  long r = k.WriteFile("/sys/bus/cdx/devices/" + dev + "/driver_override", "vfio-cdx\n");
  if (r < 0) return r;
  return k.WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", dev);
}

std::string GroupNode(MockKernel& k, const std::string& dev) {
  std::string link;
  if (k.ReadLink("/sys/bus/cdx/devices/" + dev + "/iommu_group", &link) != 0) return "";
  std::string id = link.substr(link.rfind('/') + 1);
  std::string name;
  bool noiommu = k.ReadFile("/sys/kernel/iommu_groups/" + id + "/name", &name) == 0 && name == "vfio-noiommu\n";
  return "/dev/vfio/" + std::string(noiommu ? "noiommu-" : "") + id;
}

long Io(MockKernel& k, int fd, unsigned long req, const void* arg) {
  return k.Ioctl(fd, req, reinterpret_cast<uintptr_t>(arg));
}

// The legacy path up to a device fd. Stops at the first failure and returns its errno.
struct Legacy {
  int container = -1;
  int group = -1;
  int device = -1;
};

long OpenLegacy(MockKernel& k, const std::string& dev, Legacy* l, unsigned long iommu = VFIO_TYPE1v2_IOMMU) {
  l->container = k.Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  if (l->container < 0) return l->container;
  l->group = k.Open(GroupNode(k, dev), O_RDWR | O_CLOEXEC);
  if (l->group < 0) return l->group;
  long r = Io(k, l->group, VFIO_GROUP_SET_CONTAINER, &l->container);
  if (r) return r;
  r = k.Ioctl(l->container, VFIO_SET_IOMMU, iommu);
  if (r) return r;
  l->device = static_cast<int>(Io(k, l->group, VFIO_GROUP_GET_DEVICE_FD, dev.c_str()));
  return l->device < 0 ? l->device : 0;
}

void CloseLegacy(MockKernel& k, Legacy* l) {
  if (l->device >= 0) k.Close(l->device);
  if (l->group >= 0) k.Close(l->group);
  if (l->container >= 0) k.Close(l->container);
  *l = Legacy();
}

// Memory whose last `n` bytes end exactly at a PROT_NONE page: reading one byte more faults.
struct Guarded {
  uint8_t* base = nullptr;
  Guarded() {
    void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base = static_cast<uint8_t*>(p);
    mprotect(base + kPage, kPage, PROT_NONE);
  }
  ~Guarded() { munmap(base, 2 * kPage); }
  void* Tail(size_t n) { return base + kPage - n; }
};

size_t CountFds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (struct dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

uint64_t ReadEventfd(int fd) {
  uint64_t v = 0;
  if (read(fd, &v, sizeof(v)) != sizeof(v)) return 0;
  return v;
}

uint32_t Reg(MockKernel& k, const std::string& dev, uint32_t off) {
  uint8_t* p = nullptr;
  size_t size = 0;
  if (k.DeviceRegion(dev, 0, 0, &p, &size) != 0) return 0xffffffff;
  return __atomic_load_n(reinterpret_cast<uint32_t*>(p + off), __ATOMIC_SEQ_CST);  // the model writes concurrently
}

// ---- K-BUS-1..8, K-DRV-1..6, K-CFG-2: sysfs, binding, nodes per profile

void TestSysfsFormats() {
  auto k = Boot("linux-6.12");
  const DeviceSpec& d0 = Fixture(0);
  std::string s;
  CHECK_EQ(k->ReadFile(kSysDev0 + "/vendor", &s), 0);
  CHECK_STR(s, Fmt("0x%04x\n", d0.vendor));
  k->ReadFile(kSysDev0 + "/device", &s);
  CHECK_STR(s, Fmt("0x%04x\n", d0.device));
  k->ReadFile(kSysDev0 + "/subsystem_vendor", &s);
  CHECK_STR(s, Fmt("0x%04x\n", d0.subsystem_vendor));
  k->ReadFile(kSysDev0 + "/subsystem_device", &s);
  CHECK_STR(s, Fmt("0x%04x\n", d0.subsystem_device));
  k->ReadFile(kSysDev0 + "/class", &s);
  CHECK_STR(s, Fmt("0x%06x\n", d0.class_code));
  k->ReadFile(kSysDev0 + "/revision", &s);
  CHECK_STR(s, Fmt("0x%02x\n", d0.revision));
  k->ReadFile(kSysDev0 + "/modalias", &s);
  CHECK_STR(s, Fmt("cdx:v%04Xd%04Xsv%04Xsd%04Xc%06X\n", d0.vendor, d0.device, d0.subsystem_vendor,
                   d0.subsystem_device, d0.class_code));
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "(null)\n");
  // write-only and read-only attributes: kernfs_fop_open() says EACCES even to root
  CHECK_EQ(k->ReadFile(kSysDev0 + "/reset", &s), -EACCES);
  CHECK_EQ(k->ReadFile("/sys/bus/cdx/drivers_probe", &s), -EACCES);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/vendor", "0x1"), -EACCES);
  // bin resource files: size = region length, read/write EIO
  struct stat st;
  CHECK_EQ(k->Stat(kSysDev0 + "/resource1", &st), 0);
  CHECK_EQ(st.st_size, d0.regions[1].size);
  CHECK_EQ(st.st_mode & 0777, 0600);
  CHECK_EQ(k->ReadFile(kSysDev0 + "/resource0", &s), -EIO);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/resource0", "x"), -EIO);
  CHECK_EQ(k->Stat(kSysDev0 + "/resource2", &st), -ENOENT);
  // kstrtobool semantics
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "0"), -EINVAL);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "maybe"), -EINVAL);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "on"), 2);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "Y\n"), 2);
  CHECK_EQ(k->Status(kDev0).resets, 2u);
  CHECK_EQ(Reg(*k, kDev0, kRegResetCount), 2u);
  CHECK_EQ(Reg(*k, kDev0, kRegId), kIdBase | d0.dev);
  CHECK_EQ(Reg(*k, kDev0, kRegVersion), kVersion);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/remove", "n"), -EINVAL);
  // driver_override: "\n" and "" clear; stops at the first newline
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", "foo\nbar"), 7);
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "foo\n");
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", "\n"), 1);
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "(null)\n");
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", std::string(kPage, 'a')), -EINVAL);
  // links and the tree
  std::string link;
  CHECK_EQ(k->ReadLink(kSysDev0, &link), 0);
  CHECK_STR(link, "../../../devices/platform/cdx-mock/cdx-00/cdx-00:00");
  // no IOMMU group before a driver probes: cdx_dma_configure() runs at probe
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), -ENOENT);
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), 0);
  CHECK_STR(link, "../../../../../kernel/iommu_groups/0");
  CHECK_EQ(k->ReadLink(kSysDev0 + "/vendor", &link), -EINVAL);
  CHECK_EQ(k->Stat("/sys/kernel/iommu_groups/0/devices/cdx-00:00/vendor", &st), 0);
  CHECK_EQ(k->Stat("/sys/kernel/iommu_groups/0/name", &st), -ENOENT);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver/unbind", kDev0), 9);
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), 0);  // the group stays after unbind
  CHECK_EQ(k->ReadLink(kSysDev0 + "/driver", &link), -ENOENT);
  std::vector<std::string> names;
  CHECK_EQ(k->ReadDir("/sys/bus/cdx/devices", &names), 0);
  CHECK_EQ(names.size(), 3u);  // cdx-00 (the bus), cdx-00:00, cdx-00:01
  CHECK_EQ(k->ReadDir(kSysDev0 + "/vendor", &names), -ENOTDIR);
  CHECK_EQ(k->ReadDir("/sys/bus/cdx/devices/cdx-00", &names), 0);
  CHECK_EQ(k->ReadFile("/sys/bus/cdx/devices/cdx-00/enable", &s), 0);
  CHECK_STR(s, "1\n");
  CHECK_EQ(k->Stat("/sys/bus/cdx/devices/cdx-00/vendor", &st), -ENOENT);
  CHECK_EQ(k->ReadFile("/etc/passwd", &s), -ENOENT);
  CHECK_EQ(k->Stat("/sys/bus/pci", &st), -ENOENT);
  CHECK_EQ(k->ReadFile("/sys/bus/cdx/drivers_autoprobe", &s), 0);
  CHECK_STR(s, "1\n");
  // bus reset resets every child
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/devices/cdx-00/reset", "1"), 1);
  CHECK_EQ(k->Status(kDev0).resets, 3u);
  CHECK_EQ(k->Status(kDev1).resets, 1u);
  // the same files through Open/Read/Write
  char rb[64];
  int fd = k->Open(kSysDev0 + "/vendor", O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), 7);
  CHECK_EQ(memcmp(rb, Fmt("0x%04x\n", d0.vendor).data(), 7), 0);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), 0);
  CHECK_EQ(k->Write(fd, "1", 1), -EBADF);
  k->Close(fd);
  CHECK_EQ(k->Open(kSysDev0 + "/vendor", O_WRONLY | O_CLOEXEC), -EACCES);
  CHECK_EQ(k->Open(kSysDev0 + "/remove", O_RDONLY | O_CLOEXEC), -EACCES);
  CHECK_EQ(k->Open(kSysDev0, O_WRONLY | O_CLOEXEC), -EISDIR);
  CHECK_EQ(k->Open(kSysDev0 + "/vendor", O_RDONLY | O_DIRECTORY | O_CLOEXEC), -ENOTDIR);
  fd = k->Open(kSysDev0, O_RDONLY | O_CLOEXEC);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), -EISDIR);
  k->Close(fd);
  fd = k->Open(kSysDev0 + "/driver_override", O_WRONLY | O_CLOEXEC);
  CHECK_EQ(k->Write(fd, "abc", 3), 3);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), -EBADF);
  CHECK_EQ(k->Write(fd, nullptr, 3), -EFAULT);
  k->Close(fd);
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "abc\n");
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", ""), 0);  // an empty write never reaches the store
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "abc\n");
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_autoprobe", "0"), 1);
  k->ReadFile("/sys/bus/cdx/drivers_autoprobe", &s);
  CHECK_STR(s, "0\n");
  CHECK_EQ(k->ReadDir("/dev/vfio", &names), 0);
  CHECK_EQ(names.size(), 1u);  // just the container node: nothing bound
  CHECK_EQ(k->ReadFile("/dev/vfio/vfio", &s), -EINVAL);
  // no noiommu parameter without CONFIG_VFIO_NOIOMMU
  CHECK_EQ(k->Stat("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", &st), -ENOENT);
  // remove and rescan
  CHECK_EQ(k->WriteFile(kSysDev1 + "/remove", "1"), 1);
  CHECK_EQ(k->Stat(kSysDev1, &st), -ENOENT);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/rescan", "0"), -EINVAL);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/rescan", "1"), 1);
  CHECK_EQ(k->Stat(kSysDev1, &st), 0);
  CHECK_EQ(k->Status(kDev0).resets, 0u);  // a new device after rescan
}

void TestBinding() {
  auto k = Boot("linux-6.12");
  std::string s;
  struct stat st;
  // never auto-binds; drivers_probe without override: success, nothing bound
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", kDev0), 9);
  CHECK_STR(k->Status(kDev0).driver, "");
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0), -ENODEV);  // no match
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", "cdx-07:07"), -ENODEV);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", "cdx-07:07"), -ENODEV);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", "vfio-cdx"), 8);
  CHECK_EQ(k->Stat(kSysDev0 + "/driver", &st), -ENOENT);  // setting the override binds nothing
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0 + "\n"), 10);
  CHECK_STR(k->Status(kDev0).driver, "vfio-cdx");
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0), -EBUSY);
  std::string link;
  CHECK_EQ(k->ReadLink(kSysDev0 + "/driver", &link), 0);
  CHECK_STR(link, "../../../../../bus/cdx/drivers/vfio-cdx");
  CHECK_EQ(k->Stat(kSysDev0 + "/driver/unbind", &st), 0);  // paths through links resolve
  CHECK_EQ(k->Stat("/sys/bus/cdx/drivers/vfio-cdx/cdx-00:00/vendor", &st), 0);
  std::vector<std::string> names;
  CHECK_EQ(k->ReadDir(kSysDev0 + "/vfio-dev", &names), 0);
  CHECK_EQ(names.size(), 1u);
  CHECK_STR(names.empty() ? "" : names[0], "vfio0");
  CHECK_EQ(k->Stat(kSysDev0 + "/vfio-dev/vfio0/dev", &st), -ENOENT);  // no cdev in linux-6.12
  CHECK_EQ(k->Stat("/dev/vfio/0", &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0600);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ(k->Stat("/dev/vfio/vfio", &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0666);
  CHECK_EQ(k->Stat("/dev/iommu", &st), -ENOENT);
  CHECK_EQ(k->Stat("/dev/vfio/devices", &st), -ENOENT);
  // the second device gets vfio1 and group 1
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  CHECK_EQ(k->Stat(kSysDev1 + "/vfio-dev/vfio1", &st), 0);
  CHECK_EQ(k->Stat("/dev/vfio/1", &st), 0);
  // unbind: through the driver link; the group node goes with the last device
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver/unbind", kDev0), 9);
  CHECK_EQ(k->Stat("/dev/vfio/0", &st), -ENOENT);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/unbind", kDev0), -ENODEV);
  // lowest free vfio index is reused
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", kDev0), 9);
  CHECK_EQ(k->Stat(kSysDev0 + "/vfio-dev/vfio0", &st), 0);
  // stock 6.12 with IOMMUFD: probe fails with EINVAL (no .detach_ioas)
  auto k2 = Boot("linux-6.12-iommufd");
  CHECK_EQ(k2->WriteFile(kSysDev0 + "/driver_override", "vfio-cdx"), 8);
  CHECK_EQ(k2->WriteFile("/sys/bus/cdx/drivers_probe", kDev0), 9);  // errors swallowed
  CHECK_EQ(k2->Stat(kSysDev0 + "/driver", &st), -ENOENT);
  CHECK_EQ(k2->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0), -EINVAL);
  CHECK_EQ(k2->Stat("/dev/iommu", &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0660);
  CHECK_EQ(k2->Stat("/dev/vfio/0", &st), -ENOENT);
  // spec.bind creates the device bound
  KernelConfig c;
  ProfileConfig("linux-6.12", &c);
  std::string err;
  auto k3 = MockKernel::Create(c, &err);
  DeviceSpec d = Fixture(0);
  d.bind = true;
  CHECK_EQ(k3->AddDevice(d, &err), 0);
  CHECK_STR(k3->Status(kDev0).driver, "vfio-cdx");
  CHECK_EQ(k3->AddDevice(d, &err), -EEXIST);
  // no noiommu and no IOMMU: probe EINVAL (no group)
  c.iommu = false;
  auto k4 = MockKernel::Create(c, &err);
  CHECK_EQ(k4->AddDevice(Fixture(0), &err), 0);
  CHECK_EQ(k4->ReadLink(kSysDev0 + "/iommu_group", &s), -ENOENT);
  CHECK_EQ(BindVfio(*k4, kDev0), -EINVAL);
}

// ---- K-UACCESS-1, K-CORE-3, K-CORE-4, K-CDX-3..5, K-CDX-8, K-GROUP-2, K-CONT-4

void TestDispatchAndInfo() {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  // unknown ioctls
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_IOEVENTFD, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0), -ENOTTY);  // group-path fd
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_BIND_IOMMUFD, 0), -ENOTTY);  // no CONFIG_VFIO_DEVICE_CDEV
  CHECK_EQ(k->Ioctl(l.group, 0x3b99, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(l.container, 0x3b99, 0), -ENOTTY);  // type1 set
  int fresh = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(k->Ioctl(fresh, 0x3b99, 0), -EINVAL);  // no IOMMU driver yet
  CHECK_EQ(k->Ioctl(fresh, VFIO_IOMMU_GET_INFO, 0), -EINVAL);
  CHECK_EQ(k->Ioctl(fresh, VFIO_GET_API_VERSION, 0), 0);
  k->Close(fresh);
  // read/write → EINVAL; only mmap
  char b[8];
  CHECK_EQ(k->Read(l.device, b, sizeof(b)), -EINVAL);
  CHECK_EQ(k->Write(l.device, b, sizeof(b)), -EINVAL);
  CHECK_EQ(k->Read(l.container, b, sizeof(b)), -EINVAL);
  // GET_INFO: EFAULT, EINVAL, exactly 16 bytes read/written, the rest echoed
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_GET_INFO, 0), -EFAULT);
  Guarded g;
  auto* gi = static_cast<vfio_device_info*>(g.Tail(VFIO_DEVICE_INFO_MINSZ));
  gi->argsz = 24;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, gi), 0);  // a 24-byte argsz, only 16 readable
  CHECK_EQ(gi->flags, VFIO_DEVICE_FLAGS_CDX | VFIO_DEVICE_FLAGS_RESET);
  auto* gi15 = static_cast<vfio_device_info*>(g.Tail(15));
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, gi15), -EFAULT);
  vfio_device_info info;
  memset(&info, 0xab, sizeof(info));
  info.argsz = 15;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
  info.argsz = 4096;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.argsz, 4096u);
  CHECK_EQ(info.flags, 0x101u);
  CHECK_EQ(info.num_regions, Fixture(0).regions.size());
  CHECK_EQ(info.num_irqs, 1u);
  CHECK_EQ(info.cap_offset, 0xababababu);
  CHECK_EQ(info.pad, 0xababababu);
  // GET_REGION_INFO
  vfio_region_info ri;
  memset(&ri, 0, sizeof(ri));
  ri.argsz = 31;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EINVAL);
  ri.argsz = 32;
  ri.index = 2;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EINVAL);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, g.Tail(31)), -EFAULT);
  ri.index = 1;
  ri.cap_offset = 0x1234;
  ri.argsz = 100;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  CHECK_EQ(ri.argsz, 100u);
  CHECK_EQ(ri.index, 1u);
  CHECK_EQ(ri.cap_offset, 0x1234u);
  CHECK_EQ(ri.offset, 1ull << 40);
  CHECK_EQ(ri.size, Fixture(0).regions[1].size);
  CHECK_EQ(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP);
  ri.index = 0;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  CHECK_EQ(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP);
  CHECK_EQ(ri.offset, 0u);
  // GET_IRQ_INFO
  vfio_irq_info ii = {16, 0, 1, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
  ii = {15, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_GET_IRQ_INFO, 8), -EFAULT);
  ii = {16, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
  CHECK_EQ(ii.flags, 0x9u);
  CHECK_EQ(ii.count, Fixture(0).num_msi);
  // the second device: 64 KiB (mmap) + 2 KiB (no MMAP), no MSI
  Legacy l1;
  l1.container = -1;
  l1.group = k->Open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK(l1.group >= 0);
  CHECK_EQ(Io(*k, l1.group, VFIO_GROUP_SET_CONTAINER, &l.container), 0);  // a second group, same container
  l1.device = static_cast<int>(Io(*k, l1.group, VFIO_GROUP_GET_DEVICE_FD, kDev1.c_str()));
  CHECK(l1.device >= 0);
  info.argsz = 16;
  CHECK_EQ(Io(*k, l1.device, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.num_irqs, 0u);
  ri = {32, 0, 1, 0, 0, 0};
  CHECK_EQ(Io(*k, l1.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  CHECK_EQ(ri.size, Fixture(1).regions[1].size);
  CHECK_EQ(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
  ii = {16, 0, 0, 0};
  CHECK_EQ(Io(*k, l1.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
  CloseLegacy(*k, &l1);
  CloseLegacy(*k, &l);
}

// ---- K-CORE-2, K-CORE-5, K-CORE-7, K-CDX-1, K-CDX-2, K-CDX-7, K-CDX-9

void TestOpenCloseResetFeature() {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(k->Status(kDev0).resets, 0u);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  CHECK_EQ(k->Status(kDev0).resets, 1u);  // reset on first open
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  CHECK_EQ(Reg(*k, kDev0, kRegResetCount), 1u);
  int fd2 = static_cast<int>(Io(*k, l.group, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(fd2 >= 0);
  CHECK_EQ(k->Status(kDev0).resets, 1u);  // not on the second open
  CHECK_EQ(k->Status(kDev0).open_count, 2u);
  CHECK_EQ(fcntl(fd2, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  // bus master: PROBE → 0; SET with op 1/0; GET → EINVAL; op 2 → EINVAL; short argsz → EINVAL
  uint32_t f[3] = {0, 0, 0};  // struct vfio_device_feature + struct vfio_device_feature_bus_master
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), 0);
  f[0] = 8;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), 0);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = (1u << 19) | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 11;
  f[1] = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);  // neither GET nor SET
  f[0] = 7;
  f[1] = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_SET | 1;  // MIGRATION: core feature, no mig_ops
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_SET | 11;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  f[2] = 2;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[2] = VFIO_DEVICE_FEATURE_SET_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), 0);
  CHECK(k->Status(kDev0).bus_master);
  CHECK_EQ(Reg(*k, kDev0, kRegBusMaster), 1u);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_FEATURE, 0), -EFAULT);
  // the op is read from the data after the header: fault there → EFAULT
  Guarded g;
  auto* tail = static_cast<vfio_device_feature*>(g.Tail(8));
  *tail = {12, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, tail), -EFAULT);
  // RESET returns the controller's result and does not touch MSI/trigger state
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_RESET, 0), 0);
  CHECK_EQ(k->Status(kDev0).resets, 2u);
  CHECK(!k->Status(kDev0).bus_master);  // the model's reset clears bus mastering
  Fault fault;
  fault.op = Fault::Op::kController;
  fault.match = "reset";
  fault.err = EIO;
  k->InjectFault(fault);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_RESET, 0), -EIO);
  CHECK_EQ(k->Status(kDev0).resets, 2u);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_RESET, 0), 0);  // times = 1
  // last close resets; close order does not matter
  k->Close(l.group);
  l.group = -1;
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EBUSY);  // the device files hold the group file
  k->Close(fd2);
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  uint64_t before = k->Status(kDev0).resets;
  k->Close(l.device);
  l.device = -1;
  CHECK_EQ(k->Status(kDev0).open_count, 0u);
  CHECK_EQ(k->Status(kDev0).resets, before + 1);
  // the group file was released with the last device: it can be opened again
  l.group = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK(l.group >= 0);
  vfio_group_status st = {8, 0};
  CHECK_EQ(Io(*k, l.group, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  CloseLegacy(*k, &l);
  // a reset failure at open aborts the open with that errno
  k->InjectFault(fault);
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), -EIO);
  CHECK_EQ(k->Status(kDev0).open_count, 0u);
  CloseLegacy(*k, &l);
  // clear-master failure at open: open works, BME_SUPPORT unset → FEATURE ENOTTY even for PROBE
  fault.match = "clear_master";
  k->InjectFault(fault);
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  f[0] = 8;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  CloseLegacy(*k, &l);
  // a controller without bus-master support never sets BME_SUPPORT
  k->ClearFaults();
  DeviceSpec d = Fixture(0);
  d.dev = 5;
  d.bus_master_supported = false;
  std::string err;
  CHECK_EQ(k->AddDevice(d, &err), 0);
  CHECK_EQ(BindVfio(*k, "cdx-00:05"), 9);
  CHECK_EQ(OpenLegacy(*k, "cdx-00:05", &l), 0);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  CloseLegacy(*k, &l);
}

// ---- K-CDX-10, K-CDX-11

void TestMmap() {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  void* p = nullptr;
  const int rw = PROT_READ | PROT_WRITE;
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 0, &p), 0);
  uint8_t* dev = nullptr;
  size_t size = 0;
  CHECK_EQ(k->DeviceRegion(kDev0, 0, 0, &dev, &size), 0);
  CHECK_EQ(size, Fixture(0).regions[0].size);
  uint32_t id;
  memcpy(&id, static_cast<uint8_t*>(p) + kRegId, 4);
  CHECK_EQ(id, kIdBase | Fixture(0).dev);
  static_cast<uint8_t*>(p)[kRegScratch] = 0x5a;
  CHECK_EQ(dev[kRegScratch], 0x5a);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  // read-only region: PROT_WRITE → EPERM (shared and private), read-only mapping works
  int64_t r1 = static_cast<int64_t>(VfioCdxIndexToOffset(1));
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, r1, &p), -EPERM);
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_PRIVATE, l.device, r1, &p), -EPERM);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, r1, &p), 0);
  uint32_t w;
  memcpy(&w, static_cast<uint8_t*>(p) + 8, 4);
  CHECK_EQ(w, InitWord(Fixture(0).regions[1], 8));
  CHECK_EQ(k->Munmap(p, 4096), 0);
  // bad index, overrun, alignment, length 0
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, static_cast<int64_t>(VfioCdxIndexToOffset(2)), &p),
           -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 8192, rw, MAP_SHARED, l.device, 0, &p), -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 4096, &p), -EINVAL);  // past the 4K region
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 100, &p), -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 0, rw, MAP_SHARED, l.device, 0, &p), -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.container, 0, &p), -ENODEV);
  // partial mappings at a page offset inside the 64 KiB region; non-mmappable 2 KiB region
  Legacy l1;
  l1.group = k->Open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, l1.group, VFIO_GROUP_SET_CONTAINER, &l.container), 0);
  l1.device = static_cast<int>(Io(*k, l1.group, VFIO_GROUP_GET_DEVICE_FD, kDev1.c_str()));
  CHECK_EQ(k->Mmap(nullptr, 8192, rw, MAP_SHARED, l1.device, 16384, &p), 0);
  static_cast<uint8_t*>(p)[1] = 7;
  CHECK_EQ(k->DeviceRegion(kDev1, 0, 0, &dev, &size), 0);
  CHECK_EQ(dev[16385], 7);
  // the mapping keeps the device file alive: close then munmap runs the last close
  uint64_t resets = k->Status(kDev1).resets;
  k->Close(l1.device);
  l1.device = -1;
  CHECK_EQ(k->Status(kDev1).open_count, 1u);
  CHECK_EQ(k->Munmap(static_cast<uint8_t*>(p) + 4096, 4096), 0);  // split: still one page mapped
  CHECK_EQ(k->Status(kDev1).open_count, 1u);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  CHECK_EQ(k->Status(kDev1).open_count, 0u);
  CHECK_EQ(k->Status(kDev1).resets, resets + 1);
  l1.device = static_cast<int>(Io(*k, l1.group, VFIO_GROUP_GET_DEVICE_FD, kDev1.c_str()));
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l1.device, static_cast<int64_t>(VfioCdxIndexToOffset(1)), &p),
           -EINVAL);
  // MAP_ANONYMOUS ignores the fd
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_PRIVATE | MAP_ANONYMOUS, l1.device, 0, &p), 0);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  CloseLegacy(*k, &l1);
  CloseLegacy(*k, &l);

  // emulated 16 KiB pages: a 4 KiB region has no MMAP flag; offsets must be 16 KiB aligned
  if (kPage == 4096) {
    auto k16 = Boot("linux-6.12", 16384);
    CHECK_EQ(BindVfio(*k16, kDev0), 9);
    CHECK_EQ(BindVfio(*k16, kDev1), 9);
    CHECK_EQ(OpenLegacy(*k16, kDev0, &l), 0);
    vfio_region_info ri = {32, 0, 0, 0, 0, 0};
    CHECK_EQ(Io(*k16, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
    CHECK_EQ(ri.flags & VFIO_REGION_INFO_FLAG_MMAP, 0u);
    CHECK_EQ(k16->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), -EINVAL);
    CloseLegacy(*k16, &l);
    CHECK_EQ(OpenLegacy(*k16, kDev1, &l), 0);
    CHECK_EQ(k16->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 4096, &p), -EINVAL);
    CHECK_EQ(k16->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 16384, &p), 0);
    CHECK_EQ(k16->Munmap(p, 16384), 0);
    CloseLegacy(*k16, &l);
  }
}

// ---- K-CDX-6, K-CORE-6, K-IRQ-1..7

// struct vfio_irq_set followed by `count` s32 fds.
long SetIrqs(MockKernel& k, int dev, uint32_t flags, uint32_t start, uint32_t count, const int32_t* fds = nullptr,
             uint32_t argsz = 0, uint32_t index = 0) {
  uint32_t w[5 + 8] = {};
  w[0] = argsz ? argsz : static_cast<uint32_t>(VFIO_IRQ_SET_MINSZ + (fds ? 4 * count : 0));
  w[1] = flags;
  w[2] = index;
  w[3] = start;
  w[4] = count;
  if (fds) memcpy(&w[5], fds, 4 * std::min<uint32_t>(count, 8));
  return Io(k, dev, VFIO_DEVICE_SET_IRQS, w);
}

void TestSetIrqs() {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  const uint32_t kEv = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  const uint32_t kNone = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
  const uint32_t kBool = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
  int ev[4];
  for (int& e : ev) e = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  // validation order
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_SET_IRQS, 0), -EFAULT);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0, nullptr, 19), -EINVAL);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0, nullptr, 20, 1), -EINVAL);  // index
  CHECK_EQ(SetIrqs(*k, l.device, kNone | 0x40, 0, 0), -EINVAL);  // unknown flag bits
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 4, 0), -EINVAL);  // start >= num_msi, even with count 0
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 2, 3), -EINVAL);  // start + count > num_msi
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 1, 0xffffffffu), -EINVAL);  // count >= U32_MAX - start
  CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1), -EINVAL);  // no DATA type
  CHECK_EQ(SetIrqs(*k, l.device, kNone | VFIO_IRQ_SET_DATA_BOOL, 0, 1), -EINVAL);  // two DATA types
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 2, ev, 27), -EINVAL);  // argsz - 20 < count * 4
  CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK, 0, 1, ev), -EINVAL);
  CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_DATA_EVENTFD, 0, 1, ev), -EINVAL);  // no ACTION at all
  // loopback before any EVENTFD setup → EINVAL (the 2026 stable fix)
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 1), -EINVAL);
  CHECK_EQ(SetIrqs(*k, l.device, kBool, 0, 0), -EINVAL);
  // count 0 + DATA_NONE = disable, always 0
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), 0);
  // the data is read after validation: a fault there is EFAULT
  Guarded g;
  auto* hdr = static_cast<vfio_irq_set*>(g.Tail(20));
  *hdr = {24, kEv, 0, 0, 1};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_SET_IRQS, hdr), -EFAULT);
  CHECK(!k->Status(kDev0).msi_enabled);
  // attach all four; MSI enabled; the model's MSI table is programmed
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 4, ev), 0);
  CHECK(k->Status(kDev0).msi_enabled);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiEnable), 1u);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiTable + kMsiEntrySize * 3 + 8), 3u);  // vector 3's data
  // loopback NONE signals +1 per vector; BOOL only where data != 0
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 1, 2), 0);
  CHECK_EQ(ReadEventfd(ev[1]), 1u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);
  CHECK_EQ(ReadEventfd(ev[0]), 0u);
  uint32_t bs[6] = {24, kBool, 0, 0, 4, 0};
  const uint8_t bools[4] = {1, 0, 1, 0};
  memcpy(&bs[5], bools, 4);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_SET_IRQS, bs), 0);
  CHECK_EQ(ReadEventfd(ev[0]), 1u);
  CHECK_EQ(ReadEventfd(ev[1]), 0u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);
  // the kernel keeps its own reference: closing the user's eventfd does not detach the vector
  int extra = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int keep = dup(extra);
  int32_t one[1] = {extra};
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 3, 1, one), 0);
  k->Close(extra);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 3, 1), 0);
  CHECK_EQ(ReadEventfd(keep), 1u);
  // negative fds de-assign (any negative value)
  int32_t neg[1] = {-7};
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 1, 1, neg), 0);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 4), 0);
  CHECK_EQ(ReadEventfd(ev[1]), 0u);
  CHECK_EQ(ReadEventfd(ev[0]), 1u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);
  CHECK_EQ(ReadEventfd(keep), 1u);
  // a failure at vector k de-assigns [start..k], keeps the rest
  int32_t bad[3] = {ev[0], 999, ev[2]};  // 999: not an open fd → EBADF
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 3, bad), -EBADF);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 4), 0);
  CHECK_EQ(ReadEventfd(ev[0]), 0u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);  // vector 2 untouched
  CHECK_EQ(ReadEventfd(keep), 1u);   // vector 3 untouched
  int32_t notev[1] = {l.container};  // open, but not an eventfd → EINVAL
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 2, 1, notev), -EINVAL);
  CHECK(k->Status(kDev0).msi_enabled);  // MSI was enabled before this call: stays enabled
  // the device raises MSIs: through the control side and through the model's doorbell register
  CHECK_EQ(k->RaiseMsi(kDev0, 3), 0);
  CHECK_EQ(ReadEventfd(keep), 1u);
  CHECK_EQ(k->RaiseMsi(kDev0, 2), -EAGAIN);  // vector 2 lost its trigger in the failed call above
  CHECK_EQ(k->RaiseMsi(kDev0, 1), -EAGAIN);  // no trigger on vector 1 (de-assigned above)
  CHECK_EQ(k->RaiseMsi(kDev0, 4), -EINVAL);
  CHECK_EQ(k->RaiseMsi("cdx-09:09", 0), -ENODEV);
  void* regs = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l.device, 0, &regs), 0);
  uint32_t fired_before = Reg(*k, kDev0, kRegMsiFired);
  auto* doorbell = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(regs) + kRegMsiDoorbell);
  __atomic_store_n(doorbell, 3u + 1, __ATOMIC_SEQ_CST);  // vector v + 1: raise vector 3
  struct pollfd pfd = {keep, POLLIN, 0};
  CHECK_EQ(poll(&pfd, 1, 5000), 1);  // a functional check, not a latency one
  CHECK_EQ(ReadEventfd(keep), 1u);
  CHECK_EQ(__atomic_load_n(doorbell, __ATOMIC_SEQ_CST), 0u);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiFired), fired_before + 1);
  CHECK_EQ(k->Munmap(regs, 4096), 0);
  // full disable, then: a failing call that enabled MSI disables it again
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), 0);
  CHECK(!k->Status(kDev0).msi_enabled);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiEnable), 0u);
  int32_t bad1[1] = {999};
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 1, bad1), -EBADF);
  CHECK(!k->Status(kDev0).msi_enabled);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 1), -EINVAL);  // not configured again
  // EVENTFD with count 0 enables MSI with no triggers
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 0, ev), 0);
  CHECK(k->Status(kDev0).msi_enabled);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 4), 0);  // nothing attached: silently skipped
  // TRIGGER|MASK is accepted as TRIGGER
  CHECK_EQ(SetIrqs(*k, l.device, kEv | VFIO_IRQ_SET_ACTION_MASK, 0, 1, ev), 0);
  // a controller error on MSI enable comes back as is
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), 0);
  Fault fault;
  fault.op = Fault::Op::kController;
  fault.match = "msi_enable";
  fault.err = ENOSPC;
  k->InjectFault(fault);
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 1, ev), -ENOSPC);
  CHECK(!k->Status(kDev0).msi_enabled);
  // last close tears MSI down and releases the kernel's eventfd references
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 4, ev), 0);
  size_t objects = k->OpenObjectCount();
  CHECK(objects >= 7);  // 3 fds + 4 triggers
  CloseLegacy(*k, &l);
  CHECK(!k->Status(kDev0).msi_enabled);
  CHECK_EQ(k->OpenObjectCount(), 0u);
  // a device without MSI: every SET_IRQS fails in validation
  CHECK_EQ(OpenLegacy(*k, kDev1, &l), 0);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), -EINVAL);
  CloseLegacy(*k, &l);
  for (int e : ev) close(e);
  close(keep);
}

// ---- K-GROUP-1..6, K-CONT-1..5, K-TYPE1-1..6

void TestGroupAndContainer() {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  int c = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK(c >= 0);
  CHECK_EQ(k->Ioctl(c, VFIO_GET_API_VERSION, 0), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, 12345), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);  // no group yet
  int g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EBUSY);  // single opener
  CHECK_EQ(k->Open("/dev/vfio/7", O_RDWR | O_CLOEXEC), -ENOENT);
  vfio_group_status st = {8, 0};
  CHECK_EQ(k->Ioctl(g, VFIO_GROUP_GET_STATUS, 0), -EFAULT);
  st.argsz = 7;
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), -EINVAL);
  st.argsz = 8;
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  // GET_DEVICE_FD without container → EINVAL
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EINVAL);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), -EINVAL);
  // SET_CONTAINER errnos
  CHECK_EQ(k->Ioctl(g, VFIO_GROUP_SET_CONTAINER, 0), -EFAULT);
  int closed = 1000;
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &closed), -EBADF);
  int pipefd[2];
  CHECK_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &pipefd[0]), -EBADFD);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &g), -EBADFD);  // a group fd is not a container
  close(pipefd[0]);
  close(pipefd[1]);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), -EINVAL);  // already set
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
  // GET_DEVICE_FD before SET_IOMMU → EINVAL
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EINVAL);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -ENODEV);  // no driver accepts it
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), -EINVAL);  // type1 says yes, open refuses
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);  // already set
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 1);
  // GET_DEVICE_FD: names, EFAULT, over-long name
  CHECK_EQ(k->Ioctl(g, VFIO_GROUP_GET_DEVICE_FD, 0), -EFAULT);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, "cdx-00:01"), -ENODEV);  // not in this group
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, "cdx-00:00\n"), -ENODEV);  // exact strcmp
  std::string longname(kPage + 10, 'x');
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, longname.c_str()), -EINVAL);
  Guarded gd;
  memcpy(gd.Tail(9), "cdx-00:00", 9);  // no NUL before the unmapped page
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, gd.Tail(9)), -EFAULT);
  memcpy(gd.Tail(10), "cdx-00:00", 10);
  int d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, gd.Tail(10)));
  CHECK(d >= 0);
  CHECK_EQ(fcntl(d, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  char link[128] = {0};
  std::string proc = "/proc/self/fd/" + std::to_string(d);
  CHECK(readlink(proc.c_str(), link, sizeof(link) - 1) > 0);
  CHECK(strstr(link, "vfio-mock:device:cdx-00:00") != nullptr);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), -EBUSY);  // device open
  // a second group in the same container; mixing works for real groups
  int g1 = k->Open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g1, VFIO_GROUP_SET_CONTAINER, &c), 0);
  CHECK_EQ(Io(*k, g1, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  CHECK_EQ(Io(*k, g1, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  k->Close(g1);
  // closing the container fd keeps the container alive through the attached group
  k->Close(c);
  vfio_region_info ri = {32, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  k->Close(d);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  // the group's last device is unbound while the group fd is open: ENODEV from then on
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/unbind", kDev0), 9);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), -ENODEV);
  int c2 = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c2), -ENODEV);
  k->Close(c2);
  k->Close(g);
}

void TestType1() {
  const uint64_t kMemlock = 64 * 1024;
  auto k = Boot("linux-6.12", 0, kMemlock, 3);
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  // GET_INFO: argsz rewritten when too small, caps chain when large enough
  vfio_iommu_type1_info info = {};
  info.argsz = 15;
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
  CHECK_EQ(k->Ioctl(l.container, VFIO_IOMMU_GET_INFO, 0), -EFAULT);
  info.argsz = 24;
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_GET_INFO, &info), 0);
  CHECK_EQ(info.flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
  CHECK_EQ(info.iova_pgsizes & (kPage - 1), 0u);
  CHECK(info.iova_pgsizes & kPage);
  CHECK_EQ(info.cap_offset, 0u);
  uint32_t need = info.argsz;
  CHECK(need > 24);
  std::vector<uint8_t> buf(need, 0);
  memcpy(buf.data(), &need, 4);
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_GET_INFO, buf.data()), 0);
  vfio_iommu_type1_info full;
  memcpy(&full, buf.data(), sizeof(full));
  CHECK_EQ(full.argsz, need);
  CHECK_EQ(full.cap_offset, 24u);
  int found = 0;
  uint32_t avail = 0;
  std::vector<vfio_iova_range> ranges;
  for (uint32_t off = full.cap_offset; off; ) {
    vfio_info_cap_header h;
    memcpy(&h, &buf[off], sizeof(h));
    found++;
    if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) memcpy(&avail, &buf[off + 8], 4);
    if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
      uint32_t n;
      memcpy(&n, &buf[off + 8], 4);
      ranges.resize(n);
      memcpy(ranges.data(), &buf[off + 16], n * sizeof(vfio_iova_range));
    }
    off = h.next;
  }
  CHECK_EQ(found, 3);
  CHECK_EQ(avail, 3u);
  CHECK_EQ(ranges.size(), 2u);
  CHECK_EQ(ranges.empty() ? 0 : ranges[0].end, 0x7ffffffu);  // the arm64 SW MSI window is reserved
  // MAP_DMA
  size_t len = 16 * 1024;
  void* mem = mmap(nullptr, 4 * len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  uint64_t va = reinterpret_cast<uintptr_t>(mem);
  const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  vfio_iommu_type1_dma_map m = {32, rw, va, 0x100000, len};
  CHECK_EQ(k->Ioctl(l.container, VFIO_IOMMU_MAP_DMA, 0), -EFAULT);
  m.argsz = 31;
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);
  m = {32, rw | 8, va, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // unknown flag
  m = {32, 0, va, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // no prot, no VADDR
  m = {32, rw, va, 0x100000, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // size 0
  m = {32, rw, va + 1, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // unaligned
  m = {32, rw, va, 0xfffffffffffff000ull, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // wraps
  m = {32, rw, va, 0x8000000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // MSI window
  m = {32, rw, 0x1000, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EFAULT);  // nothing mapped there
  m = {32, rw, va, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EEXIST);
  m = {32, rw, va, 0x100000 + len - kPage, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EEXIST);  // any overlap
  m = {32, rw, va + len, 0x100000 + len, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  m = {32, rw, va + 2 * len, 0x200000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  m = {32, rw, va + 3 * len, 0x300000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -ENOSPC);  // dma_entry_limit 3
  // UNMAP_DMA
  vfio_iommu_type1_dma_unmap u = {24, 0, 0x100000 + kPage, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);  // bisects the first mapping
  u = {24, 0, 0x100000, len + kPage};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);  // bisects the second at its end
  u = {24, 0, 0x400000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);  // nothing there: success, size 0
  CHECK_EQ(u.size, 0u);
  u = {24, 0, 0x100000, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, 8, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, VFIO_DMA_UNMAP_FLAG_ALL, 0x100000, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, 0, 0x100000, 2 * len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);
  CHECK_EQ(u.size, 2 * len);
  // VADDR invalidate + update
  u = {24, VFIO_DMA_UNMAP_FLAG_VADDR, 0x200000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);
  CHECK_EQ(u.size, len);
  m = {32, VFIO_DMA_MAP_FLAG_VADDR, va, 0x200000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // not invalid any more
  m = {32, VFIO_DMA_MAP_FLAG_VADDR, va, 0x500000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -ENOENT);
  // memlock: 64 KiB limit, 16 KiB still pinned
  m = {32, rw, va, 0x600000, 4 * len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -ENOMEM);
  m = {32, rw, va, 0x600000, 3 * len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  u = {24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);
  CHECK_EQ(u.size, 4 * len);
  CHECK_EQ(k->Ioctl(l.container, VFIO_DEVICE_FEATURE, 0), -ENOTTY);  // VFIO_IOMMU_DIRTY_PAGES: not emulated
  CloseLegacy(*k, &l);
  munmap(mem, 4 * len);
}

// ---- K-GROUP-7, K-CONT-6, K-CFG-3

void TestNoiommu() {
  auto k = Boot("noiommu");
  std::string s;
  struct stat st;
  CHECK_EQ(k->ReadFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", &s), 0);
  CHECK_STR(s, "Y\n");
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &s), -ENOENT);  // no IOMMU: no group before probe
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  std::string link;
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), 0);
  CHECK_STR(link, "../../../../../kernel/iommu_groups/0");
  CHECK_EQ(k->ReadFile("/sys/kernel/iommu_groups/0/name", &s), 0);
  CHECK_STR(s, "vfio-noiommu\n");
  CHECK_EQ(k->Stat("/dev/vfio/noiommu-0", &st), 0);
  CHECK_EQ(k->Stat("/dev/vfio/0", &st), -ENOENT);
  CHECK_EQ(k->Stat("/dev/vfio/devices", &st), -ENOENT);  // noiommu devices get no cdev
  CHECK_EQ(k->Stat("/dev/iommu", &st), 0);
  CHECK_STR(GroupNode(*k, kDev0), "/dev/vfio/noiommu-0");
  int c = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 1);
  // CAP_SYS_RAWIO checks
  k->SetCapSysRawio(false);
  CHECK_EQ(k->Open("/dev/vfio/noiommu-0", O_RDWR | O_CLOEXEC), -EPERM);
  k->SetCapSysRawio(true);
  int g = k->Open("/dev/vfio/noiommu-0", O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  k->SetCapSysRawio(false);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), -EPERM);
  k->SetCapSysRawio(true);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 0);  // only noiommu allowed now
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
  k->SetCapSysRawio(false);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -EPERM);
  k->SetCapSysRawio(true);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_IOMMU_GET_INFO, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(c, VFIO_IOMMU_MAP_DMA, 0), -ENOTTY);
  k->SetCapSysRawio(false);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EPERM);
  k->SetCapSysRawio(true);
  int d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(d >= 0);
  vfio_device_info info = {16, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.num_regions, Fixture(0).regions.size());
  // a real-IOMMU group cannot join a noiommu container: not testable without an IOMMU; instead the
  // parameter only matters at probe time: switched off, the next probe fails, the bound one stays.
  CHECK_EQ(k->WriteFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "maybe"), -EINVAL);
  CHECK_EQ(k->WriteFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "0"), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
  CHECK_EQ(BindVfio(*k, kDev1), -EINVAL);
  CHECK_STR(k->Status(kDev0).driver, "vfio-cdx");
  k->Close(d);
  k->Close(g);
  k->Close(c);
  // noiommu with an iommufd instead of a container: no compat IOAS, CAP_SYS_RAWIO at device open
  CHECK_EQ(k->WriteFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "1"), 1);
  int ifd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  g = k->Open("/dev/vfio/noiommu-0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &ifd), 0);
  k->SetCapSysRawio(false);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EPERM);
  k->SetCapSysRawio(true);
  d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(d >= 0);
  k->Close(d);
  k->Close(g);
  k->Close(ifd);
  // unbind removes the fake group again
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/unbind", kDev0), 9);
  CHECK_EQ(k->Stat("/sys/kernel/iommu_groups/0", &st), -ENOENT);
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), -ENOENT);
  CHECK_EQ(k->Stat("/dev/vfio/noiommu-0", &st), -ENOENT);
}

// ---- K-CDEV-1..4, K-CFG-2 and the cdev/iommufd path

long Bind(MockKernel& k, int dev, int iommufd, uint32_t* devid = nullptr) {
  vfio_device_bind_iommufd b = {16, 0, iommufd, 0};
  long r = Io(k, dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
  if (devid) *devid = b.out_devid;
  return r;
}

void TestCdev() {
  auto k = Boot("cdev");
  struct stat st;
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  std::string s;
  CHECK_EQ(k->ReadFile(kSysDev0 + "/vfio-dev/vfio0/dev", &s), 0);
  CHECK(s.find(':') != std::string::npos && s.back() == '\n');
  CHECK_EQ(k->Stat("/dev/vfio/devices/vfio0", &st), 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ(k->Stat("/dev/iommu", &st), 0);
  int d = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
  CHECK(d >= 0);
  int d2 = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);  // several opens succeed
  CHECK(d2 >= 0);
  // before BIND: every ioctl but BIND, and read/mmap → EINVAL
  vfio_device_info info = {16, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
  CHECK_EQ(k->Ioctl(d, VFIO_DEVICE_RESET, 0), -EINVAL);
  CHECK_EQ(k->Ioctl(d, 0x3b99, 0), -EINVAL);
  char b[4];
  CHECK_EQ(k->Read(d, b, 4), -EINVAL);
  void* p = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, d, 0, &p), -EINVAL);
  // BIND errnos
  int iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK(iommufd >= 0);
  CHECK_EQ(k->Ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, 0), -EFAULT);
  vfio_device_bind_iommufd bind = {15, 0, iommufd, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
  bind = {16, 1, iommufd, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
  CHECK_EQ(Bind(*k, d, -1), -EINVAL);  // no noiommu cdev in 6.12
  CHECK_EQ(Bind(*k, d, 1000), -EBADF);
  int c = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, c), -EBADFD);
  // the group is open → EBUSY; and a bound cdev makes group open EBUSY
  int g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, iommufd), -EBUSY);
  k->Close(g);
  uint32_t devid = 0;
  CHECK_EQ(Bind(*k, d, iommufd, &devid), 0);
  CHECK(devid != 0);
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EBUSY);
  CHECK_EQ(Bind(*k, d, iommufd), -EINVAL);   // already bound
  CHECK_EQ(Bind(*k, d2, iommufd), -EINVAL);  // another fd of the device is open
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.flags, 0x101u);
  // ATTACH / DETACH
  iommu_ioas_alloc alloc = {12, 0, 0};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
  CHECK(alloc.out_ioas_id != 0);
  vfio_device_attach_iommufd_pt at = {12, 0, 999};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -ENOENT);
  at = {11, 0, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
  at = {12, 1, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
  CHECK_EQ(k->Ioctl(d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0), -EFAULT);
  at = {12, 0, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
  CHECK(at.pt_id != alloc.out_ioas_id);  // the automatic HWPT
  iommu_destroy destroy = {8, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -EBUSY);
  destroy = {8, at.pt_id};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -EBUSY);
  destroy = {8, devid};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -EBUSY);  // vfio holds the device object
  // with a domain the IOAS reserves the MSI window and aligns to the page size
  iommu_iova_range rg[4];
  iommu_ioas_iova_ranges ir = {32, alloc.out_ioas_id, 4, 0, reinterpret_cast<uintptr_t>(rg), 0};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_IOVA_RANGES, &ir), 0);
  CHECK_EQ(ir.num_iovas, 2u);
  CHECK_EQ(rg[0].last, 0x7ffffffu);
  CHECK_EQ(ir.out_iova_alignment, kPage);
  vfio_device_detach_iommufd_pt dt = {8, 1};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), -EINVAL);
  dt = {7, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), -EINVAL);
  dt = {8, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), 0);
  destroy = {8, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), 0);
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -ENOENT);
  // mmap works once bound; an O_RDONLY cdev cannot be mapped shared+writable
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0, &p), 0);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  k->Close(d2);
  // closing /dev/iommu while bound keeps the context: the device still works
  k->Close(iommufd);
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  k->Close(d);
  CHECK_EQ(k->Status(kDev0).open_count, 0u);
  g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);  // unblocked again
  CHECK(g >= 0);
  k->Close(g);
  int ro = k->Open("/dev/vfio/devices/vfio0", O_RDONLY | O_CLOEXEC);
  iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, ro, iommufd), 0);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0, &p), -EACCES);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, ro, 0, &p), 0);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  k->Close(ro);
  k->Close(iommufd);
  k->Close(c);
  // the group path works too in the cdev profile (legacy container)
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_BIND_IOMMUFD, 0), -EFAULT);
  vfio_device_bind_iommufd gb = {16, 0, 3, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_BIND_IOMMUFD, &gb), -EINVAL);  // a group-path fd
  int late = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);  // opening the cdev is allowed,
  iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, late, iommufd), -EBUSY);                           // binding is not (group open)
  k->Close(late);
  CloseLegacy(*k, &l);
  // the group path with an iommufd instead of a container (compat IOAS)
  g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &iommufd), 0);
  vfio_group_status gs = {8, 0};
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &gs), 0);
  CHECK_EQ(gs.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
  d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(d >= 0);
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  iommu_destroy compat = {8, 1};  // the compat IOAS is object 1; its HWPT holds it
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &compat), -EBUSY);
  k->Close(iommufd);  // the group keeps the context
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  k->Close(d);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  k->Close(g);
  CHECK_EQ(k->OpenObjectCount(), 0u);
}

// ---- K-IOMMUFD-1..5, K-UACCESS-2: IOAS alloc, map, unmap

void TestIommufd() {
  auto k = Boot("cdev", 0, 64 * 1024);
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  int fd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK(fd >= 0);
  // framework: EFAULT, size < min → EINVAL, non-zero tail → E2BIG, zero tail OK, unknown → ENOTTY
  CHECK_EQ(k->Ioctl(fd, IOMMU_IOAS_ALLOC, 0), -EFAULT);
  iommu_ioas_alloc a = {11, 0, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &a), -EINVAL);
  struct {
    iommu_ioas_alloc a;
    uint32_t tail[3];
  } big = {{24, 0, 0}, {0, 1, 0}};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &big), -E2BIG);
  big = {{24, 0, 0}, {0, 0, 0}};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &big), 0);
  CHECK_EQ(big.tail[0], 0u);  // output truncated to the struct: the tail is left alone
  uint32_t ioas = big.a.out_ioas_id;
  a = {12, 1, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &a), -EOPNOTSUPP);
  CHECK_EQ(k->Ioctl(fd, IOMMU_IOAS_UNMAP, 0), -EFAULT);  // get_user(size) comes first
  // the VFIO compat layer (vfio_compat.c) answers VFIO's container ioctls on any iommufd
  CHECK_EQ(k->Ioctl(fd, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
  CHECK_EQ(k->Ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
  CHECK_EQ(k->Ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);  // no group: no compat IOAS
  CHECK_EQ(k->Ioctl(fd, VFIO_DEVICE_GET_INFO, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(fd, 0xc0003b80, reinterpret_cast<uintptr_t>(&a)), -ENOTTY);  // number mismatch
  // IOVA_RANGES without a domain: everything, alignment 1; EMSGSIZE with a short array
  iommu_iova_range rg[2];
  iommu_ioas_iova_ranges ir = {32, ioas, 0, 0, reinterpret_cast<uintptr_t>(rg), 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), -EMSGSIZE);
  CHECK_EQ(ir.num_iovas, 1u);
  ir.num_iovas = 2;
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), 0);
  CHECK_EQ(rg[0].start, 0u);
  CHECK_EQ(rg[0].last, UINT64_MAX);
  CHECK_EQ(ir.out_iova_alignment, 1u);
  ir.__reserved = 1;
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), -EOPNOTSUPP);
  ir = {32, 77, 2, 0, reinterpret_cast<uintptr_t>(rg), 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), -ENOENT);
  // IOAS_MAP
  size_t len = 16 * 1024;
  void* mem = mmap(nullptr, 8 * len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  uint64_t va = reinterpret_cast<uintptr_t>(mem);
  const uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
  iommu_ioas_map m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000};
  m.flags |= 8;
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EOPNOTSUPP);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 1, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EOPNOTSUPP);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, UINT64_MAX, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EOVERFLOW);
  m = {40, IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, 77, 0, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -ENOENT);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, 0, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), 0);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000 + len - kPage};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EEXIST);
  m = {40, rw, ioas, 0, va + len, len, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), 0);  // the kernel picks the IOVA
  CHECK(m.iova != 0 && (m.iova + len <= 0x100000 || m.iova >= 0x100000 + len));
  uint64_t auto_iova = m.iova;
  // attach a device: domain → pinning (64 KiB memlock, 32 KiB mapped)
  int d = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, fd), 0);
  vfio_device_attach_iommufd_pt at = {12, 0, ioas};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x8000000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);  // reserved MSI window
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, 100, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);  // length not aligned to the domain's page
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, 0x1000, len, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EFAULT);  // pinning a hole
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va + 2 * len, 3 * len, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -ENOMEM);  // 32 + 48 KiB > 64 KiB
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va + 2 * len, 2 * len, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), 0);
  // IOAS_UNMAP
  iommu_ioas_unmap u = {24, ioas, 0x100000 + kPage, kPage};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -ENOENT);  // splits a mapping
  u = {24, ioas, 0x900000, len};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -ENOENT);  // nothing there
  u = {24, ioas, 0x100000, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -EINVAL);
  u = {24, ioas, UINT64_MAX, 1};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -EOVERFLOW);
  u = {24, ioas, 0x100000, len};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), 0);
  CHECK_EQ(u.length, len);
  u = {24, ioas, 0, UINT64_MAX};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), 0);
  CHECK_EQ(u.length, 3 * len);
  (void)auto_iova;
  k->Close(d);
  k->Close(fd);
  munmap(mem, 8 * len);
  CHECK_EQ(k->OpenObjectCount(), 0u);
}

// ---- K-CORE-8, K-BUS-5, K-DRV-4: remove, rescan and unbind wait for open device fds

void TestRemoveBlocks() {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  std::atomic<bool> done(false);
  std::atomic<long> result(0);
  std::thread remover([&] {
    result = k->WriteFile(kSysDev0 + "/remove", "1");
    done = true;
  });
  // wait until the remover is inside (the device left sysfs), then check it is still blocked
  for (int i = 0; i < 2000; i++) {
    struct stat st;
    if (k->Stat(kSysDev0, &st) == -ENOENT) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  struct stat st;
  CHECK_EQ(k->Stat(kSysDev0, &st), -ENOENT);
  CHECK(!done);
  // other callers are not blocked; the open device keeps working
  vfio_device_info info = {16, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(k->Stat(kSysDev1, &st), 0);
  CHECK(!done);
  k->Close(l.device);
  l.device = -1;
  remover.join();
  CHECK(done);
  CHECK_EQ(result, 1);
  CHECK(!k->Status(kDev0).exists);
  vfio_group_status gs = {8, 0};
  CHECK_EQ(Io(*k, l.group, VFIO_GROUP_GET_STATUS, &gs), -ENODEV);
  CloseLegacy(*k, &l);
}

// ---- faults, tracing, profiles, leaks

void TestFaultsAndTrace() {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  Fault f;
  f.op = Fault::Op::kOpen;
  f.match = "/dev/vfio/0";
  f.err = EACCES;
  f.skip = 1;
  k->InjectFault(f);
  int g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);  // skipped
  CHECK(g >= 0);
  k->Close(g);
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EACCES);
  g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  k->Close(g);
  k->ClearFaults();
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  f = Fault();
  f.op = Fault::Op::kIoctl;
  f.match = "VFIO_DEVICE_GET_REGION_INFO";
  f.err = EIO;
  f.times = -1;
  k->InjectFault(f);
  vfio_region_info ri = {32, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EIO);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EIO);
  k->ClearFaults();
  f = Fault();
  f.op = Fault::Op::kMmap;
  f.match = "*";
  f.device = kDev0;
  f.err = ENOMEM;
  k->InjectFault(f);
  void* p = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), -ENOMEM);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), 0);
  k->Munmap(p, 4096);
  f = Fault();
  f.op = Fault::Op::kSysfsWrite;
  f.match = "drivers_probe";
  f.err = ENOMEM;
  k->InjectFault(f);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", kDev1), -ENOMEM);
  f.op = Fault::Op::kEventfd;
  f.match = "*";
  k->InjectFault(f);
  CHECK_EQ(k->Eventfd(0, EFD_CLOEXEC), -ENOMEM);
  k->ClearFaults();
  // tracing: names resolved by the fd's object type
  k->SetTracing(true);
  vfio_iommu_type1_info ti = {16, 0, 0, 0, 0};
  Io(*k, l.container, VFIO_IOMMU_GET_INFO, &ti);
  k->Ioctl(l.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0);
  k->Ioctl(l.device, 0x3b99, 0);
  std::string s;
  k->ReadFile(kSysDev0 + "/vendor", &s);
  std::vector<CallRecord> t = k->TakeTrace();
  CHECK_EQ(t.size(), 4u);
  if (t.size() == 4) {
    CHECK_STR(t[0].name, "VFIO_IOMMU_GET_INFO");
    CHECK_EQ(t[0].fd, l.container);
    CHECK_EQ(t[0].result, 0);
    CHECK_STR(t[1].name, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
    CHECK_EQ(t[1].result, -ENOTTY);
    CHECK_STR(t[2].name, "0x3b99");
    CHECK_STR(t[3].op, "readfile");
    CHECK_STR(t[3].name, kSysDev0 + "/vendor");
  }
  k->SetTracing(false);
  CHECK_EQ(k->TakeTrace().size(), 0u);
  CloseLegacy(*k, &l);
  // profiles
  KernelConfig c;
  CHECK(!ProfileConfig("linux-9.99", &c));
  CHECK(ProfileConfig("noiommu", &c) && !c.iommu && c.noiommu_enabled && c.iommufd);
  std::string err;
  c.page_size = 12345;
  CHECK(MockKernel::Create(c, &err) == nullptr);
  CHECK(!err.empty());
}

void TestNoLeaks() {
  size_t before = CountFds();
  {
    auto k = Boot("linux-6.12");
    CHECK_EQ(BindVfio(*k, kDev0), 9);
    Legacy l;
    CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
    void* p = nullptr;
    CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l.device, 0, &p), 0);
    int ev = k->Eventfd(0, EFD_CLOEXEC);
    int32_t fds[1] = {ev};
    CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, fds), 0);
    CHECK_EQ(k->Munmap(p, 4096), 0);
    CloseLegacy(*k, &l);
    k->Close(ev);
    CHECK_EQ(k->OpenObjectCount(), 0u);
    // a kernel destroyed with files still open releases them
    CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
    CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), 0);
    munmap(p, 4096);
  }
  CHECK_EQ(CountFds(), before);
}


// ---- device models: the AXI CDMA copy engine, device DMA through the mock IOMMU, model threads

const std::string kCdma = "cdx-00:02";
// The register map is the model's own (mock/axi_cdma_regs.h).
using namespace vfiocdx::mock::axi_cdma;
constexpr uint32_t kCrIrqEn = kCrIocIrqEn | kCrErrIrqEn;
const uint32_t kEvTrigger = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;

DeviceSpec CdmaSpec(uint8_t dev = 2) {
  DeviceSpec s;
  s.bus = 0;
  s.dev = dev;
  s.vendor = 0x10ee;
  s.device = 0x8084;
  s.num_msi = 2;
  s.model = "axi-cdma";
  RegionSpec regs;
  regs.size = 4096;
  s.regions = {regs};
  return s;
}

// A kernel with the fixture devices plus a bound CDMA at cdx-00:02.
std::shared_ptr<MockKernel> BootCdma(const std::string& profile) {
  auto k = Boot(profile);
  std::string err;
  CHECK_EQ(k->AddDevice(CdmaSpec(), &err), 0);
  CHECK_EQ(BindVfio(*k, kCdma), 9);
  return k;
}

bool WaitFor(const std::function<bool()>& pred, int ms = 5000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// Waits for an eventfd to become readable and reads it: the count, or 0 on timeout.
uint64_t WaitEventfd(int fd, int ms = 5000) {
  struct pollfd pfd = {fd, POLLIN, 0};
  if (poll(&pfd, 1, ms) != 1) return 0;
  return ReadEventfd(fd);
}

long SetMaster(MockKernel& k, int dev, uint32_t op) {
  uint32_t f[3] = {12, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER, op};
  return Io(k, dev, VFIO_DEVICE_FEATURE, f);
}

long MapDma(MockKernel& k, int container, const void* va, uint64_t iova, uint64_t size, uint32_t flags) {
  vfio_iommu_type1_dma_map m = {32, flags, reinterpret_cast<uintptr_t>(va), iova, size};
  return Io(k, container, VFIO_IOMMU_MAP_DMA, &m);
}

long UnmapDma(MockKernel& k, int container, uint64_t iova, uint64_t size) {
  vfio_iommu_type1_dma_unmap u = {24, 0, iova, size};
  return Io(k, container, VFIO_IOMMU_UNMAP_DMA, &u);
}

long IoasMap(MockKernel& k, int iommufd, uint32_t ioas, const void* va, uint64_t iova, uint64_t len, uint32_t prot) {
  iommu_ioas_map m = {40, prot | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, reinterpret_cast<uintptr_t>(va), len, iova};
  return Io(k, iommufd, IOMMU_IOAS_MAP, &m);
}

uint8_t* MapBuffer(size_t len) {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

void Fill(uint8_t* p, size_t len, uint32_t seed) {
  for (size_t i = 0; i < len; i++) p[i] = static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

// The CDMA's register page as the driver maps it.
struct CdmaRegs {
  uint8_t* base = nullptr;
  uint32_t Get(uint32_t off) const { return __atomic_load_n(reinterpret_cast<uint32_t*>(base + off), __ATOMIC_SEQ_CST); }
  void Set(uint32_t off, uint32_t v) { __atomic_store_n(reinterpret_cast<uint32_t*>(base + off), v, __ATOMIC_SEQ_CST); }
  // Acknowledges IOC/Err and waits until the engine has seen it (a polled model reads back the
  // written value until its next step).
  bool Ack() {
    Set(kCdmaSr, kSrIocIrq | kSrErrIrq);
    return WaitFor([this] { return (Get(kCdmaSr) & (kSrIocIrq | kSrErrIrq)) == 0; });
  }
  void Program(uint64_t src, uint64_t dst, uint32_t len) {
    Set(kSa, static_cast<uint32_t>(src));
    Set(kSaMsb, static_cast<uint32_t>(src >> 32));
    Set(kDa, static_cast<uint32_t>(dst));
    Set(kDaMsb, static_cast<uint32_t>(dst >> 32));
    Set(kBtt, len);
  }
  // One transfer, polled: ack, program, wait for IOC or Err_Irq. Returns CDMASR (0 on timeout).
  uint32_t Copy(uint64_t src, uint64_t dst, uint32_t len) {
    if (!Ack()) return 0;
    Program(src, dst, len);
    if (!WaitFor([this] { return (Get(kCdmaSr) & (kSrIocIrq | kSrErrIrq)) != 0; })) return 0;
    return Get(kCdmaSr);
  }
};

// Opens the CDMA on the legacy path with MSI vector 0 on `ev` and bus mastering on.
void OpenCdmaLegacy(MockKernel& k, Legacy* l, CdmaRegs* r, int ev, unsigned long iommu = VFIO_TYPE1v2_IOMMU) {
  CHECK_EQ(OpenLegacy(k, kCdma, l, iommu), 0);
  void* p = nullptr;
  CHECK_EQ(k.Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l->device, 0, &p), 0);
  r->base = static_cast<uint8_t*>(p);
  int32_t fds[1] = {ev};
  CHECK_EQ(SetIrqs(k, l->device, kEvTrigger, 0, 1, fds), 0);
  CHECK_EQ(SetMaster(k, l->device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
}

void TestCdmaType1() {
  auto k = BootCdma("linux-6.12");
  // the model is validated like the other specs
  std::string err;
  DeviceSpec small = CdmaSpec(3);
  small.regions[0].size = 32;
  CHECK_EQ(k->AddDevice(small, &err), -EINVAL);
  CHECK(err.find("axi-cdma") != std::string::npos);
  DeviceSpec unknown = CdmaSpec(3);
  unknown.model = "no-such-model";
  CHECK_EQ(k->AddDevice(unknown, &err), -EINVAL);
  int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Legacy l;
  CdmaRegs r;
  OpenCdmaLegacy(*k, &l, &r, ev);
  // reset values (the open reset them): CDMACR 0, CDMASR Idle (+ IRQThresholdSts 1), BTT taken
  CHECK_EQ(r.Get(kCdmaCr), 0u);
  CHECK_EQ(r.Get(kCdmaSr), kSrReset);
  CHECK_EQ(r.Get(kBtt), kBttTaken);
  CHECK_EQ(r.Get(kSa), 0u);
  // two buffers: the device reads src, writes dst
  const size_t kLen = 16 * 1024;
  uint8_t* src = MapBuffer(kLen);
  uint8_t* dst = MapBuffer(kLen);
  Fill(src, kLen, 1);
  memset(dst, 0, kLen);
  const uint64_t kSrc = 0x100000, kDst = 0x200000;
  CHECK_EQ(MapDma(*k, l.container, src, kSrc, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
  CHECK_EQ(MapDma(*k, l.container, dst, kDst, kLen, VFIO_DMA_MAP_FLAG_WRITE), 0);
  // the copy, completion by MSI vector 0
  r.Set(kCdmaCr, kCrIrqEn);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, kLen) == 0);
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrIocIrq);
  CHECK_EQ(r.Get(kBtt), kBttTaken | kLen);  // bits 25:0 read back, bit 31: taken
  CHECK_EQ(k->Status(kCdma).dma_errors, 0u);
  // the same BTT value again is a new transfer; acknowledging re-arms the interrupt
  CHECK(r.Ack());
  memset(dst, 0, kLen);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, kLen) == 0);
  // without an acknowledge the (level) interrupt stays asserted: the next completion sends no MSI
  memset(dst, 0, kLen);
  r.Program(kSrc, kDst, 4096);
  CHECK(WaitFor([&] { return memcmp(src, dst, 4096) == 0 && (r.Get(kCdmaSr) & kSrIdle); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK_EQ(ReadEventfd(ev), 0u);
  // enabling the interrupt while IOC_Irq is pending raises the line: one MSI
  CHECK(r.Ack());
  r.Set(kCdmaCr, 0);
  memset(dst, 0, kLen);
  r.Program(kSrc, kDst, 4096);
  CHECK(WaitFor([&] { return (r.Get(kCdmaSr) & kSrIocIrq) != 0; }));
  CHECK_EQ(ReadEventfd(ev), 0u);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(WaitEventfd(ev), 1u);
  // byte-exact unaligned copy; bytes around it untouched
  memset(dst, 0, kLen);
  CHECK_EQ(r.Copy(kSrc + 5, kDst + 3, 1001), kSrReset | kSrIocIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src + 5, dst + 3, 1001) == 0);
  CHECK(dst[2] == 0 && dst[3 + 1001] == 0);
  // a transfer spanning two adjacent mappings
  uint8_t* src2 = MapBuffer(kLen);
  Fill(src2, kLen, 2);
  CHECK_EQ(MapDma(*k, l.container, src2, kSrc + kLen, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
  CHECK_EQ(r.Copy(kSrc + kLen - 4096, kDst, 8192), kSrReset | kSrIocIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(dst, src + kLen - 4096, 4096) == 0 && memcmp(dst + 4096, src2, 4096) == 0);
  // unmapped source: DMADecErr + Err_Irq + MSI, Idle, nothing written
  memset(dst, 0, kLen);
  uint32_t sr = r.Copy(0x900000, kDst, 4096);
  CHECK_EQ(sr, kSrReset | kSrDmaDecErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(dst[0], 0);
  CHECK_EQ(k->Status(kCdma).dma_errors, 1u);
  // the error bits are sticky and halt the engine: Err_Irq clears, DMADecErr stays, BTT is ignored
  CHECK(r.Ack());
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrDmaDecErr);
  r.Program(kSrc, kDst, 4096);
  CHECK(WaitFor([&] { return (r.Get(kBtt) & kBttTaken) != 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrDmaDecErr);
  CHECK_EQ(dst[0], 0);
  CHECK_EQ(ReadEventfd(ev), 0u);
  // soft reset: the bit clears itself, every register back to its reset value
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  CHECK_EQ(r.Get(kCdmaSr), kSrReset);
  CHECK_EQ(r.Get(kSa), 0u);
  CHECK_EQ(r.Get(kDa), 0u);
  CHECK_EQ(r.Get(kBtt), kBttTaken);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrIocIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, 4096) == 0);
  // BTT 0: DMAIntErr
  CHECK_EQ(r.Copy(kSrc, kDst, 0), kSrReset | kSrDmaIntErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(k->Status(kCdma).dma_errors, 1u);  // not a DMA access
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  r.Set(kCdmaCr, kCrIrqEn);
  // permission faults are slave errors: writing a READ-only mapping, reading a WRITE-only one
  CHECK_EQ(r.Copy(kDst, kSrc, 4096), kSrReset | kSrDmaSlvErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(k->Status(kCdma).dma_errors, 2u);
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  r.Set(kCdmaCr, kCrIrqEn);
  // bus mastering off: the engine's requests are refused (slave error), nothing moves
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_CLEAR_MASTER), 0);
  memset(dst, 0, kLen);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrDmaSlvErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(dst[0], 0);
  CHECK_EQ(k->Status(kCdma).dma_errors, 3u);
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  // DmaRead/DmaWrite: the device's DMA from the control side, all or nothing
  uint8_t buf[64];
  CHECK_EQ(k->DmaRead(kCdma, kSrc + 100, buf, sizeof(buf)), 0);
  CHECK(memcmp(buf, src + 100, sizeof(buf)) == 0);
  memset(buf, 0x5a, sizeof(buf));
  CHECK_EQ(k->DmaWrite(kCdma, kDst + 8, buf, sizeof(buf)), 0);
  CHECK(dst[8] == 0x5a && dst[8 + 63] == 0x5a && dst[7] == 0 && dst[8 + 64] == 0);
  CHECK_EQ(k->DmaWrite(kCdma, kSrc, buf, sizeof(buf)), -EACCES);
  CHECK_EQ(k->DmaRead(kCdma, kDst, buf, sizeof(buf)), -EACCES);
  CHECK_EQ(k->DmaRead(kCdma, 0x900000, buf, sizeof(buf)), -EFAULT);
  CHECK_EQ(k->DmaRead(kCdma, kSrc + 2 * kLen - 8, buf, 16), -EFAULT);  // runs off the end of src2
  CHECK_EQ(k->DmaRead(kCdma, UINT64_MAX - 3, buf, 16), -EFAULT);       // wraps
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, 0), 0);
  CHECK_EQ(k->DmaRead("cdx-09:09", kSrc, buf, 1), -ENODEV);
  CHECK_EQ(k->Status(kCdma).dma_errors, 8u);
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_CLEAR_MASTER), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, 1), -EPERM);
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  // UNMAP: the translation is gone at once
  CHECK_EQ(UnmapDma(*k, l.container, kSrc + kLen, kLen), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc + kLen, buf, 1), -EFAULT);
  // process memory gone behind a live mapping (the mock cannot pin): -EIO, a slave error
  CHECK_EQ(mprotect(src, kLen, PROT_NONE), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, 1), -EIO);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrDmaSlvErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(mprotect(src, kLen, PROT_READ | PROT_WRITE), 0);
  // the last close resets the engine; the registers read their reset values again
  CHECK_EQ(k->Munmap(r.base, 4096), 0);
  CloseLegacy(*k, &l);
  uint8_t* view = nullptr;
  size_t size = 0;
  CHECK_EQ(k->DeviceRegion(kCdma, 0, 0, &view, &size), 0);
  CHECK_EQ(__atomic_load_n(reinterpret_cast<uint32_t*>(view + kCdmaSr), __ATOMIC_SEQ_CST), kSrReset);
  CHECK_EQ(__atomic_load_n(reinterpret_cast<uint32_t*>(view + kCdmaCr), __ATOMIC_SEQ_CST), 0u);
  CHECK_EQ(k->DmaRead(kCdma, kDst, buf, 1), -EPERM);  // closed: reset cleared bus mastering
  CHECK_EQ(k->OpenObjectCount(), 0u);
  close(ev);
  munmap(src, kLen);
  munmap(src2, kLen);
  munmap(dst, kLen);
}

// The same copy through the cdev: BIND_IOMMUFD, IOAS_MAP, ATTACH; then the group path with an
// iommufd (compat IOAS); then noiommu, where no translation exists.
void TestCdmaIommufd() {
  auto k = BootCdma("cdev");
  int d = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
  CHECK(d >= 0);
  int iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, iommufd), 0);
  void* p = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0, &p), 0);
  CdmaRegs r;
  r.base = static_cast<uint8_t*>(p);
  int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int32_t fds[1] = {ev};
  CHECK_EQ(SetIrqs(*k, d, kEvTrigger, 0, 1, fds), 0);
  CHECK_EQ(SetMaster(*k, d, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  iommu_ioas_alloc alloc = {12, 0, 0};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
  const size_t kLen = 8192;
  const uint64_t kSrc = 0x100000, kDst = 0x200000;
  uint8_t* src = MapBuffer(kLen);
  uint8_t* dst = MapBuffer(kLen);
  Fill(src, kLen, 3);
  memset(dst, 0, kLen);
  CHECK_EQ(IoasMap(*k, iommufd, alloc.out_ioas_id, src, kSrc, kLen, IOMMU_IOAS_MAP_READABLE), 0);
  CHECK_EQ(IoasMap(*k, iommufd, alloc.out_ioas_id, dst, kDst, kLen, IOMMU_IOAS_MAP_WRITEABLE), 0);
  // bound but not attached: a blocking domain
  uint8_t buf[16];
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, sizeof(buf)), -EFAULT);
  vfio_device_attach_iommufd_pt at = {12, 0, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, sizeof(buf)), 0);
  CHECK(memcmp(buf, src, sizeof(buf)) == 0);
  CHECK_EQ(k->DmaWrite(kCdma, kSrc, buf, sizeof(buf)), -EACCES);
  r.Set(kCdmaCr, kCrIrqEn);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, kLen) == 0);
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrIocIrq);
  // IOAS_UNMAP of the source: the next copy is a decode error
  iommu_ioas_unmap um = {24, alloc.out_ioas_id, kSrc, kLen};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_UNMAP, &um), 0);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrDmaDecErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  // detached: no domain any more
  vfio_device_detach_iommufd_pt dt = {8, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), 0);
  CHECK_EQ(k->DmaRead(kCdma, kDst, buf, 1), -EFAULT);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  k->Close(d);
  // the group path with an iommufd: the device is attached to the compat IOAS
  int g = k->Open(GroupNode(*k, kCdma), O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &iommufd), 0);
  d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kCdma.c_str()));
  CHECK(d >= 0);
  CHECK_EQ(SetMaster(*k, d, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  uint32_t compat = 0;
  for (uint32_t id = 1; id < 8 && !compat; id++) {  // the compat IOAS is the one no map can reach yet
    if (IoasMap(*k, iommufd, id, src, kSrc, kLen, IOMMU_IOAS_MAP_READABLE) == 0) {
      if (k->DmaRead(kCdma, kSrc, buf, sizeof(buf)) == 0) {
        compat = id;
      } else {
        iommu_ioas_unmap u = {24, id, kSrc, kLen};
        Io(*k, iommufd, IOMMU_IOAS_UNMAP, &u);
      }
    }
  }
  CHECK(compat != 0);
  CHECK(memcmp(buf, src, sizeof(buf)) == 0);
  k->Close(d);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  k->Close(g);
  k->Close(iommufd);
  CHECK_EQ(k->OpenObjectCount(), 0u);
  close(ev);
  // noiommu: IOVA = physical is meaningless here, so the device has no translation at all
  auto n = BootCdma("noiommu");
  ev = n->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Legacy l;
  OpenCdmaLegacy(*n, &l, &r, ev, VFIO_NOIOMMU_IOMMU);
  CHECK_EQ(n->DmaRead(kCdma, reinterpret_cast<uintptr_t>(src), buf, sizeof(buf)), -EFAULT);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(r.Copy(reinterpret_cast<uintptr_t>(src), reinterpret_cast<uintptr_t>(dst), 4096),
           kSrReset | kSrDmaDecErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(n->Munmap(r.base, 4096), 0);
  CloseLegacy(*n, &l);
  close(ev);
  munmap(src, kLen);
  munmap(dst, kLen);
}

// UNMAP_DMA (and the user's memory going away) while the engine is copying: the copy either
// completes or ends in an error; nothing crashes (run it under ASan and TSan).
void TestCdmaConcurrentUnmap() {
  auto k = BootCdma("linux-6.12");
  int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Legacy l;
  CdmaRegs r;
  OpenCdmaLegacy(*k, &l, &r, ev);
  const size_t kLen = 8 << 20;  // 128 chunks of 64 KiB
  const uint64_t kSrc = 0x10000000, kDst = 0x20000000;
  uint8_t* src = MapBuffer(kLen);
  uint8_t* dst = MapBuffer(kLen);
  Fill(src, kLen, 4);
  CHECK_EQ(MapDma(*k, l.container, dst, kDst, kLen, VFIO_DMA_MAP_FLAG_WRITE), 0);
  r.Set(kCdmaCr, kCrIrqEn);
  int completed = 0, faulted = 0, other = 0;
  uint64_t errors_before = k->Status(kCdma).dma_errors;
  for (int i = 0; i < 12; i++) {
    CHECK_EQ(MapDma(*k, l.container, src, kSrc, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
    CHECK(r.Ack());
    std::atomic<bool> go(false);
    std::thread unmapper([&] {
      while (!go) std::this_thread::yield();
      const int kDelayUs[4] = {0, 300, 2000, 40000};  // before the start, mid-copy, after the end
      std::this_thread::sleep_for(std::chrono::microseconds(kDelayUs[i % 4]));
      UnmapDma(*k, l.container, kSrc, kLen);
    });
    r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
    go = true;
    CHECK_EQ(WaitEventfd(ev), 1u);
    unmapper.join();
    uint32_t sr = r.Get(kCdmaSr);
    if (sr == (kSrReset | kSrIocIrq)) {
      completed++;
      CHECK(memcmp(src, dst, kLen) == 0);
    } else if (sr == (kSrReset | kSrDmaDecErr | kSrErrIrq)) {
      faulted++;
      r.Set(kCdmaCr, kCrReset | kCrIrqEn);
      CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
      r.Set(kCdmaCr, kCrIrqEn);
    } else {
      other++;
      fprintf(stderr, "iteration %d: CDMASR 0x%08x CDMACR 0x%08x BTT 0x%08x\n", i, sr, r.Get(kCdmaCr), r.Get(kBtt));
    }
  }
  CHECK_EQ(other, 0);
  CHECK_EQ(completed + faulted, 12);
  CHECK_EQ(k->Status(kCdma).dma_errors - errors_before, static_cast<uint64_t>(faulted));
  // the destination's memory disappears mid-copy (mprotect stands in for munmap, whose range
  // could be reused): a slave error or a completed copy, never a crash
  CHECK_EQ(MapDma(*k, l.container, src, kSrc, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
  CHECK(r.Ack());
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(mprotect(dst, kLen, PROT_NONE), 0);
  CHECK_EQ(WaitEventfd(ev), 1u);
  uint32_t sr = r.Get(kCdmaSr);
  CHECK(sr == (kSrReset | kSrIocIrq) || sr == (kSrReset | kSrDmaSlvErr | kSrErrIrq));
  CHECK_EQ(mprotect(dst, kLen, PROT_READ | PROT_WRITE), 0);
  // closing the device in the middle of a copy resets the engine: no completion, no crash
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  r.Set(kCdmaCr, kCrIrqEn);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(k->Munmap(r.base, 4096), 0);
  CloseLegacy(*k, &l);
  CHECK_EQ(k->OpenObjectCount(), 0u);
  close(ev);
  munmap(src, kLen);
  munmap(dst, kLen);
}

size_t CountThreads() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/task");
  while (struct dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// One thread per modelled device, started with it, joined when it is removed and when the
// MockKernel goes, even with a device open and a copy running.
void TestModelThreads() {
  size_t threads = CountThreads();
  size_t fds = CountFds();
  {
    auto k = BootCdma("linux-6.12");  // cdx-00:00 (cdx-test) and cdx-00:02 (axi-cdma) have models
    std::string err;
    CHECK_EQ(k->AddDevice(CdmaSpec(3), &err), 0);
    CHECK_EQ(CountThreads(), threads + 3);
    CHECK_EQ(k->WriteFile("/sys/bus/cdx/devices/cdx-00:03/remove", "1"), 1);
    CHECK(WaitFor([&] { return CountThreads() == threads + 2; }, 1000));
    // a rescan brings the removed device back, with a new thread
    CHECK_EQ(k->WriteFile("/sys/bus/cdx/rescan", "1"), 1);
    CHECK(WaitFor([&] { return CountThreads() == threads + 3; }, 1000));
    CHECK_EQ(BindVfio(*k, kCdma), 9);
    int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    Legacy l;
    CdmaRegs r;
    OpenCdmaLegacy(*k, &l, &r, ev);
    const size_t kLen = 4 << 20;
    uint8_t* src = MapBuffer(kLen);
    uint8_t* dst = MapBuffer(kLen);
    CHECK_EQ(MapDma(*k, l.container, src, 0x100000, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
    CHECK_EQ(MapDma(*k, l.container, dst, 0x1000000, kLen, VFIO_DMA_MAP_FLAG_WRITE), 0);
    r.Program(0x100000, 0x1000000, static_cast<uint32_t>(kLen));
    CHECK(WaitFor([&] { return (r.Get(kCdmaSr) & kSrIdle) == 0 || (r.Get(kCdmaSr) & kSrIocIrq) != 0; }));
    munmap(r.base, 4096);  // the kernel is destroyed with the device open and the mapping's vma held
    k.reset();
    close(ev);
    munmap(src, kLen);
    munmap(dst, kLen);
  }
  CHECK(WaitFor([&] { return CountThreads() == threads; }, 1000));
  CHECK_EQ(CountFds(), fds);
}


// ---- lnic (lnic_model.cc, docs/lnic.md): its own thread against a driver thread and a caller
// that unmaps, resets and switches schedulers under it (run it under TSan too).

namespace L = vfiocdx::lnic;

DeviceSpec LnicSpec(uint8_t dev) {
  DeviceSpec s;
  s.dev = dev;
  s.vendor = L::kVendor;
  s.device = L::kDevice;
  s.num_msi = 2;
  s.model = "lnic";
  RegionSpec regs;
  regs.size = 0x10000;
  s.regions = {regs};
  return s;
}

struct LnicRig {
  std::shared_ptr<MockKernel> k;
  Legacy l;
  void* user_regs = nullptr;
  uint32_t* regs = nullptr;
  uint8_t* mem = nullptr;  // rings at 0 / 0x1000, write-back slots at 0x2000 / 0x2040
  uint8_t* pool = nullptr;
  const uint64_t kMem = 0x100000, kPool = 0x200000;
  static constexpr uint32_t kSize = 64;
  static constexpr size_t kPoolLen = 128 * 2048;
  uint32_t Get(uint32_t off) { return __atomic_load_n(regs + off / 4, __ATOMIC_SEQ_CST); }
  void Set(uint32_t off, uint32_t v) { __atomic_store_n(regs + off / 4, v, __ATOMIC_SEQ_CST); }
  uint32_t* Desc(bool rx, uint32_t n) { return reinterpret_cast<uint32_t*>(mem + (rx ? 0x1000 : 0) + (n % kSize) * 16); }
};

// `seam`: the DMA memory is mapped through MockKernel::Mmap (the model reaches it directly);
// otherwise with mmap(2) behind the mock's back (the model copies through uaccess).
void OpenLnic(LnicRig* r, bool seam) {
  r->k = Boot("linux-6.12");
  std::string err;
  CHECK_EQ(r->k->AddDevice(LnicSpec(4), &err), 0);
  CHECK_EQ(BindVfio(*r->k, "cdx-00:04"), 9);
  CHECK_EQ(OpenLegacy(*r->k, "cdx-00:04", &r->l), 0);
  void* p = nullptr;
  CHECK_EQ(r->k->Mmap(nullptr, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, r->l.device, 0, &p), 0);
  r->user_regs = p;
  // The registers are reached through the device-side view, the very addresses the model uses:
  // the user's mapping is a second mapping of the same memfd, and ThreadSanitizer, which tracks
  // addresses, would not see a doorbell store there synchronise with the model's load.
  uint8_t* view = nullptr;
  size_t size = 0;
  CHECK_EQ(r->k->DeviceRegion("cdx-00:04", 0, 0, &view, &size), 0);
  r->regs = reinterpret_cast<uint32_t*>(view);
  if (seam) {
    void* m = nullptr;
    CHECK_EQ(r->k->Mmap(nullptr, 0x3000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, &m), 0);
    r->mem = static_cast<uint8_t*>(m);
    CHECK_EQ(r->k->Mmap(nullptr, LnicRig::kPoolLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, &m), 0);
    r->pool = static_cast<uint8_t*>(m);
  } else {
    r->mem = MapBuffer(0x3000);
    r->pool = MapBuffer(LnicRig::kPoolLen);
  }
  uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  CHECK_EQ(MapDma(*r->k, r->l.container, r->mem, r->kMem, 0x3000, rw), 0);
  CHECK_EQ(MapDma(*r->k, r->l.container, r->pool, r->kPool, LnicRig::kPoolLen, rw), 0);
  CHECK_EQ(SetMaster(*r->k, r->l.device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
}

// After a reset: both rings set up again, the device enabled (loopback).
void ProgramLnic(LnicRig* r) {
  CHECK(WaitFor([&] { return r->Get(L::kStatus) == L::kStatusReady; }));
  for (auto [block, off] : {std::pair<uint32_t, uint64_t>{L::kTxq, 0}, {L::kRxq, 0x1000}}) {
    r->Set(block + L::kQBaseLo, static_cast<uint32_t>(r->kMem + off));
    r->Set(block + L::kQBaseHi, 0);
    r->Set(block + L::kQSize, LnicRig::kSize);
    r->Set(block + L::kQHwbLo, static_cast<uint32_t>(r->kMem + 0x2000 + off / 0x40));
    r->Set(block + L::kQHwbHi, 0);
    r->Set(block + L::kQCtrl, L::kQCtrlEnable | L::kQCtrlHwb);
  }
  r->Set(L::kCtrl, L::kCtrlEnable);
}

void CloseLnic(LnicRig* r, bool seam) {
  r->k->Munmap(r->user_regs, 0x10000);
  if (seam) {
    r->k->Munmap(r->mem, 0x3000);
    r->k->Munmap(r->pool, LnicRig::kPoolLen);
  } else {
    munmap(r->mem, 0x3000);
    munmap(r->pool, LnicRig::kPoolLen);
  }
  CloseLegacy(*r->k, &r->l);
  CHECK_EQ(r->k->OpenObjectCount(), 0u);
}

// A loopback driver on freshly programmed rings: 32 frames in flight, buffer i carries its frame
// number; returns the frames that came back intact, stopping after `frames`, at `stop`, or when
// the device halts.
uint32_t LnicLoop(LnicRig* r, uint32_t frames, const std::atomic<bool>* stop) {
  uint32_t tx = 0, rx = 0, ok = 0;
  for (uint32_t i = 0; i < LnicRig::kSize; i++) {  // post every RX slot: buffers 64..127
    uint32_t* d = r->Desc(true, i);
    d[0] = static_cast<uint32_t>(r->kPool + (64 + i) * 2048);
    d[1] = 0;
    d[2] = 2048;
    __atomic_store_n(&d[3], 64 + i, __ATOMIC_RELAXED);
  }
  r->Set(L::kRxq + L::kQPidx, LnicRig::kSize);
  uint32_t rx_posted = LnicRig::kSize;
  while (ok < frames && !(r->Get(L::kStatus) & L::kStatusHalted) && !(stop && *stop)) {
    while (tx - rx < 32 && tx < frames) {  // TX buffer = tx % 32, holding its number
      uint32_t b = tx % 32;
      memcpy(r->pool + b * 2048, &tx, 4);
      uint32_t* d = r->Desc(false, tx);
      d[0] = static_cast<uint32_t>(r->kPool + b * 2048);
      d[1] = 0;
      d[2] = 60;
      d[3] = b;
      tx++;
    }
    r->Set(L::kTxq + L::kQPidx, tx);
    uint32_t* d = r->Desc(true, rx);
    if (!(__atomic_load_n(&d[3], __ATOMIC_ACQUIRE) >> 16 & L::kFlagDd)) {
      std::this_thread::yield();
      continue;
    }
    uint32_t got = 0;
    memcpy(&got, r->pool + (d[3] & 0xffff) * 2048, 4);
    ok += got == rx && d[2] == 60;
    __atomic_store_n(&d[3], d[3] & 0xffff, __ATOMIC_RELAXED);  // re-post the same buffer
    rx++;
    r->Set(L::kRxq + L::kQPidx, ++rx_posted);
  }
  return ok;
}

void TestLnic() {
  for (bool seam : {true, false}) {
    LnicRig r;
    OpenLnic(&r, seam);
    std::shared_ptr<vfiocdx::mock::LnicPort> port;
    CHECK_EQ(r.k->Lnic("cdx-00:04", &port), 0);
    CHECK_EQ(r.k->Lnic("cdx-00:00", &port), -EINVAL);  // the cdx-test model
    CHECK_EQ(r.k->Lnic("cdx-00:04", &port), 0);
    CHECK_EQ(port->SetScheduler(vfiocdx::mock::LnicScheduler::kBusy, -1), 0);
    ProgramLnic(&r);
    // Traffic on a driver thread while this thread switches schedulers and steps when stepped.
    std::atomic<bool> done(false);
    uint32_t ok = 0;
    std::thread driver([&] {
      ok = LnicLoop(&r, 3000, nullptr);
      done = true;
    });
    int round = 0;
    while (!done) {
      auto s = static_cast<vfiocdx::mock::LnicScheduler>(round++ % 3);
      CHECK_EQ(port->SetScheduler(s, -1), 0);
      for (int i = 0; i < 200 && !done; i++) {
        if (s == vfiocdx::mock::LnicScheduler::kStepped) {
          CHECK(port->Step(16, 1000) >= 0);
        } else {
          CHECK_EQ(port->Step(16, 0), -EBUSY);
          std::this_thread::yield();
        }
      }
    }
    driver.join();
    CHECK_EQ(ok, 3000u);
    CHECK_EQ(r.Get(L::kErr), 0u);
    CHECK_EQ(r.k->Status("cdx-00:04").dma_errors, 0u);
    // The pool unmapped under running traffic: a fault, latched and counted; never a crash.
    CHECK_EQ(port->SetScheduler(vfiocdx::mock::LnicScheduler::kBusy, -1), 0);
    r.Set(L::kCtrl, L::kCtrlReset);
    CHECK(WaitFor([&] { return r.Get(L::kCtrl) == 0; }));
    ProgramLnic(&r);
    std::atomic<bool> stop(false);
    std::thread driver2([&] { LnicLoop(&r, 1u << 30, &stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK_EQ(UnmapDma(*r.k, r.l.container, r.kPool, LnicRig::kPoolLen), 0);
    CHECK(WaitFor([&] { return (r.Get(L::kStatus) & L::kStatusHalted) != 0; }));
    stop = true;
    driver2.join();
    CHECK((r.Get(L::kErr) & (L::kErrTxBufFault | L::kErrRxBufFault)) != 0);
    uint64_t at = r.Get(L::kErrIovaLo) | static_cast<uint64_t>(r.Get(L::kErrIovaHi)) << 32;
    CHECK(at >= r.kPool && at < r.kPool + LnicRig::kPoolLen);
    CHECK(r.k->Status("cdx-00:04").dma_errors > 0);
    // A reset (CTRL.RESET) brings it back.
    r.Set(L::kCtrl, L::kCtrlReset);
    CHECK(WaitFor([&] { return r.Get(L::kCtrl) == 0 && r.Get(L::kStatus) == L::kStatusReady; }));
    CHECK_EQ(r.Get(L::kErr), 0u);
    CloseLnic(&r, seam);
    // The device is gone with its kernel: the port answers -ENODEV, never touches freed memory.
    r.k.reset();
    CHECK_EQ(port->Step(1, 0), -ENODEV);
    CHECK_EQ(port->SetScheduler(vfiocdx::mock::LnicScheduler::kStepped, -1), -ENODEV);
  }
}
// What the mock answers where userspace asks about itself (/proc/self) and about the kernel's
// build (/sys/module), and the permission checks a caller other than root meets.
void TestProcAndCredentials() {
  auto k = Boot("linux-6.12", 0, 65536);
  std::string s;
  CHECK_EQ(k->ReadFile("/proc/self/limits", &s), 0);
  CHECK(s.rfind("Limit                     Soft Limit           Hard Limit           Units     \n", 0) == 0);
  CHECK(s.find("\nMax locked memory         65536                65536                bytes     \n") != std::string::npos);
  CHECK_EQ(k->ReadFile("/proc/self/status", &s), 0);
  CHECK(s.find("\nUid:\t0\t0\t0\t0\n") != std::string::npos);
  CHECK(s.find("\nGroups:\t \n") != std::string::npos);
  CHECK(s.find("\nCapEff:\t000001ffffffbfff\n") != std::string::npos);  // all but CAP_IPC_LOCK
  CHECK_EQ(k->WriteFile("/proc/self/limits", "x"), -EACCES);
  struct stat st;
  CHECK_EQ(k->Stat("/sys/module/iommufd", &st), -ENOENT);  // CONFIG_IOMMUFD=n

  auto fd = Boot("linux-6.12-iommufd", 0, 0);
  CHECK_EQ(fd->ReadFile("/proc/self/limits", &s), 0);
  CHECK(s.find("\nMax locked memory         unlimited            unlimited            bytes     \n") != std::string::npos);
  CHECK_EQ(fd->ReadFile("/sys/module/iommufd/parameters/allow_unsafe_interrupts", &s), 0);
  CHECK_STR(s, "N\n");
  CHECK_EQ(fd->WriteFile("/sys/module/iommufd/parameters/allow_unsafe_interrupts", "1"), 1);
  fd->ReadFile("/sys/module/iommufd/parameters/allow_unsafe_interrupts", &s);
  CHECK_STR(s, "Y\n");

  // A caller other than root: root-owned nodes by their mode bits, no capabilities.
  KernelConfig c;
  ProfileConfig("linux-6.12", &c);
  c.uid = 1000;
  c.gid = 1000;
  c.cap_sys_rawio = false;
  std::string err;
  auto user = MockKernel::Create(c, &err);
  DeviceSpec d0 = Fixture(0);
  d0.bind = true;  // bound by the kernel, as at boot
  CHECK_EQ(user->AddDevice(d0, &err), 0);
  CHECK_EQ(user->AddDevice(Fixture(1), &err), 0);
  CHECK_STR(user->Status(kDev0).driver, "vfio-cdx");
  CHECK_EQ(user->ReadFile(kSysDev0 + "/vendor", &s), 0);              // 0444
  CHECK_EQ(user->WriteFile(kSysDev1 + "/driver_override", "vfio-cdx"), -EACCES);  // 0644 root
  CHECK_EQ(BindVfio(*user, kDev1), -EACCES);
  int container = user->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);  // 0666
  CHECK(container >= 0);
  user->Close(container);
  CHECK_EQ(user->Open(GroupNode(*user, kDev0), O_RDWR | O_CLOEXEC), -EACCES);  // 0600 root
  CHECK_EQ(user->ReadFile("/proc/self/status", &s), 0);
  CHECK(s.find("\nUid:\t1000\t1000\t1000\t1000\n") != std::string::npos);
  CHECK(s.find("\nCapEff:\t0000000000000000\n") != std::string::npos);

  // gid 0 gets the group bits: /dev/iommu is 0660 root:root.
  ProfileConfig("cdev", &c);
  c.uid = 1000;
  c.gid = 0;
  auto wheel = MockKernel::Create(c, &err);
  int iommu = wheel->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK(iommu >= 0);
  wheel->Close(iommu);

  // A kernel without a CDX bus has no /sys/bus/cdx and takes no devices.
  ProfileConfig("linux-6.12", &c);
  c.cdx_bus = false;
  auto nobus = MockKernel::Create(c, &err);
  CHECK_EQ(nobus->Stat("/sys/bus/cdx", &st), -ENOENT);
  CHECK_EQ(nobus->Stat("/sys/bus", &st), 0);
  CHECK_EQ(nobus->AddDevice(Fixture(0), &err), -ENODEV);
  CHECK_EQ(nobus->OpenObjectCount(), 0);
  CHECK_EQ(user->OpenObjectCount(), 0);
}

}  // namespace

struct TestCase {
  const char* name;
  void (*run)();
};

const TestCase kTests[] = {
    {"SysfsFormats", TestSysfsFormats},
    {"Binding", TestBinding},
    {"DispatchAndInfo", TestDispatchAndInfo},
    {"OpenCloseResetFeature", TestOpenCloseResetFeature},
    {"Mmap", TestMmap},
    {"SetIrqs", TestSetIrqs},
    {"GroupAndContainer", TestGroupAndContainer},
    {"Type1", TestType1},
    {"Noiommu", TestNoiommu},
    {"Cdev", TestCdev},
    {"Iommufd", TestIommufd},
    {"RemoveBlocks", TestRemoveBlocks},
    {"FaultsAndTrace", TestFaultsAndTrace},
    {"NoLeaks", TestNoLeaks},
    {"CdmaType1", TestCdmaType1},
    {"CdmaIommufd", TestCdmaIommufd},
    {"CdmaConcurrentUnmap", TestCdmaConcurrentUnmap},
    {"ModelThreads", TestModelThreads},
    {"Lnic", TestLnic},
    {"ProcAndCredentials", TestProcAndCredentials},
};

// mock_selftest [NAME...]: every test, or those whose name contains one of the arguments.
int main(int argc, char** argv) {
  for (const TestCase& t : kTests) {
    bool run = argc < 2;
    for (int i = 1; i < argc && !run; i++) run = strstr(t.name, argv[i]) != nullptr;
    if (run) t.run();
  }
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail == 0 ? 0 : 1;
}
