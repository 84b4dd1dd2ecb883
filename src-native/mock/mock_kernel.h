// mock_kernel.h — a Linux 6.12 kernel in miniature, below the syscall seam.
//
// MockKernel implements the Kernel interface (../kernel.h) for the objects a
// vfio-cdx user touches: the CDX bus and its sysfs, the driver core's
// bind/unbind, the VFIO container/group/cdev nodes, iommufd, and the vfio-cdx
// driver. It is organised like the kernel code it mirrors (one file per kernel
// file) and reproduces each handler's check order and errno exactly
// (docs/kernel-rules.md, whose rule numbers the code cites). File descriptors it hands out are real
// descriptors (memfds named after the object), so they appear in /proc/self/fd,
// carry O_CLOEXEC when asked, and cannot collide with the process's other fds.
// Region memory is a memfd per region, really mmapped: a user mapping and the
// device-side view `DeviceRegion()` share the same pages.
//
// Calls on descriptors the mock did not create (eventfds, pipes, anonymous
// mmap) go to the real kernel: the mock emulates only what it owns.
//
// Ownership and threads: one MockKernel is shared (shared_ptr) by every JS
// environment that uses it; all state is guarded by one mutex, so any thread may
// call any method. A blocking operation (writing `remove` while a device fd is
// open, K-CORE-8) waits on a condition variable without holding the mutex. Every
// device with a model (DeviceSpec::model) has its own thread, started when the
// device is added and joined when it is removed or the MockKernel is destroyed;
// it polls the device's registers while there is something to watch and does the
// device's DMA through the mock IOMMU (docs/mock-device-models.md).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../kernel.h"

