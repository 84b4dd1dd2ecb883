// mock_internal.h — the state of the miniature kernel behind MockKernel, private to src-native/mock/.
//
// MockKernel::Impl holds every kernel object of the mock and the handlers that act on them. The
// handlers are member functions of Impl, but each is defined in the .cc file named after the kernel
// file it mirrors (vfio_group.cc ↔ drivers/vfio/group.c, ...), so a reader can put the two side by
// side. The kernel's object graph is kept: cdx_device → vfio_device (drvdata) → vfio_group →
// vfio_container / iommufd_ctx, and struct file → vfio_device_file.
//
// Threads: every handler runs with Impl::mu held (taken by the seam entry points in
// mock_kernel.cc). The places that drop it are the wait for a device's last file in
// vfio_unregister_group_dev() (K-CORE-8) and the join of a device model's thread in
// cdx_unregister_device(), which is why the sysfs store chain carries the Lock. Device models
// (device_model.h) run on their own threads and take Impl::mu for every step.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../abi.h"
#include "device_model.h"
#include "mock_kernel.h"

namespace vfiocdx {
namespace mock {

using Lock = std::unique_lock<std::mutex>;

// The granule of direct device DMA (Impl::DmaPage): every IOMMU mapping is aligned to it.
constexpr size_t kDmaPage = 4096;

struct OpenFile;
struct VfioContainer;
struct VfioDevice;
struct VfioGroup;
struct IommufdCtx;

// ---- drivers/cdx: resources and devices

// One CDX resource's backing memory: a memfd (page-rounded) mapped once for the device-side view.
// Owned by Impl::regions and freed only by ~Impl, so DeviceRegion() pointers outlive the device.
struct RegionMemory {
  int memfd = -1;
  uint8_t* view = nullptr;
  size_t mapped = 0;          // bytes mapped (size rounded up to the page size)
  uint64_t addr = 0;          // res->start
  uint64_t size = 0;          // resource_size(res)
  bool read_only = false;     // IORESOURCE_READONLY
  std::vector<uint8_t> init;  // contents restored by every reset
};

// struct cdx_device (include/linux/cdx/cdx_bus.h) plus the firmware state behind the controller.
// Owned by Impl::devices; freed by CdxUnregisterDevice() once nothing can reach it.
struct CdxDevice {
  std::string name;                   // cdx-BB:DD or, for a bus, cdx-BB
  uint64_t instance = 0;              // serial number: a device re-added by a rescan is a new instance
  bool is_bus = false;
  uint8_t bus_num = 0;
  uint8_t dev_num = 0;
  DeviceSpec spec;                    // ids, model, num_msi as the controller reported them
  std::vector<RegionMemory*> res;     // res[0..res_count-1]
  uint32_t num_msi = 0;
  bool has_override = false;          // dev->driver_override.name != NULL
  std::string driver_override;
  bool bound = false;                 // dev->driver == vfio-cdx
  std::unique_ptr<VfioDevice> vdev;   // dev_get_drvdata() while bound
  int iommu_group = -1;               // iommu_group id, -1: none
  bool dead = false;                  // device_del() has begun: gone from sysfs and name lookups
  bool unbinding = false;             // __device_release_driver() in progress (device_lock held)
  bool enabled = true;                // bus devices: the `enable` attribute
  // Firmware side (what the controller and the device model keep).
  bool bus_master = false;
  bool msi_enabled = false;
  uint64_t resets = 0;
  uint64_t msi_fired = 0;
  uint64_t dma_errors = 0;            // DMA accesses that faulted (DeviceStatus::dma_errors)
  std::unique_ptr<DeviceModel> model; // spec.model's register behaviour and thread; null: plain memory
};

// struct iommu_group (drivers/iommu/iommu.c). Owned by Impl::iommu_groups.
struct IommuGroup {
  int id = 0;
  std::string name;                   // iommu_group_set_name(); "" when unset
  std::vector<std::string> devices;
  const void* owner = nullptr;        // iommu_group_claim_dma_owner()
  int owner_cnt = 0;
};

// ---- drivers/vfio

// struct vfio_cdx_region / vfio_cdx_irq (drivers/vfio/cdx/private.h).
struct VfioCdxRegion {
  uint32_t flags = 0;
  uint64_t addr = 0;
  uint64_t size = 0;
};
struct VfioCdxIrq {
  int trigger = -1;                   // our own reference to the eventfd (a dup), -1: none
  std::string name;                   // "vfio-msi[%d](%s)"
};

// struct vfio_device + struct vfio_cdx_device. Owned by its CdxDevice (drvdata) while bound; the
// driver's remove waits until `refcount` (the registration) drops to zero before freeing it.
struct VfioDevice {
  CdxDevice* dev = nullptr;
  int index = -1;                     // vfio%d, device_ida
  std::shared_ptr<VfioGroup> group;
  unsigned open_count = 0;
  int refcount = 1;                   // vfio_device_try_get/put_registration
  bool cdev = false;                  // /dev/vfio/devices/vfioN exists (vfio_device_add)
  bool cdev_opened = false;
  // struct vfio_cdx_device
  std::vector<VfioCdxRegion> regions;
  uint32_t flags = 0;                 // BME_SUPPORT
  std::vector<VfioCdxIrq> cdx_irqs;
  uint32_t msi_count = 0;
  bool config_msi = false;
  // iommufd binding (vfio_iommufd_physical_bind/attach_ioas)
  std::shared_ptr<IommufdCtx> ictx;   // vdev->iommufd_device's context, null when unbound
  uint32_t devid = 0;
  uint32_t attached_hwpt = 0;         // vdev->iommufd_attached: the HWPT, 0: none
};

enum class VfioGroupType { kIommu, kNoIommu };

// struct vfio_group (drivers/vfio/group.c). Shared by the devices in it and by its open file; it
// leaves Impl::vfio_groups (and /dev/vfio) when its last device is unregistered.
struct VfioGroup {
  int minor = 0;                      // vfio.group_ida
  int iommu_group = -1;               // group->iommu_group; -1 once torn down
  VfioGroupType type = VfioGroupType::kIommu;
  std::string dev_name;               // "%s%d": "5" or "noiommu-5"
  int drivers = 1;
  std::vector<VfioDevice*> device_list;
  OpenFile* opened_file = nullptr;
  std::shared_ptr<VfioContainer> container;
  int container_users = 0;
  std::shared_ptr<IommufdCtx> iommufd;
  int cdev_device_open_cnt = 0;
};

enum class IommuDriver { kNone, kType1, kNoIommu };

// One DMA mapping of type1 (struct vfio_dma).
struct VfioDma {
  uint64_t iova = 0;
  uint64_t size = 0;
  uint64_t vaddr = 0;
  int prot = 0;
  bool vaddr_invalid = false;  // VFIO_DMA_UNMAP_FLAG_VADDR until a MAP_FLAG_VADDR update
};

// struct vfio_iommu (drivers/vfio/vfio_iommu_type1.c): the container's type1 data.
struct VfioIommu {
  bool v2 = false;
  std::map<uint64_t, VfioDma> dma_list;  // keyed by iova
  uint32_t dma_avail = 0;
  uint64_t pgsize_bitmap = 0;
  uint64_t locked = 0;                   // bytes charged against the memlock limit
};

// struct vfio_container (drivers/vfio/container.c). Kept alive by its file and by attached groups.
struct VfioContainer {
  std::vector<VfioGroup*> group_list;
  IommuDriver driver = IommuDriver::kNone;
  std::unique_ptr<VfioIommu> iommu;      // type1 data while driver == kType1
  bool noiommu = false;
};

// One area of an IOAS (struct iopt_area): [iova, iova+length) backed by user memory at user_va.
struct IoptArea {
  uint64_t iova = 0;
  uint64_t length = 0;
  uint64_t user_va = 0;
  int prot = 0;
};

// An object in an iommufd context's table (struct iommufd_object and the types the mock has).
struct IommufdObject {
  enum class Type { kIoas, kHwptPaging, kDevice };
  Type type = Type::kIoas;
  int users = 1;                         // refcount; 1 is the table's own reference
  // kIoas (struct iommufd_ioas / io_pagetable)
  std::map<uint64_t, IoptArea> areas;    // keyed by iova
  uint32_t hwpt = 0;                     // the IOAS's auto-domain HWPT, 0: no domain (nothing pinned)
  uint64_t pinned = 0;                   // bytes pinned into the domain (charged to locked_vm)
  // kHwptPaging (an automatically created domain)
  uint32_t ioas_id = 0;
  int devices = 0;
};

// struct iommufd_ctx (drivers/iommu/iommufd/main.c). A reference to the context is a reference to
// its file (iommufd_ctx_get() is get_file()), so bound devices and groups keep /dev/iommu's file
// alive; IommufdFopsRelease() destroys every object.
struct IommufdCtx {
  OpenFile* file = nullptr;
  std::map<uint32_t, IommufdObject> objects;  // the xarray
  uint32_t vfio_ioas = 0;                      // the VFIO compat IOAS, 0: none
  bool no_iommu_mode = false;
};

// struct vfio_device_file.
struct VfioDeviceFile {
  VfioDevice* device = nullptr;
  std::shared_ptr<VfioGroup> group;      // set for the group path, null for a cdev fd
  bool access_granted = false;
  std::shared_ptr<IommufdCtx> iommufd;
  uint32_t devid = 0;
};

enum class FileKind { kContainer, kGroup, kDevice, kIommufd, kSysfs };

// struct file: one emulated open file. Owned by Impl::files; `refs` counts the fd plus every
// reference the kernel would hold (a vma mapping it, the group's get_file() while a device of the
// group is open). The release handler runs when refs reaches zero, exactly like the last fput().
struct OpenFile {
  FileKind kind = FileKind::kSysfs;
  int fd = -1;                           // the memfd standing for it, -1 once closed
  int refs = 1;
  int f_flags = 0;                       // O_ACCMODE bits as opened
  std::shared_ptr<VfioContainer> container;
  std::shared_ptr<VfioGroup> group;
  std::unique_ptr<VfioDeviceFile> df;
  std::shared_ptr<IommufdCtx> ictx;
  std::string path;                      // kSysfs: the canonical path
  uint64_t pos = 0;                      // kSysfs: file position
};

// A user mapping of a device region: the vma keeps its file alive (vma->vm_file).
struct Vma {
  size_t length = 0;
  OpenFile* file = nullptr;
};

// One node of the emulated filesystem (sysfs, devtmpfs), as Lookup() finds it: what it is and
// which kernel object stands behind it.
struct Node {
  enum class Type { kNone, kDir, kFile, kBin, kLink, kChr };
  enum class Obj {
    kNone,
    kDevAttr,        // a cdx device's or bus device's text attribute (dev, name)
    kResource,       // resource<index> bin attribute (dev, index)
    kBind,
    kUnbind,
    kDriversProbe,
    kAutoprobe,
    kRescan,
    kGroupName,      // /sys/kernel/iommu_groups/<index>/name
    kGroupType,      // /sys/kernel/iommu_groups/<index>/type
    kGroupResv,      // /sys/kernel/iommu_groups/<index>/reserved_regions
    kVfioDevDev,     // vfio-dev/vfioM/dev (dev)
    kNoiommuParam,   // /sys/module/vfio/parameters/enable_unsafe_noiommu_mode
    kContainerNode,  // /dev/vfio/vfio
    kGroupNode,      // /dev/vfio/<name>
    kCdevNode,       // /dev/vfio/devices/<name>
    kIommuNode,      // /dev/iommu
    kIommufdParam,   // /sys/module/iommufd/parameters/allow_unsafe_interrupts
    kProcLimits,     // /proc/self/limits
    kProcStatus,     // /proc/self/status
  };
  Type type = Type::kNone;
  Obj obj = Obj::kNone;
  mode_t mode = 0;
  std::string target;                    // kLink
  uint64_t size = 0;                     // kBin
  dev_t rdev = 0;                        // kChr
  CdxDevice* dev = nullptr;
  int index = -1;
  std::string name;
};

struct FaultState {
  Fault fault;
  int skipped = 0;
  int fired = 0;
};

struct MockKernel::Impl {
  KernelConfig config;
  size_t page_size = 0;                  // the emulated PAGE_SIZE
  size_t host_page = 0;
  std::mutex mu;
  std::condition_variable cv;

