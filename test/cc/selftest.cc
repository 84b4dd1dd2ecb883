// selftest.cc — the C++ self-test's harness (test registry, main) and the helpers selftest.h
// declares.
#include "selftest.h"

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace selftest {

int g_pass = 0;
int g_fail = 0;

namespace {

struct TestCase {
  const char* name;
  void (*run)();
};

std::vector<TestCase>& Tests() {
  static std::vector<TestCase> tests;  // filled by SELFTEST's static initialisers, in any file's order
  return tests;
}

}  // namespace

bool Register(const char* name, void (*run)()) {
  for (const TestCase& t : Tests()) {
    if (strcmp(t.name, name) == 0) {
      fprintf(stderr, "two tests named %s\n", name);
      abort();
    }
  }
  Tests().push_back({name, run});
  return true;
}

const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

// ---- the fixture

const DeviceSpec& Fixture(size_t i) {
  static const std::vector<DeviceSpec> devices = FixtureDevices();
  return devices.at(i);
}

__attribute__((format(printf, 1, 2))) std::string Fmt(const char* format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  return buf;
}

std::string CdxName(const DeviceSpec& d) { return Fmt("cdx-%02x:%02x", d.bus, d.dev); }

const std::string kDev0 = CdxName(Fixture(0));
const std::string kDev1 = CdxName(Fixture(1));
const std::string kSysDev0 = "/sys/bus/cdx/devices/" + kDev0;
const std::string kSysDev1 = "/sys/bus/cdx/devices/" + kDev1;

uint32_t InitWord(const RegionSpec& r, size_t off) {
  return static_cast<uint32_t>(r.init.at(off)) | static_cast<uint32_t>(r.init.at(off + 1)) << 8 |
         static_cast<uint32_t>(r.init.at(off + 2)) << 16 | static_cast<uint32_t>(r.init.at(off + 3)) << 24;
}

// ---- the seam

std::shared_ptr<MockKernel> Boot(const std::string& profile, size_t page_size, uint64_t memlock,
                                 uint32_t dma_limit) {
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
  struct stat st;
  bool noiommu = k.Stat("/dev/vfio/" + id, &st) == -ENOENT && k.Stat("/dev/vfio/noiommu-" + id, &st) == 0;
  return "/dev/vfio/" + std::string(noiommu ? "noiommu-" : "") + id;
}

long Io(MockKernel& k, int fd, unsigned long req, const void* arg) {
  return k.Ioctl(fd, req, reinterpret_cast<uintptr_t>(arg));
}

long OpenLegacy(MockKernel& k, const std::string& dev, Legacy* l, unsigned long iommu) {
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

long Bind(MockKernel& k, int dev, int iommufd, uint32_t* devid) {
  vfio_device_bind_iommufd b = {16, 0, iommufd, 0};
  long r = Io(k, dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
  if (devid) *devid = b.out_devid;
  return r;
}

long SetIrqs(MockKernel& k, int dev, uint32_t flags, uint32_t start, uint32_t count, const int32_t* fds,
             uint32_t argsz, uint32_t index) {
  uint32_t w[5 + 8] = {};
  w[0] = argsz ? argsz : static_cast<uint32_t>(VFIO_IRQ_SET_MINSZ + (fds ? 4 * count : 0));
  w[1] = flags;
  w[2] = index;
  w[3] = start;
  w[4] = count;
  if (fds) memcpy(&w[5], fds, 4 * std::min<uint32_t>(count, 8));
  return Io(k, dev, VFIO_DEVICE_SET_IRQS, w);
}

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

// ---- device models and DMA

const std::string kCdma = "cdx-00:02";

bool WaitFor(const std::function<bool()>& pred, int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

uint64_t WaitEventfd(int fd, int ms) {
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

DeviceSpec CdmaSpec(uint8_t dev) {
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

std::shared_ptr<MockKernel> BootCdma(const std::string& profile) {
  auto k = Boot(profile);
  std::string err;
  CHECK_EQ(k->AddDevice(CdmaSpec(), &err), 0);
  CHECK_EQ(BindVfio(*k, kCdma), 9);
  return k;
}

void OpenCdmaLegacy(MockKernel& k, Legacy* l, CdmaRegs* r, int ev, unsigned long iommu) {
  CHECK_EQ(OpenLegacy(k, kCdma, l, iommu), 0);
  void* p = nullptr;
  CHECK_EQ(k.Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l->device, 0, &p), 0);
  r->base = static_cast<uint8_t*>(p);
  int32_t fds[1] = {ev};
  CHECK_EQ(SetIrqs(k, l->device, kEvTrigger, 0, 1, fds), 0);
  CHECK_EQ(SetMaster(k, l->device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
}

// Whether the test `name` runs: every test without arguments, else those whose name contains one.
bool Selected(const char* name, int argc, char** argv) {
  if (argc < 2) return true;
  for (int i = 1; i < argc; i++) {
    if (strstr(name, argv[i]) != nullptr) return true;
  }
  return false;
}

}  // namespace selftest

// mock_selftest [NAME...]: every test, or those whose name contains one of the arguments.
int main(int argc, char** argv) {
  for (const selftest::TestCase& t : selftest::Tests()) {
    if (selftest::Selected(t.name, argc, argv)) t.run();
  }
  printf("%d passed, %d failed\n", selftest::g_pass, selftest::g_fail);
  return selftest::g_fail == 0 ? 0 : 1;
}
