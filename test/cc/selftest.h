// selftest.h — the mock kernel's C++ self-test: its harness and the helpers its tests share.
//
// The tests drive MockKernel only through the Kernel seam, with the raw structs of abi.h, and check
// the errno and state rules of docs/kernel-rules.md (cited K-AREA-N) for the mock's profiles. There
// is one file per mock file (src-native/mock/) and so per kernel file it mirrors, named after it:
// cdx_bus_test.cc checks cdx_bus.cc (drivers/cdx/cdx.c), and so on; each file starts by naming the
// kernel files and rules it checks. Plain C++: CHECK prints file:line on failure, the last line of
// the run is "N passed, M failed", and the exit status is non-zero on any failure.
//
// Build and run: scripts/build-mock-selftest.sh [NAME...] (only the tests whose name contains one).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>  // the tests compare results with -errno
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "abi.h"
#include "mock/axi_cdma_regs.h"
#include "mock/cdx_test_fixture.h"
#include "mock/cdx_test_regs.h"
#include "mock/mock_kernel.h"

namespace selftest {

using namespace vfiocdx;                    // NOLINT(build/namespaces)
using namespace vfiocdx::abi;               // NOLINT(build/namespaces): the raw ioctl structs and numbers
using namespace vfiocdx::mock::axi_cdma;    // NOLINT(build/namespaces): the AXI CDMA register map
using namespace vfiocdx::mock::cdx_test;    // NOLINT(build/namespaces): the fixture and the cdx-test registers
using vfiocdx::mock::CallRecord;
using vfiocdx::mock::DeviceSpec;
using vfiocdx::mock::Fault;
using vfiocdx::mock::KernelConfig;
using vfiocdx::mock::MockKernel;
using vfiocdx::mock::ProfileConfig;
using vfiocdx::mock::RegionSpec;

// ---- harness

extern int g_pass;
extern int g_fail;

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (cond) {                                                             \
      ::selftest::g_pass++;                                                 \
    } else {                                                                \
      ::selftest::g_fail++;                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                       \
  } while (0)

#define CHECK_EQ(a, b)                                                                        \
  do {                                                                                        \
    long long va_ = static_cast<long long>(a);                                                \
    long long vb_ = static_cast<long long>(b);                                                \
    if (va_ == vb_) {                                                                         \
      ::selftest::g_pass++;                                                                   \
    } else {                                                                                  \
      ::selftest::g_fail++;                                                                   \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, \
              #b, va_, vb_);                                                                  \
    }                                                                                         \
  } while (0)

#define CHECK_STR(a, b)                                                                              \
  do {                                                                                               \
    std::string sa_ = (a);                                                                           \
    std::string sb_ = (b);                                                                           \
    if (sa_ == sb_) {                                                                                \
      ::selftest::g_pass++;                                                                          \
    } else {                                                                                         \
      ::selftest::g_fail++;                                                                          \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__, __LINE__, #a, #b, \
              sa_.c_str(), sb_.c_str());                                                             \
    }                                                                                                \
  } while (0)

// Adds a test to the run (returns true, for SELFTEST's static initialiser). A second test of the
// same name is a programming error: the run aborts.
bool Register(const char* name, void (*run)());

// SELFTEST(Name) { ... } defines the test "Name" (function TestName) and registers it. main() runs
// every registered test, or those whose name contains one of its arguments: a file's tests in the
// order they are defined, the files in the order they are linked (build-mock-selftest.sh: by name).
// Each test boots its own kernels, so no test depends on another having run.
#define SELFTEST(Name)                                                                  \
  void Test##Name();                                                                    \
  [[maybe_unused]] const bool kRegistered##Name = ::selftest::Register(#Name, Test##Name); \
  void Test##Name()

// ---- the fixture: the devices of fixtures/cdx-test-devices.json (generated: mock/cdx_test_fixture.h)
// The tests are written for its shape: the first device has the cdx-test register model (region 0
// its register page, region 1 read-only with a pattern) and MSI vectors; the second is plain
// memory without MSI, its region 1 not a page multiple.