  // drivers/cdx + drivers/base
  std::map<std::string, std::unique_ptr<CdxDevice>> devices;   // bus devices and devices
  std::vector<DeviceSpec> scan_list;     // what the controller's scan() finds (AddDevice order)
  std::vector<std::unique_ptr<RegionMemory>> regions;
  uint64_t next_region_addr = 0x20000000000ull;
  uint64_t next_instance = 1;            // CdxDevice::instance of the next device added
  bool drivers_autoprobe = true;
  bool noiommu_param = false;            // vfio.enable_unsafe_noiommu_mode
  bool iommufd_unsafe_interrupts = false;  // iommufd.allow_unsafe_interrupts
  // drivers/iommu
  std::map<int, IommuGroup> iommu_groups;
  // drivers/vfio
  std::vector<std::shared_ptr<VfioGroup>> vfio_groups;   // vfio.group_list
  std::set<int> group_minors;
  std::set<int> device_indexes;
  uint64_t locked_bytes = 0;             // current->mm locked_vm, in bytes
  // files
  std::map<OpenFile*, std::unique_ptr<OpenFile>> files;
  std::map<int, OpenFile*> fds;
  std::map<uintptr_t, Vma> vmas;
  // ---- dma_direct.cc: the state behind direct device DMA (models that move packets)
  // Process memory that only the seam can unmap: anonymous (or non-mock fd) mappings made by
  // MockKernel::Mmap with PROT_READ|PROT_WRITE, start → length. Gone with the seam's munmap, or
  // an mmap over it, both under mu.
  std::map<uintptr_t, size_t> host_maps;
  // Bumped by every seam call that can change what a device's DMA reaches (IOMMU mappings, bus
  // mastering, resets, process mappings): a model that caches translations drops them on change.
  uint64_t dma_epoch = 0;
  // Which descriptor numbers are the mock's own (set in AttachFile, cleared in CloseFd before
  // close(2)), readable without mu: MockKernel::Read of any other descriptor (an eventfd) then
  // needs no lock. Numbers from kFdBits on are always looked up under mu.
  static constexpr int kFdBits = 65536;
  std::atomic<uint64_t> mock_fds[kFdBits / 64] = {};
  bool IsMockFd(int fd) const {
    return fd < 0 || fd >= kFdBits || (mock_fds[fd / 64].load(std::memory_order_acquire) >> (fd % 64) & 1);
  }
  // control side
  std::vector<FaultState> faults;
  std::atomic<bool> tracing{false};  // also read without mu, by MockKernel::Read
  std::vector<CallRecord> trace;

