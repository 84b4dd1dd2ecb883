// vfio_device.cc — see vfio_device.h.
#include "vfio_device.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "cdx_sysfs.h"

namespace vfiocdx {

namespace {

std::vector<uint32_t> IrqSet(uint32_t flags, uint32_t start, uint32_t count, const std::vector<int>& fds);

}  // namespace

std::unique_ptr<Device> Device::Open(std::shared_ptr<VfioContext> ctx, const std::string& name, OpenPath path) {
  if (!CdxSysfs::IsValidDeviceName(name)) {
    throw UsageError("ERR_INVALID_ARG_VALUE", "not a CDX device name (cdx-XX:YY): '" + name + "'");
  }
  std::unique_ptr<Device> dev(new Device(std::move(ctx), name));
  const Sys& sys = dev->sys();
  const CdxSysfs sysfs(dev->ctx_->sys());
  const std::string base = CdxSysfs::DevicePath(name);

  std::optional<std::string> driver = sysfs.Driver(name);
  if (!driver) {
    if (sys.TryStat(base) == -ENOENT) throw SysError(ENOENT, "stat", "", base);
    throw UsageError("ERR_VFIO_NOT_BOUND", name + " is not bound to any driver: bind it to vfio-cdx first");
  }
  if (*driver != CdxSysfs::kDriverName) {
    throw UsageError("ERR_VFIO_NOT_BOUND",
                     name + " is bound to " + *driver + ", not vfio-cdx: unbind it and bind it to vfio-cdx");
  }

  dev->backend_ = ChooseIommuBackend(*dev->ctx_, name, path);
  dev->path_ = dev->backend_->path();
  dev->fd_ = dev->backend_->OpenDevice(name);
  dev->node_ = dev->backend_->node();
  dev->ReadInfo();
  return dev;
}

void Device::ReadInfo() {
  info_ = abi::vfio_device_info{};
  info_.argsz = sizeof info_;
  sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_GET_INFO, reinterpret_cast<uintptr_t>(&info_), name_);
  if (!(info_.flags & abi::VFIO_DEVICE_FLAGS_CDX)) {
    throw UsageError("ERR_VFIO_NOT_CDX", name_ + " is not a vfio-cdx device (flags 0x" +
                                             std::to_string(info_.flags) + ")");
  }
  regions_.clear();
  for (uint32_t i = 0; i < info_.num_regions; i++) regions_.push_back(ReadRegionInfo(i));
  msi_count_ = 0;
  if (info_.num_irqs > 0) {
    abi::vfio_irq_info irq{};
    irq.argsz = sizeof irq;
    irq.index = 0;
    sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_GET_IRQ_INFO, reinterpret_cast<uintptr_t>(&irq), name_);
    if (irq.flags & abi::VFIO_IRQ_INFO_EVENTFD) msi_count_ = irq.count;
  }
}

// VFIO_DEVICE_GET_REGION_INFO, growing the buffer when the kernel asks for more
// (argsz larger than what we passed means "capabilities follow"; vfio-cdx in
// 6.12 never asks, other kernels may).
RegionInfo Device::ReadRegionInfo(uint32_t index) {
  std::vector<uint64_t> buf(sizeof(abi::vfio_region_info) / sizeof(uint64_t));
  for (int attempt = 0;; attempt++) {
    auto* info = reinterpret_cast<abi::vfio_region_info*>(buf.data());
    uint32_t argsz = static_cast<uint32_t>(buf.size() * sizeof(uint64_t));
    info->argsz = argsz;
    info->index = index;
    sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_GET_REGION_INFO, reinterpret_cast<uintptr_t>(info), name_);
    if (info->argsz <= argsz || attempt == 3) return RegionInfo{index, info->flags, info->size, info->offset};
    buf.resize((info->argsz + sizeof(uint64_t) - 1) / sizeof(uint64_t));
  }
}

int Device::fd() const {
  CheckOpen("fd");
  return fd_.get();
}

void Device::CheckOpen(const char* what) const {
  if (closed()) throw UsageError("ERR_VFIO_CLOSED", std::string("device ") + name_ + " is closed (" + what + ")");
}