namespace vfiocdx {
namespace mock {

class LnicPort;  // lnic_model.h

// Kernel build + boot configuration. The named profiles are made by
// ProfileConfig(); every field can also be set directly.
struct KernelConfig {
  std::string profile = "linux-6.12";
  bool iommu = true;                   // an IOMMU exists: a CDX device gets an iommu group when a driver probes
  bool dt_dma_ranges = true;           // the controller's DT node has dma-ranges (else no IOMMU group, even with iommu)
  bool iommufd = false;                // CONFIG_IOMMUFD=y (and VFIO_DEVICE_CDEV=y): /dev/iommu, cdev nodes
  bool vfio_container = true;          // CONFIG_VFIO_CONTAINER; false: /dev/vfio/vfio is iommufd's (IOMMUFD_VFIO_CONTAINER)
  bool vfio_cdx_detach_ioas = false;   // vfio-cdx has .detach_ioas (upstream 6.12 does not: probe -EINVAL with iommufd)
  bool noiommu_config = false;         // CONFIG_VFIO_NOIOMMU=y
  bool noiommu_enabled = false;        // vfio.enable_unsafe_noiommu_mode=1
  bool cdx_bus = true;                 // CONFIG_CDX_BUS: /sys/bus/cdx exists (false: a kernel without the bus)
  bool vfio_cdx_loaded = true;         // /sys/bus/cdx/drivers/vfio-cdx exists
  bool cap_sys_rawio = true;           // the simulated caller holds CAP_SYS_RAWIO
  size_t page_size = 0;                // 0: the host's; else a multiple of it (4K/16K/64K)
  uint32_t dma_entry_limit = 65535;    // vfio_iommu_type1 dma_entry_limit
  uint64_t memlock_limit = 0;          // RLIMIT_MEMLOCK in bytes charged by DMA pinning; 0 = unlimited
  // The simulated caller's fsuid/fsgid (no supplementary groups). Every file the mock serves is owned
  // by root:root; a caller other than root is held to the mode bits (generic_permission) and, with
  // cap_sys_rawio, holds no capability but CAP_SYS_RAWIO (/proc/self/status says the same).
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// Returns false (and leaves *out alone) for an unknown profile name. Profiles:
//   linux-6.12          group/container + type1; IOMMUFD=n, so no cdev, no /dev/iommu (the default)
//   linux-6.12-iommufd  stock 6.12 with IOMMUFD=y: vfio-cdx probe fails with EINVAL (no detach_ioas)
//   cdev                IOMMUFD=y and vfio-cdx with .detach_ioas: cdev + iommufd and group path work
//   iommufd-compat      IOMMUFD=y, VFIO_CONTAINER=n: iommufd provides /dev/vfio/vfio (vfio_compat.c);
//                       vfio-cdx with .detach_ioas, CONFIG_VFIO_NOIOMMU=y but not enabled
//   noiommu             no IOMMU, CONFIG_VFIO_NOIOMMU + enable_unsafe_noiommu_mode, IOMMUFD=y with the
//                       detach_ioas fix (what the project's VM kernel is): noiommu-N groups, no cdev
bool ProfileConfig(const std::string& name, KernelConfig* out);

// The names the control side accepts, for input validation and for error messages that list them.
std::vector<std::string> ProfileNames();
std::vector<std::string> ModelNames();         // DeviceSpec::model values other than ""
std::vector<std::string> IoctlNames();         // every request name a kIoctl fault can match
std::vector<std::string> ControllerOpNames();  // what a kController fault can match

struct RegionSpec {
  uint64_t size = 0;            // > 0
  uint64_t addr = 0;            // physical start; 0 = the mock picks a page-aligned address
  bool read_only = false;       // IORESOURCE_READONLY: no WRITE flag, PROT_WRITE mmap → EPERM
  std::vector<uint8_t> init;    // initial contents (the rest is zero); restored by every reset
};

struct DeviceSpec {
  uint8_t bus = 0;              // name cdx-%02x:%02x; the bus device cdx-%02x is created with the first device
  uint8_t dev = 0;
  uint16_t vendor = 0x10ee;
  uint16_t device = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_device = 0;
  uint32_t class_code = 0;      // 24 bits
  uint8_t revision = 0;
  std::vector<RegionSpec> regions;  // at most 4 (MAX_CDX_DEV_RESOURCES)
  uint32_t num_msi = 0;
  // "" (plain memory), "cdx-test" (the test device register model, fixtures/cdx-test-devices.json),
  // "axi-cdma" (an AXI CDMA copy engine in simple mode, docs/mock-device-models.md) or "lnic" (a
  // simulated loopback NIC with descriptor rings, docs/lnic.md)
  std::string model;
  int iommu_group = -1;         // -1: the next free group number
  bool bus_master_supported = true;  // false: the controller refuses CLEAR_MASTER, so BME_SUPPORT is never set
  bool bind = false;            // created with driver_override=vfio-cdx and probed
};

// Device-side state, for tests.
struct DeviceStatus {
  bool exists = false;
  uint64_t instance = 0;        // which device of that name: a device re-added by a rescan is a new one
  bool bus_master = false;
  uint64_t resets = 0;          // controller resets (open, last close, VFIO_DEVICE_RESET, sysfs reset)
  std::string driver;           // "" when unbound
  uint32_t open_count = 0;      // vfio open_count (first open / last close hooks run at 0<->1)
  bool msi_enabled = false;
  uint32_t num_regions = 0;
  uint64_t dma_errors = 0;      // DMA accesses by the device that faulted (DmaRead/DmaWrite and models)
};

// One injected failure. The mock returns -err instead of performing the call, with
// no side effect, when a call matches; `skip` matching calls pass first; `times`
// matching calls then fail (-1: all of them).
struct Fault {
  enum class Op { kIoctl, kOpen, kMmap, kEventfd, kSysfsRead, kSysfsWrite, kReadDir, kReadLink, kController };
  Op op = Op::kIoctl;
  // kIoctl: request name ("VFIO_DEVICE_RESET") or "*". kOpen/kSysfs*/kReadDir/kReadLink: a
  // substring of the path, or "*". kMmap/kEventfd: "*" or a device name. kController: "reset",
  // "set_master", "clear_master", "msi_enable" — the controller's dev_configure() fails with
  // err, which the kernel then reports the way it reports a real controller error.
  std::string match = "*";
  std::string device;           // optional: only calls on this device ("cdx-00:00")
  int err = 5;                  // positive errno (EIO)
  int times = 1;
  int skip = 0;
};

// One call through the seam, when tracing is on.
struct CallRecord {
  std::string op;               // "open", "ioctl", "mmap", "read", "write", "close", ...
  std::string name;             // ioctl request name, or the path
  int fd = -1;
  long result = 0;
};

class MockKernel : public Kernel, public std::enable_shared_from_this<MockKernel> {
 public:
  static std::shared_ptr<MockKernel> Create(const KernelConfig& config, std::string* error);
  ~MockKernel() override;