const DeviceSpec& Fixture(size_t i);
// printf into a std::string: the expected text of a sysfs attribute.
__attribute__((format(printf, 1, 2))) std::string Fmt(const char* format, ...);
// A device's name on the bus: cdx-BB:DD (K-BUS-1).
std::string CdxName(const DeviceSpec& d);
// The 32-bit little-endian word at byte `off` of a region's initial contents.
uint32_t InitWord(const RegionSpec& r, size_t off);

extern const size_t kPage;
extern const std::string kDev0;     // CdxName(Fixture(0))
extern const std::string kDev1;     // CdxName(Fixture(1))
extern const std::string kSysDev0;  // its directory under /sys/bus/cdx/devices
extern const std::string kSysDev1;

// ---- the seam: boot, bind, open

// A mock kernel of `profile` with the fixture's devices, unbound; nullptr for an unknown profile.
std::shared_ptr<MockKernel> Boot(const std::string& profile, size_t page_size = 0, uint64_t memlock = 0,
                                 uint32_t dma_limit = 65535);
// driver_override = vfio-cdx, then bind: the bind's result.
long BindVfio(MockKernel& k, const std::string& dev);
// The device's group node, found the way the library finds it (iommu_backend.cc, K-GROUP-7):
// /dev/vfio/N, or /dev/vfio/noiommu-N when only that exists; "" without a group.
std::string GroupNode(MockKernel& k, const std::string& dev);
long Io(MockKernel& k, int fd, unsigned long req, const void* arg);

// The legacy path up to a device fd. Stops at the first failure and returns its errno.
struct Legacy {
  int container = -1;
  int group = -1;
  int device = -1;
};

long OpenLegacy(MockKernel& k, const std::string& dev, Legacy* l, unsigned long iommu = VFIO_TYPE1v2_IOMMU);
void CloseLegacy(MockKernel& k, Legacy* l);

// VFIO_DEVICE_BIND_IOMMUFD of a cdev fd to an iommufd (K-CDEV-2); *devid gets the device's id.
long Bind(MockKernel& k, int dev, int iommufd, uint32_t* devid = nullptr);

// struct vfio_irq_set followed by `count` s32 fds.
long SetIrqs(MockKernel& k, int dev, uint32_t flags, uint32_t start, uint32_t count, const int32_t* fds = nullptr,
             uint32_t argsz = 0, uint32_t index = 0);

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

size_t CountFds();
uint64_t ReadEventfd(int fd);
// A register of the device's region 0, read from the device's side.
uint32_t Reg(MockKernel& k, const std::string& dev, uint32_t off);

// ---- device models and DMA

// Polls `pred` until it holds (true) or `ms` have passed (false).
bool WaitFor(const std::function<bool()>& pred, int ms = 5000);
// Waits for an eventfd to become readable and reads it: the count, or 0 on timeout.
uint64_t WaitEventfd(int fd, int ms = 5000);
long SetMaster(MockKernel& k, int dev, uint32_t op);
long MapDma(MockKernel& k, int container, const void* va, uint64_t iova, uint64_t size, uint32_t flags);
long UnmapDma(MockKernel& k, int container, uint64_t iova, uint64_t size);
long IoasMap(MockKernel& k, int iommufd, uint32_t ioas, const void* va, uint64_t iova, uint64_t len, uint32_t prot);
uint8_t* MapBuffer(size_t len);
void Fill(uint8_t* p, size_t len, uint32_t seed);

// An AXI CDMA (axi_cdma_model.cc) at cdx-00:02; the register map is the model's own (axi_cdma_regs.h).
extern const std::string kCdma;
constexpr uint32_t kCrIrqEn = kCrIocIrqEn | kCrErrIrqEn;
constexpr uint32_t kEvTrigger = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;

DeviceSpec CdmaSpec(uint8_t dev = 2);
// A kernel with the fixture devices plus a bound CDMA at cdx-00:02.
std::shared_ptr<MockKernel> BootCdma(const std::string& profile);

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
void OpenCdmaLegacy(MockKernel& k, Legacy* l, CdmaRegs* r, int ev, unsigned long iommu = VFIO_TYPE1v2_IOMMU);

}  // namespace selftest