// The controller's reset (MC_CMD_CDX_DEVICE_RESET) quiesces the device's interrupts, and vfio-cdx
// keeps its own MSI state without restoring them (cdx_dev_reset() has no reset_done hook for it),
// so live vectors would never fire again. They are re-armed with the same eventfds: SET_IRQS
// count 0 frees the IRQs and disables MSI at the controller, SET_IRQS EVENTFD enables it again and
// rewrites every MSI message. If re-arming fails, MSI is left disabled and the error is thrown.
void Device::Reset() {
  CheckOpen("reset");
  sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_RESET, 0, name_);
  if (msi_fds_.empty()) return;
  std::vector<int> fds;
  for (const auto& fd : msi_fds_) fds.push_back(fd.get());
  auto off = IrqSet(abi::VFIO_IRQ_SET_DATA_NONE | abi::VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, {});
  auto on = IrqSet(abi::VFIO_IRQ_SET_DATA_EVENTFD | abi::VFIO_IRQ_SET_ACTION_TRIGGER, 0,
                   static_cast<uint32_t>(fds.size()), fds);
  try {
    sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_SET_IRQS, reinterpret_cast<uintptr_t>(off.data()), name_);
    sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_SET_IRQS, reinterpret_cast<uintptr_t>(on.data()), name_);
  } catch (...) {
    DisableMsi();
    throw;
  }
}

// PROBE|SET: 0 when the device supports bus-master control; ENOTTY when the
// kernel has no BUS_MASTER feature (< 6.7) or vfio-cdx found the controller
// unable to clear bus mastering at open (BME_SUPPORT unset).
bool Device::BusMasterSupported() {
  CheckOpen("busMaster.supported");
  abi::vfio_device_feature_bus_master_arg f{};
  f.argsz = abi::VFIO_DEVICE_FEATURE_MINSZ;
  f.flags = abi::VFIO_DEVICE_FEATURE_PROBE | abi::VFIO_DEVICE_FEATURE_SET | abi::VFIO_DEVICE_FEATURE_BUS_MASTER;
  long rc = sys().TryIoctl(fd_.get(), abi::VFIO_DEVICE_FEATURE, reinterpret_cast<uintptr_t>(&f), name_);
  if (rc == 0) return true;
  if (rc == -ENOTTY) return false;
  throw SysError(static_cast<int>(-rc), "ioctl", abi::VFIO_DEVICE_FEATURE.name, name_);
}

void Device::SetBusMaster(bool enable) {
  CheckOpen("busMaster.set");
  abi::vfio_device_feature_bus_master_arg f{};
  f.argsz = sizeof f;
  f.flags = abi::VFIO_DEVICE_FEATURE_SET | abi::VFIO_DEVICE_FEATURE_BUS_MASTER;
  f.data.op = enable ? abi::VFIO_DEVICE_FEATURE_SET_MASTER : abi::VFIO_DEVICE_FEATURE_CLEAR_MASTER;
  sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_FEATURE, reinterpret_cast<uintptr_t>(&f), name_);
}

std::shared_ptr<MappingCore> Device::Map(uint32_t index, uint64_t offset, uint64_t length) {
  CheckOpen("map");
  if (index >= regions_.size()) throw UsageError("ERR_OUT_OF_RANGE", "no region " + std::to_string(index));
  const RegionInfo& r = regions_[index];
  const uint64_t page = page_size();
  if (offset % page != 0 || length == 0 || offset > r.size || length > r.size - offset) {
    throw UsageError("ERR_OUT_OF_RANGE", "mapping [" + std::to_string(offset) + ", +" + std::to_string(length) +
                                             ") does not fit region " + std::to_string(index) + " page-aligned");
  }
  int prot = PROT_READ | ((r.flags & abi::VFIO_REGION_INFO_FLAG_WRITE) ? PROT_WRITE : 0);
  size_t map_length = static_cast<size_t>((length + page - 1) / page * page);
  std::string what = name_ + " region " + std::to_string(index);
  void* addr = sys().Mmap(map_length, prot, MAP_SHARED, fd_.get(), static_cast<int64_t>(r.offset + offset), what);
  auto mapping = std::make_shared<MappingCore>(ctx_->sys(), addr, static_cast<size_t>(length), map_length, index,
                                               offset, (prot & PROT_WRITE) != 0, what);
  mappings_.push_back(mapping);
  return mapping;
}

void Device::Unmap(const std::shared_ptr<MappingCore>& mapping, bool notify) {
  for (auto it = mappings_.begin(); it != mappings_.end(); ++it) {
    if (*it == mapping) {
      mappings_.erase(it);
      break;
    }
  }
  mapping->Unmap(notify);
}

namespace {

// A vfio_irq_set for index 0 with room for `count` eventfds.
std::vector<uint32_t> IrqSet(uint32_t flags, uint32_t start, uint32_t count, const std::vector<int>& fds) {
  std::vector<uint32_t> buf((abi::VFIO_IRQ_SET_MINSZ + 4 * fds.size() + 3) / 4);
  auto* set = reinterpret_cast<abi::vfio_irq_set*>(buf.data());
  set->argsz = static_cast<uint32_t>(abi::VFIO_IRQ_SET_MINSZ + 4 * fds.size());
  set->flags = flags;
  set->index = 0;
  set->start = start;
  set->count = count;
  for (size_t i = 0; i < fds.size(); i++) reinterpret_cast<int32_t*>(set->data)[i] = fds[i];
  return buf;
}

}  // namespace