  explicit Impl(const KernelConfig& c);
  ~Impl();

  // ---- mock_kernel.cc: files, faults, tracing
  int ReserveFd(const std::string& name, int o_flags);
  int AttachFile(std::unique_ptr<OpenFile> file, int fd, int o_flags);
  int InstallFile(std::unique_ptr<OpenFile> file, const std::string& name, int o_flags);
  OpenFile* FileFromFd(int fd);
  void FileGet(OpenFile* f);
  void FilePut(OpenFile* f);
  void CloseFd(int fd);
  int CheckFault(Fault::Op op, const std::string& subject, const std::string& device);
  void Trace(const char* op, const std::string& name, int fd, long result);
  std::string IoctlName(int fd, unsigned long request);
  std::string FileDeviceName(int fd);
  // mmap(2) of real memory placed as a kernel with PAGE_SIZE `page_size` would place it: unless
  // MAP_FIXED, at an address aligned to page_size, even when the host's pages are smaller.
  // Returns 0 or -errno.
  int PageMmap(void* addr, size_t length, int prot, int flags, int fd, uint64_t offset, void** out);
  void UnmapRange(uintptr_t start, size_t length);
  size_t PageRound(uint64_t n) const { return static_cast<size_t>((n + page_size - 1) / page_size * page_size); }

