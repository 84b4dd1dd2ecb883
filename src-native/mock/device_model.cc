// device_model.cc — the firmware side of a CDX device: the controller's dev_configure()
// (drivers/cdx/controller/cdx_controller.c:cdx_configure_device), MSI delivery, the device-model
// threads, and DMA by a device through the mock IOMMU.
//
// A device without a model is plain memory: reset restores each region's initial contents. A
// model (device_model.h) adds register behaviour on top, on its own thread. The registry of
// models is kModels below. Everything here runs with Impl::mu held, except a model thread while
// it waits and the joins, which drop it.
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cstring>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {
namespace {

// The MSI doorbell of the (simulated) interrupt controller: GITS_TRANSLATER of the GICv3 ITS of
// QEMU's virt machine (0x8080000 + 64 KiB + 0x40). Behind an IOMMU the device is given an IOVA
// instead: the first page of the SMMU's software MSI window (MSI_IOVA_BASE 0x8000000), where
// iommu-dma's MSI cookie maps the doorbell page, plus the same offset.
constexpr uint64_t kMsiDoorbellPhys = 0x08090040;
constexpr uint64_t kMsiDoorbellIova = 0x08000040;

struct ModelInfo {
  const char* name;
  uint64_t min_region0;  // bytes of register space the model needs in region 0
  std::unique_ptr<DeviceModel> (*create)(MockKernel::Impl*, CdxDevice*);
};

const ModelInfo kModels[] = {
    {"cdx-test", 512, NewCdxTestModel},
    {"axi-cdma", 64, NewAxiCdmaModel},
    {"lnic", 0x1060, NewLnicModel},
};

const ModelInfo* FindModel(const std::string& name) {
  for (const ModelInfo& m : kModels) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> ModelNames() {
  std::vector<std::string> out;
  for (const ModelInfo& m : kModels) out.push_back(m.name);
  return out;
}

namespace {

const char* FaultName(DevConfig type) {
  switch (type) {
    case DevConfig::kReset: return "reset";
    case DevConfig::kBusMasterEnable: return "set_master";
    case DevConfig::kBusMasterDisable: return "clear_master";
    case DevConfig::kMsiEnable: return "msi_enable";
    default: return nullptr;  // disable and MSI_CONF cannot fail (their callers ignore the result)
  }
}

// Copies through the mock's user-access layer (uaccess.h), segment by segment; true iff every
// byte moved. A user mapping that vanished is a failed copy, never a crash.
bool CopyProcessMemory(uint8_t* local, const std::vector<iovec>& segs, bool to_process) {
  size_t done = 0;
  for (const iovec& seg : segs) {
    uintptr_t user = reinterpret_cast<uintptr_t>(seg.iov_base);
    int ret = to_process ? CopyToUser(user, local + done, seg.iov_len) : CopyFromUser(local + done, user, seg.iov_len);
    if (ret) return false;
    done += seg.iov_len;
  }
  return true;
}

}  // namespace

int DmaResultErrno(DmaResult r) {
  switch (r) {
    case DmaResult::kOk: return 0;
    case DmaResult::kUnmapped: return -EFAULT;
    case DmaResult::kPermission: return -EACCES;
    case DmaResult::kBusMasterOff: return -EPERM;
    case DmaResult::kHostFault: return -EIO;
  }
  return -EIO;
}

// ---- DeviceModel: registry, registers, thread

int DeviceModel::Validate(const DeviceSpec& spec, std::string* why) {
  if (spec.model.empty()) return 0;
  const ModelInfo* m = FindModel(spec.model);
  if (!m) {
    if (why) *why = "unknown model '" + spec.model + "'";
    return -EINVAL;
  }
  if (spec.regions.empty() || spec.regions[0].size < m->min_region0) {
    if (why) *why = "the " + spec.model + " model needs region 0 of at least " + std::to_string(m->min_region0) + " bytes";
    return -EINVAL;
  }
  return 0;
}

std::unique_ptr<DeviceModel> DeviceModel::Create(MockKernel::Impl* kernel, CdxDevice* dev) {
  const ModelInfo* m = FindModel(dev->spec.model);
  return m ? m->create(kernel, dev) : nullptr;
}

// The owner joins the thread first (ModelStop/ModelStopAll): destroying a running std::thread
// would terminate the process.
DeviceModel::~DeviceModel() { assert(!thread_.joinable()); }

size_t DeviceModel::Region0Size() const { return dev_->res.empty() ? 0 : static_cast<size_t>(dev_->res[0]->size); }

uint32_t DeviceModel::Reg(uint32_t off) const {
  if (off % 4 || off + 4 > Region0Size()) return 0;
  return __atomic_load_n(reinterpret_cast<uint32_t*>(dev_->res[0]->view + off), __ATOMIC_SEQ_CST);
}

void DeviceModel::SetReg(uint32_t off, uint32_t value) {
  if (off % 4 || off + 4 > Region0Size()) return;
  __atomic_store_n(reinterpret_cast<uint32_t*>(dev_->res[0]->view + off), value, __ATOMIC_SEQ_CST);
}

bool DeviceModel::CasReg(uint32_t off, uint32_t expected, uint32_t desired) {
  if (off % 4 || off + 4 > Region0Size()) return false;
  return __atomic_compare_exchange_n(reinterpret_cast<uint32_t*>(dev_->res[0]->view + off), &expected, desired,
                                     false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

uint32_t DeviceModel::XchgReg(uint32_t off, uint32_t value) {
  if (off % 4 || off + 4 > Region0Size()) return 0;
  return __atomic_exchange_n(reinterpret_cast<uint32_t*>(dev_->res[0]->view + off), value, __ATOMIC_SEQ_CST);
}

DmaResult DeviceModel::Dma(uint64_t iova, void* buf, size_t len, bool write) {
  return kernel_->DeviceDma(dev_, iova, buf, len, write);
}

bool DeviceModel::DeviceOpen() const { return dev_->vdev && dev_->vdev->open_count > 0; }

void DeviceModel::Start() { thread_ = std::thread([this] { ThreadMain(); }); }

void DeviceModel::Wake() {
  woken_ = true;
  cv_.notify_all();
}

void DeviceModel::RequestStop() {
  stop_ = true;
  cv_.notify_all();
}

void DeviceModel::Join() {
  if (thread_.joinable()) thread_.join();
}

// The device's clock: Step() with the kernel mutex held, then wait with it released. A hook
// (Wake) or a stop request ends the wait early.
void DeviceModel::ThreadMain() {
  prctl(PR_SET_TIMERSLACK, 1000UL);  // 1 µs instead of the default 50 µs: the poll period is 100 µs
  Lock lk(kernel_->mu);
  auto ready = [this] { return stop_ || woken_; };
  while (!stop_) {
    woken_ = false;
    Poll next = Step();
    if (stop_) break;
    if (next == kAgain) {  // let the driver's syscalls in between two chunks of work
      lk.unlock();
      std::this_thread::yield();
      lk.lock();
    } else if (next == kIdle) {
      cv_.wait(lk, ready);
    } else {
      cv_.wait_for(lk, next, ready);
    }
  }
}

// ---- model lifetime (cdx_device_add / cdx_unregister_device / ~Impl)

void MockKernel::Impl::ModelStart(CdxDevice* dev) {
  if (dev->model) dev->model->Start();
}

// Stops the device's model thread and joins it with the mutex released (the thread needs the
// mutex to notice the request). The device must already be dead, so nothing else reaches it.
void MockKernel::Impl::ModelStop(CdxDevice* dev, Lock& lk) {
  DeviceModel* m = dev->model.get();
  if (!m || !m->Joinable()) return;
  m->RequestStop();
  lk.unlock();
  m->Join();
  lk.lock();
}

// ~Impl: every model thread stops before anything is torn down; the hooks still run afterwards
// (last-close resets), but nothing steps any more.
void MockKernel::Impl::ModelStopAll(Lock& lk) {
  std::vector<DeviceModel*> running;
  for (auto& kv : devices) {
    DeviceModel* m = kv.second->model.get();
    if (m && m->Joinable()) {
      m->RequestStop();
      running.push_back(m);
    }
  }
  lk.unlock();
  for (DeviceModel* m : running) m->Join();
  lk.lock();
}

// ---- the controller (firmware) side

namespace {

// A region back to its initial contents, with atomic stores: the user's mapping and a model's own
// thread may be reading the registers at the same moment (a model that watches them unlocked).
void RestoreRegion(RegionMemory* r) {
  for (size_t off = 0; off + 4 <= r->mapped; off += 4) {
    uint32_t v = 0;
    if (off < r->init.size()) memcpy(&v, r->init.data() + off, std::min<size_t>(4, r->init.size() - off));
    __atomic_store_n(reinterpret_cast<uint32_t*>(r->view + off), v, __ATOMIC_RELAXED);
  }
}

}  // namespace

// The contents every region has after power-on and after each reset.
void MockKernel::Impl::ModelPowerOn(CdxDevice* dev) {
  for (RegionMemory* r : dev->res) RestoreRegion(r);
  if (dev->model) dev->model->PowerOn();
}

// The generic part of CDX_DEV_RESET_CONF: memory restored, bus mastering and MSI off. The model's
// registers follow in its Configure(kReset).
void MockKernel::Impl::ModelReset(CdxDevice* dev) {
  for (RegionMemory* r : dev->res) RestoreRegion(r);
  dev->resets++;
  dev->bus_master = false;
  dev->msi_enabled = false;
}

// MSI_CONF for every vector, as msi_domain_alloc_irqs() → cdx_msi_write_msg() programs them.
// The address is an IOVA when the device is behind the IOMMU (a group from dma_configure, not a
// no-IOMMU group of VFIO's); the data is the ITS EventID, the vector's index.
void MockKernel::Impl::ModelWriteMsiTable(CdxDevice* dev, uint32_t nvec) {
  if (!dev->model) return;
  bool iova = dev->iommu_group >= 0 && iommu_groups[dev->iommu_group].name != "vfio-noiommu";
  for (uint32_t v = 0; v < nvec; v++) dev->model->MsiWriteMsg(v, iova ? kMsiDoorbellIova : kMsiDoorbellPhys, v);
}

// cdx_configure_device() (drivers/cdx/controller/cdx_controller.c): the firmware call behind
// cdx_dev_reset, cdx_set/clear_master and cdx_enable/disable_msi. An injected kController fault
// makes the firmware fail the request with no effect. The model hears of every successful one.
int MockKernel::Impl::CdxConfigureDevice(CdxDevice* dev, DevConfig type) {
  const char* name = FaultName(type);
  if (name) {
    int ret = CheckFault(Fault::Op::kController, name, dev->name);
    if (ret) return ret;
  }
  switch (type) {
    case DevConfig::kReset:
      ModelReset(dev);
      break;
    case DevConfig::kBusMasterEnable:
    case DevConfig::kBusMasterDisable:
      if (!dev->spec.bus_master_supported) return -EOPNOTSUPP;
      dev->bus_master = type == DevConfig::kBusMasterEnable;
      break;
    case DevConfig::kMsiEnable:
    case DevConfig::kMsiDisable:
      dev->msi_enabled = type == DevConfig::kMsiEnable;
      break;
  }
  if (dev->model) {
    dev->model->Configure(type);
    dev->model->Wake();
  }
  return 0;
}

// The device raises MSI vector `vector` (a hardware event): the write reaches the interrupt
// controller, whose handler (vfio_cdx_msihandler, intr.c:16-22) signals the vector's eventfd.
// Returns 0 when an eventfd was signalled, -EAGAIN when the message was lost (MSI disabled in the
// device, or no trigger on the vector), -EINVAL for a vector the device does not have.
int MockKernel::Impl::RaiseMsi(CdxDevice* dev, uint32_t vector) {
  if (vector >= dev->num_msi) return -EINVAL;
  if (!dev->msi_enabled) return -EAGAIN;
  dev->msi_fired++;
  if (dev->model) dev->model->MsiRaised(dev->msi_fired);
  VfioDevice* v = dev->vdev.get();
  if (!v || !v->config_msi || vector >= v->msi_count || v->cdx_irqs[vector].trigger < 0) return -EAGAIN;
  EventfdSignal(v->cdx_irqs[vector].trigger);
  return 0;
}

// eventfd_signal(): add 1 to the counter.
void EventfdSignal(int fd) {
  uint64_t one = 1;
  ssize_t n = write(fd, &one, sizeof(one));
  (void)n;  // a saturated counter would block the kernel's signal too; nothing to report
}

// ---- DMA by the device through the IOMMU (what iommu_iova_to_phys() + the bus would do)

namespace {

// Walks [iova, last] through a map of mappings keyed by IOVA. `get(entry, &size, &vaddr, &prot)`
// describes one mapping; `need` is the permission bit the access needs.
template <typename Map, typename Get>
DmaResult WalkMappings(const Map& maps, uint64_t iova, uint64_t last, int need, Get get, std::vector<iovec>* out) {
  uint64_t cur = iova;
  for (;;) {
    auto it = maps.upper_bound(cur);
    if (it == maps.begin()) return DmaResult::kUnmapped;
    --it;
    uint64_t size = 0, vaddr = 0;
    int prot = 0;
    get(it->second, &size, &vaddr, &prot);
    uint64_t off = cur - it->first;
    if (off >= size) return DmaResult::kUnmapped;
    if (!(prot & need)) return DmaResult::kPermission;
    uint64_t n = std::min(size - off, last - cur + 1);
    out->push_back({reinterpret_cast<void*>(static_cast<uintptr_t>(vaddr + off)), static_cast<size_t>(n)});
    if (cur + (n - 1) == last) return DmaResult::kOk;
    cur += n;
  }
}

}  // namespace

// The device's DMA domain and the host segments behind [iova, iova+len). Bus mastering is checked
// first: with it off, the request never leaves the device. A controller that cannot switch bus
// mastering (bus_master_supported = false) leaves it on. Type1: the container of the device's
// group, whatever the device's open state (the group is in the domain from SET_IOMMU on). The
// mapping's vaddr is used even after VFIO_DMA_UNMAP_FLAG_VADDR: the kernel keeps the pinned pages
// mapped in the IOMMU, and the mock's best stand-in for them is the old address. iommufd: the IOAS
// behind the HWPT the device is attached to (cdev ATTACH or the group path's compat IOAS).
DmaResult MockKernel::Impl::DmaTranslate(CdxDevice* dev, uint64_t iova, size_t len, bool write,
                                         std::vector<iovec>* out) {
  out->clear();
  if (!dev->bus_master && dev->spec.bus_master_supported) return DmaResult::kBusMasterOff;
  if (len == 0) return DmaResult::kOk;
  uint64_t last = iova + (len - 1);
  if (last < iova) return DmaResult::kUnmapped;
  VfioDevice* v = dev->vdev.get();
  if (!v) return DmaResult::kUnmapped;
  if (v->ictx && v->attached_hwpt) {
    auto hw = v->ictx->objects.find(v->attached_hwpt);
    if (hw == v->ictx->objects.end()) return DmaResult::kUnmapped;
    IommufdObject* ioas = IommufdGetIoas(v->ictx.get(), hw->second.ioas_id);
    if (!ioas) return DmaResult::kUnmapped;
    int need = write ? abi::IOMMU_IOAS_MAP_WRITEABLE : abi::IOMMU_IOAS_MAP_READABLE;
    return WalkMappings(ioas->areas, iova, last, need,
                        [](const IoptArea& a, uint64_t* size, uint64_t* vaddr, int* prot) {
                          *size = a.length;
                          *vaddr = a.user_va;
                          *prot = a.prot;
                        },
                        out);
  }
  VfioContainer* c = v->group ? v->group->container.get() : nullptr;
  if (c && c->driver == IommuDriver::kType1 && c->iommu) {
    int need = write ? abi::VFIO_DMA_MAP_FLAG_WRITE : abi::VFIO_DMA_MAP_FLAG_READ;
    return WalkMappings(c->iommu->dma_list, iova, last, need,
                        [](const VfioDma& d, uint64_t* size, uint64_t* vaddr, int* prot) {
                          *size = d.size;
                          *vaddr = d.vaddr;
                          *prot = d.prot;
                        },
                        out);
  }
  return DmaResult::kUnmapped;  // no domain: unattached, no IOMMU driver, or noiommu
}

// One DMA access: translate the whole range, then copy, both under the mutex (so an UNMAP cannot
// run in between). The copy goes through the user-access layer (uaccess.h), which turns a vanished user
// mapping into an error instead of a crash. Any error counts in dev->dma_errors.
DmaResult MockKernel::Impl::DeviceDma(CdxDevice* dev, uint64_t iova, void* buf, size_t len, bool write) {
  std::vector<iovec> segs;
  DmaResult r = DmaTranslate(dev, iova, len, write, &segs);
  if (r == DmaResult::kOk && len && !CopyProcessMemory(static_cast<uint8_t*>(buf), segs, write)) {
    r = DmaResult::kHostFault;
  }
  if (r != DmaResult::kOk) dev->dma_errors++;
  return r;
}

}  // namespace mock
}  // namespace vfiocdx