  // ---- Kernel (seam)
  int Open(const std::string& path, int flags) override;
  int Close(int fd) override;
  long Ioctl(int fd, unsigned long request, uintptr_t arg) override;
  int Mmap(void* addr, size_t length, int prot, int flags, int fd, int64_t offset, void** out) override;
  int Munmap(void* addr, size_t length) override;
  long Read(int fd, void* buf, size_t count) override;
  long Write(int fd, const void* buf, size_t count) override;
  int Eventfd(unsigned int initval, int flags) override;
  int ReadDir(const std::string& path, std::vector<std::string>* names) override;
  int ReadLink(const std::string& path, std::string* target) override;
  int ReadFile(const std::string& path, std::string* contents) override;
  long WriteFile(const std::string& path, const std::string& data) override;
  int Stat(const std::string& path, struct stat* st) override;
  size_t PageSize() const override;  // the emulated PAGE_SIZE (KernelConfig::page_size)
  const char* Name() const override { return "mock"; }

  // ---- control side (tests, simulated hardware)
  const KernelConfig& config() const;
  // Adds a device as the controller's scan would (0, or -errno with *error set).
  int AddDevice(const DeviceSpec& spec, std::string* error);
  // Device-side view of region memory. The pointer stays valid for the MockKernel's lifetime.
  // `instance` (DeviceStatus::instance), when not 0, must be the device's: -ESTALE otherwise.
  int DeviceRegion(const std::string& device, uint64_t instance, uint32_t index, uint8_t** data, size_t* size);
  DeviceStatus Status(const std::string& device);
  std::vector<std::string> DeviceNames();
  // The device raises MSI vector `vector` (what the cdx-test model does when MSI_DOORBELL is written):
  // 0 when the vector's eventfd was signalled, -EAGAIN when the message was lost (MSI disabled in
  // the device or no trigger attached), -EINVAL for a vector the device lacks, -ENODEV unknown device.
  // Thread-safe (takes the mutex): callable from any thread, e.g. a test's own "hardware" thread,
  // but not from inside a device model (models run with the mutex held and raise MSIs directly).
  int RaiseMsi(const std::string& device, uint32_t vector);
  // DMA as the device would do it: [iova, iova+len) is translated through the IOMMU domain the
  // device is attached to (type1: its group's container; iommufd: the IOAS of its attached HWPT;
  // noiommu or unattached: no translation) and copied from/to the process memory behind it.
  // Needs the device's bus mastering on (a device whose controller cannot switch it,
  // bus_master_supported = false, always has it). All or nothing: the whole range is checked
  // before a byte is copied. Returns 0; -EFAULT when some IOVA has no translation; -EACCES when a mapping lacks
  // READ (DmaRead) / WRITE (DmaWrite) permission; -EPERM when bus mastering is disabled; -EIO when
  // the process memory behind a mapping is no longer mapped; -ENODEV for an unknown device. Every
  // error except -ENODEV counts in DeviceStatus::dma_errors. len 0 is a no-op returning 0.
  int DmaRead(const std::string& device, uint64_t iova, void* dst, size_t len);
  int DmaWrite(const std::string& device, uint64_t iova, const void* src, size_t len);
  void InjectFault(const Fault& fault);
  // Whether `fragment` is part of a path this kernel serves now, or would serve for one of its
  // devices once bound (device nodes, vfio-dev entries, group links): a path fault that can never
  // match is a typo. On false, *examples gets a few paths it does serve.
  bool ServesPath(const std::string& fragment, std::vector<std::string>* examples);
  void ClearFaults();
  void SetCapSysRawio(bool on);
  void SetTracing(bool on);
  std::vector<CallRecord> TakeTrace();
  // Descriptors and mappings the mock currently holds for emulated objects (leak checks).
  size_t OpenObjectCount();
  // The control side of an "lnic" device's model (lnic_model.h): 0, -ENODEV (no such device) or
  // -EINVAL (its model is not lnic). Defined in lnic_model.cc.
  int Lnic(const std::string& device, std::shared_ptr<LnicPort>* out);

  struct Impl;

 private:
  explicit MockKernel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mock
}  // namespace vfiocdx