  // ---- kernfs.cc: the filesystem tree (fs/kernfs, fs/sysfs, devtmpfs)
  int ResolvePath(const std::string& path, bool follow_last, std::string* canonical);
  Node Lookup(const std::string& canonical);
  Node LookupSys(const std::vector<std::string>& c);
  Node LookupCdxDir(const std::vector<std::string>& c);
  Node LookupDeviceEntry(CdxDevice* dev, const std::vector<std::string>& rest);
  Node LookupIommuGroups(const std::vector<std::string>& c);
  Node LookupDev(const std::vector<std::string>& c);
  Node LookupProc(const std::vector<std::string>& c);
  bool MayAccess(const Node& node, bool read, bool write) const;
  std::string ProcSelfStatus() const;
  std::string ProcSelfLimits() const;
  std::vector<std::string> DirCandidates();
  void CollectPaths(const std::string& path, int depth, std::vector<std::string>* out);
  int ListDir(const std::string& canonical, std::vector<std::string>* names);
  int ShowAttr(const Node& node, std::string* out);
  long StoreAttr(const Node& node, const std::string& data, Lock& lk);
  int OpenPath(const std::string& path, int flags);
  int OpenSysfs(const std::string& canonical, const Node& node, int flags);
  long SysfsRead(OpenFile* f, void* buf, size_t count);
  long SysfsWrite(OpenFile* f, const void* buf, size_t count, Lock& lk);
  int ReadDirPath(const std::string& path, std::vector<std::string>* names);
  int ReadLinkPath(const std::string& path, std::string* target);
  int ReadFilePath(const std::string& path, std::string* contents);
  long WriteFilePath(const std::string& path, const std::string& data, Lock& lk);
  int StatPath(const std::string& path, struct stat* st);
  std::string DevicePath(const CdxDevice* dev) const;
  CdxDevice* LiveDevice(const std::string& name);