std::vector<int> Device::EnableMsi(uint32_t vectors) {
  CheckOpen("msi.enable");
  if (msi_count_ == 0) throw UsageError("ERR_VFIO_NO_MSI", name_ + " has no MSI vectors");
  if (vectors == 0 || vectors > msi_count_) {
    throw UsageError("ERR_OUT_OF_RANGE", name_ + " has " + std::to_string(msi_count_) + " MSI vectors, not " +
                                             std::to_string(vectors));
  }
  if (!msi_fds_.empty()) {
    throw UsageError("ERR_VFIO_MSI_ENABLED",
                     "MSI is already enabled on " + name_ + ": disable it first (live vectors are never re-programmed)");
  }
  std::vector<UniqueFd> owned;
  std::vector<int> fds;
  for (uint32_t v = 0; v < vectors; v++) {
    std::string what = name_ + " MSI vector " + std::to_string(v);
    int fd = sys().Eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK, what);
    owned.emplace_back(ctx_->sys(), fd, what);
    fds.push_back(fd);
  }
  auto set = IrqSet(abi::VFIO_IRQ_SET_DATA_EVENTFD | abi::VFIO_IRQ_SET_ACTION_TRIGGER, 0, vectors, fds);
  sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_SET_IRQS, reinterpret_cast<uintptr_t>(set.data()), name_);
  msi_fds_ = std::move(owned);
  return fds;
}

void Device::TriggerMsi(uint32_t vector) {
  CheckOpen("msi.trigger");
  auto set = IrqSet(abi::VFIO_IRQ_SET_DATA_NONE | abi::VFIO_IRQ_SET_ACTION_TRIGGER, vector, 1, {});
  sys().Ioctl(fd_.get(), abi::VFIO_DEVICE_SET_IRQS, reinterpret_cast<uintptr_t>(set.data()), name_);
}

void Device::DisableMsi() {
  if (msi_fds_.empty()) return;
  if (before_msi_close) before_msi_close();
  if (fd_.valid()) {
    auto set = IrqSet(abi::VFIO_IRQ_SET_DATA_NONE | abi::VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, {});
    // A failure leaves the kernel holding its own eventfd references; the
    // device's last close frees them anyway (vfio_cdx_irqs_cleanup).
    sys().TryIoctl(fd_.get(), abi::VFIO_DEVICE_SET_IRQS, reinterpret_cast<uintptr_t>(set.data()), name_);
  }
  msi_fds_.clear();
}

std::shared_ptr<DmaSpace> Device::dma_space() {
  CheckOpen("dma");
  return backend_->dma(name_);
}

std::shared_ptr<DmaBufferCore> Device::AllocDma(uint64_t size, bool hugepages) {
  std::shared_ptr<DmaSpace> space = dma_space();
  dma_buffers_.erase(std::remove_if(dma_buffers_.begin(), dma_buffers_.end(), [](const auto& b) { return !b->live(); }),
                     dma_buffers_.end());
  const uint64_t page = hugepages ? (uint64_t{2} << 20) : page_size();
  if (size == 0 || size > (uint64_t{1} << 46)) throw UsageError("ERR_OUT_OF_RANGE", "DMA size must be 1..2^46 bytes");
  uint64_t length = (size + page - 1) / page * page;
  std::string what = name_ + " DMA buffer";
  int flags = MAP_SHARED | MAP_ANONYMOUS | (hugepages ? MAP_HUGETLB : 0);
  void* addr = sys().Mmap(static_cast<size_t>(length), PROT_READ | PROT_WRITE, flags, -1, 0, what);
  uint64_t iova;
  try {
    iova = space->Map(addr, length);
  } catch (...) {
    sys().Munmap(addr, static_cast<size_t>(length), what);
    throw;
  }
  auto buf = std::make_shared<DmaBufferCore>(ctx_->sys(), std::move(space), addr, length, iova, what);
  dma_buffers_.push_back(buf);
  return buf;
}

void Device::Close(bool notify) {
  DisableMsi();
  for (auto& b : dma_buffers_) b->Free(notify);
  dma_buffers_.clear();
  for (auto& m : mappings_) m->Unmap(notify);
  mappings_.clear();
  fd_.Reset();
  backend_.reset();
}

}  // namespace vfiocdx