  // ---- cdx_bus.cc: drivers/cdx/cdx.c
  int CdxDeviceAdd(const DeviceSpec& spec, std::string* error);
  CdxDevice* CdxBusAdd(uint8_t bus_num);
  void CdxUnregisterDevice(CdxDevice* dev, Lock& lk);
  int CdxDevReset(CdxDevice* dev);
  int CdxSetMaster(CdxDevice* dev);
  int CdxClearMaster(CdxDevice* dev);
  int CdxEnableMsi(CdxDevice* dev);
  void CdxDisableMsi(CdxDevice* dev);
  bool CdxBusMatch(const CdxDevice* dev) const;
  CdxDevice* BusFindDeviceByName(const std::string& buf);
  int CdxDeviceShow(CdxDevice* dev, const std::string& attr, std::string* out);
  long CdxDeviceStore(CdxDevice* dev, const std::string& attr, const std::string& buf, Lock& lk);
  long RescanStore(const std::string& buf, Lock& lk);
  RegionMemory* AllocRegion(const std::string& dev_name, uint32_t index, const RegionSpec& spec);

  // ---- device_model.cc: the controller's dev_configure(), the device models, device DMA
  int CdxConfigureDevice(CdxDevice* dev, DevConfig type);
  void ModelPowerOn(CdxDevice* dev);
  void ModelReset(CdxDevice* dev);
  void ModelWriteMsiTable(CdxDevice* dev, uint32_t nvec);
  void ModelStart(CdxDevice* dev);
  void ModelStop(CdxDevice* dev, Lock& lk);
  void ModelStopAll(Lock& lk);
  DmaResult DeviceDma(CdxDevice* dev, uint64_t iova, void* buf, size_t len, bool write);
  DmaResult DmaTranslate(CdxDevice* dev, uint64_t iova, size_t len, bool write, std::vector<iovec>* out);

  // ---- dma_direct.cc: direct device DMA (see host_maps, dma_epoch)
  void HostMapsAdd(uintptr_t start, size_t length);
  void HostMapsForget(uintptr_t start, size_t length);
  // The device page of kDmaPage bytes at `page_iova` (aligned) through the IOMMU, as DmaTranslate
  // sees it. On kOk, *host is the process address behind it and *direct says whether a model may
  // load and store there itself (the memory is in host_maps), rather than copy through uaccess.
  DmaResult DmaPage(CdxDevice* dev, uint64_t page_iova, bool write, uint8_t** host, bool* direct);

  // ---- driver_core.cc: drivers/base/bus.c, dd.c
  long BindStore(const std::string& buf);
  long UnbindStore(const std::string& buf, Lock& lk);
  long DriversProbeStore(const std::string& buf);
  long DriversAutoprobeStore(const std::string& buf);
  long DriverOverrideStore(CdxDevice* dev, const std::string& buf);
  int DeviceAttach(CdxDevice* dev);
  int DeviceDriverAttach(CdxDevice* dev);
  void CdxDmaConfigure(CdxDevice* dev);
  int ReallyProbe(CdxDevice* dev);
  void DeviceReleaseDriver(CdxDevice* dev, Lock& lk);

  // ---- iommu.cc: drivers/iommu/iommu.c (groups and DMA ownership)
  int IommuGroupAlloc(int wanted);
  void IommuGroupAddDevice(int id, CdxDevice* dev);
  void IommuGroupRemoveDevice(CdxDevice* dev);
  int IommuGroupClaimDmaOwner(int id, const void* owner);
  int IommuDeviceClaimDmaOwner(int id, const void* owner);
  void IommuGroupReleaseDmaOwner(int id);

  // ---- vfio_main.cc: drivers/vfio/vfio_main.c
  int VfioRegisterGroupDev(CdxDevice* dev);
  void VfioUnregisterGroupDev(VfioDevice* device, Lock& lk);
  bool VfioDeviceTryGetRegistration(VfioDevice* device);
  void VfioDevicePutRegistration(VfioDevice* device);
  int VfioDfOpen(VfioDeviceFile* df);
  void VfioDfClose(VfioDeviceFile* df);
  int VfioDfDeviceFirstOpen(VfioDeviceFile* df);
  void VfioDfDeviceLastClose(VfioDeviceFile* df);
  long VfioDeviceFopsUnlIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg);
  long VfioIoctlDeviceFeature(VfioDevice* device, uintptr_t arg);
  int VfioDeviceFopsMmap(OpenFile* f, void* addr, size_t length, int prot, int flags, int64_t offset,
                         void** out);
  void VfioDeviceFopsRelease(OpenFile* f);
  bool VfioDeviceIsNoiommu(const VfioDevice* device) const;

  // ---- vfio_group.cc: drivers/vfio/group.c
  int VfioGroupFopsOpen(VfioGroup* group, int flags);
  long VfioGroupFopsUnlIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg);
  void VfioGroupFopsRelease(OpenFile* f);
  long VfioGroupIoctlGetStatus(VfioGroup* group, uintptr_t arg);
  long VfioGroupIoctlSetContainer(VfioGroup* group, uintptr_t arg);
  long VfioGroupIoctlUnsetContainer(VfioGroup* group);
  long VfioGroupIoctlGetDeviceFd(VfioGroup* group, uintptr_t arg);
  int VfioDfGroupOpen(VfioDeviceFile* df);
  void VfioDfGroupClose(VfioDeviceFile* df);
  void VfioGroupPutIommufd(VfioGroup* group);
  int VfioDeviceSetGroup(VfioDevice* device);
  void VfioDeviceRemoveGroup(VfioDevice* device);
  std::shared_ptr<VfioGroup> VfioCreateGroup(int iommu_group, VfioGroupType type);
  VfioGroup* VfioGroupByNode(const std::string& dev_name);
  int VfioDeviceBlockGroup(VfioDevice* device);
  void VfioDeviceUnblockGroup(VfioDevice* device);

  // ---- vfio_container.cc: drivers/vfio/container.c (+ the noiommu iommu driver)
  int VfioFopsOpen(int flags);
  long VfioFopsUnlIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg);
  void VfioFopsRelease(OpenFile* f);
  long VfioContainerIoctlCheckExtension(VfioContainer* c, unsigned long arg);
  long VfioIoctlSetIommu(VfioContainer* c, unsigned long arg);
  int VfioContainerAttachGroup(const std::shared_ptr<VfioContainer>& c, VfioGroup* group);
  void VfioGroupDetachContainer(VfioGroup* group);
  int VfioGroupUseContainer(VfioGroup* group);
  void VfioGroupUnuseContainer(VfioGroup* group);
  long IommuDriverCheckExtension(IommuDriver driver, VfioContainer* c, unsigned long arg);

  // ---- vfio_iommu_type1.cc: drivers/vfio/vfio_iommu_type1.c
  long VfioIommuType1CheckExtension(VfioIommu* iommu, unsigned long arg);
  int VfioIommuType1Open(unsigned long arg, std::unique_ptr<VfioIommu>* out);
  void VfioIommuType1Release(VfioIommu* iommu);
  long VfioIommuType1Ioctl(VfioIommu* iommu, unsigned long cmd, uintptr_t arg);
  long VfioIommuType1GetInfo(VfioIommu* iommu, uintptr_t arg);
  long VfioIommuType1MapDma(VfioIommu* iommu, uintptr_t arg);
  long VfioIommuType1UnmapDma(VfioIommu* iommu, uintptr_t arg);
  int VfioDmaDoMap(VfioIommu* iommu, const abi::vfio_iommu_type1_dma_map& map);
  int VfioDmaDoUnmap(VfioIommu* iommu, abi::vfio_iommu_type1_dma_unmap* unmap);
  void VfioRemoveDma(VfioIommu* iommu, std::map<uint64_t, VfioDma>::iterator it);

  // ---- device_cdev.cc: drivers/vfio/device_cdev.c and drivers/vfio/iommufd.c
  int VfioDeviceFopsCdevOpen(VfioDevice* device, int flags);
  long VfioDfIoctlBindIommufd(VfioDeviceFile* df, uintptr_t arg);
  void VfioDfUnbindIommufd(VfioDeviceFile* df);
  long VfioDfIoctlAttachPt(VfioDeviceFile* df, uintptr_t arg);
  long VfioDfIoctlDetachPt(VfioDeviceFile* df, uintptr_t arg);
  VfioDevice* VfioDeviceByCdevNode(const std::string& name);
  int VfioDfIommufdBind(VfioDeviceFile* df);
  void VfioDfIommufdUnbind(VfioDeviceFile* df);
  int VfioIommufdCompatAttachIoas(VfioDevice* device, IommufdCtx* ictx);
  bool VfioIommufdDeviceHasCompatIoas(IommufdCtx* ictx);
  int VfioIommufdPhysicalAttachIoas(VfioDevice* device, uint32_t* pt_id);
  void VfioIommufdPhysicalDetachIoas(VfioDevice* device);

  // ---- iommufd.cc: drivers/iommu/iommufd/{main.c,ioas.c,io_pagetable.c,device.c,vfio_compat.c}
  int IommufdFopsOpen(int flags);
  long IommufdFopsIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg);
  void IommufdFopsRelease(OpenFile* f);
  int IommufdCtxFromFd(int fd, std::shared_ptr<IommufdCtx>* out);
  void IommufdCtxGet(IommufdCtx* ictx);
  void IommufdCtxPut(IommufdCtx* ictx);
  long IommufdDestroy(IommufdCtx* ictx, abi::iommu_destroy* cmd);
  long IommufdIoasAllocIoctl(IommufdCtx* ictx, abi::iommu_ioas_alloc* cmd, uintptr_t arg, uint32_t usize);
  long IommufdIoasIovaRanges(IommufdCtx* ictx, abi::iommu_ioas_iova_ranges* cmd, uintptr_t arg, uint32_t usize);
  long IommufdIoasMap(IommufdCtx* ictx, abi::iommu_ioas_map* cmd, uintptr_t arg, uint32_t usize);
  long IommufdIoasUnmap(IommufdCtx* ictx, abi::iommu_ioas_unmap* cmd, uintptr_t arg, uint32_t usize);
  uint32_t IommufdObjectAlloc(IommufdCtx* ictx, IommufdObject::Type type);
  IommufdObject* IommufdGetIoas(IommufdCtx* ictx, uint32_t id);
  int IommufdVfioCompatIoasCreate(IommufdCtx* ictx);
  int IommufdVfioCompatSetNoIommu(IommufdCtx* ictx);
  int IommufdDeviceBind(IommufdCtx* ictx, VfioDevice* device, uint32_t* out_id);
  void IommufdDeviceUnbind(VfioDevice* device);
  int IommufdDeviceAttach(VfioDevice* device, uint32_t* pt_id);
  void IommufdDeviceDetach(VfioDevice* device);
  int IoptPinArea(IommufdObject* ioas, const IoptArea& area);
  void IoptUnpinAll(IommufdObject* ioas);
  int IoptUnmapRange(IommufdObject* ioas, uint64_t start, uint64_t last, uint64_t* unmapped);
  int IoptMapUserPages(IommufdObject* ioas, uint64_t* iova, uint64_t user_va, uint64_t length, int prot, bool fixed);
  std::vector<std::pair<uint64_t, uint64_t>> IoasHoles(const IommufdObject* ioas);
  uint64_t DomainPgsizeBitmap() const;

  // ---- iommufd_vfio_compat.cc: drivers/iommu/iommufd/vfio_compat.c
  long IommufdVfioIoctl(IommufdCtx* ictx, unsigned long cmd, uintptr_t arg);
  long IommufdVfioCheckExtension(IommufdCtx* ictx, unsigned long type);
  long IommufdVfioSetIommu(IommufdCtx* ictx, unsigned long type);
  long IommufdVfioIommuGetInfo(IommufdCtx* ictx, uintptr_t arg);
  long IommufdVfioMapDma(IommufdCtx* ictx, uintptr_t arg);
  long IommufdVfioUnmapDma(IommufdCtx* ictx, uintptr_t arg);

  // ---- vfio_cdx.cc: drivers/vfio/cdx/main.c
  int VfioCdxOpenDevice(VfioDevice* vdev);
  void VfioCdxCloseDevice(VfioDevice* vdev);
  long VfioCdxIoctl(VfioDevice* vdev, unsigned long cmd, uintptr_t arg);
  int VfioCdxIoctlFeature(VfioDevice* vdev, uint32_t flags, uintptr_t arg, size_t argsz);
  int VfioCdxBmCtrl(VfioDevice* vdev, uint32_t flags, uintptr_t arg, size_t argsz);
  long VfioCdxIoctlGetInfo(VfioDevice* vdev, uintptr_t arg);
  long VfioCdxIoctlGetRegionInfo(VfioDevice* vdev, uintptr_t arg);
  long VfioCdxIoctlGetIrqInfo(VfioDevice* vdev, uintptr_t arg);
  long VfioCdxIoctlSetIrqs(VfioDevice* vdev, uintptr_t arg);
  int VfioCdxMmap(VfioDevice* vdev, uint64_t pgoff, size_t size, int prot, int flags, void* addr,
                  void** out);

  // ---- vfio_cdx_intr.cc: drivers/vfio/cdx/intr.c
  int VfioCdxSetIrqsIoctl(VfioDevice* vdev, uint32_t flags, unsigned index, unsigned start,
                          unsigned count, const void* data);
  int VfioCdxSetMsiTrigger(VfioDevice* vdev, unsigned start, unsigned count, uint32_t flags,
                           const void* data);
  int VfioCdxMsiEnable(VfioDevice* vdev, uint32_t nvec);
  void VfioCdxMsiDisable(VfioDevice* vdev);
  int VfioCdxMsiSetBlock(VfioDevice* vdev, unsigned start, unsigned count, const int32_t* fds);
  int VfioCdxMsiSetVectorSignal(VfioDevice* vdev, int vector, int fd);
  void VfioCdxIrqsCleanup(VfioDevice* vdev);
  int RaiseMsi(CdxDevice* dev, uint32_t vector);
};

// vfio_set_irqs_validate_and_prepare() (vfio_main.c:1535-1580).
int VfioSetIrqsValidateAndPrepare(const abi::vfio_irq_set& hdr, uint32_t num_irqs, uint32_t max_irq_type,
                                  size_t* data_size);
// Writes the 64-bit value 1 to an eventfd, as eventfd_signal() does.
void EventfdSignal(int fd);
// eventfd_ctx_fdget(): 0, -EBADF (not open) or -EINVAL (not an eventfd).
int EventfdCheck(int fd);
// kstrtobool() (lib/kstrtox.c): 0 and *res, or -EINVAL.
int Kstrtobool(const std::string& s, bool* res);

}  // namespace mock
}  // namespace vfiocdx
