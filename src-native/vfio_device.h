// vfio_device.h — an open vfio-cdx device.
//
// Owns: the device fd, every MappingCore made from it, and its IommuBackend
// (a share of the Group and its Container, or of the iommufd session).
// Close() unmaps every mapping (detaching JS buffers first when `notify`),
// closes the device fd — the kernel resets the device on its last close — and
// then drops the backend, so the group/container/iommufd close after the device.
// Thread: the JS thread of the environment that opened it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <functional>
#include <vector>

#include "abi.h"
#include "dma_buffer.h"
#include "iommu_backend.h"
#include "live_count.h"
#include "mapping.h"
#include "sys.h"
#include "vfio_context.h"

namespace vfiocdx {

struct RegionInfo {
  uint32_t index;
  uint32_t flags;
  uint64_t size;
  uint64_t offset;
};

class Device {
 public:
  static std::unique_ptr<Device> Open(std::shared_ptr<VfioContext> ctx, const std::string& name, OpenPath path);
  ~Device() { Close(false); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& name() const { return name_; }
  bool closed() const { return !fd_.valid(); }
  OpenPath path() const { return path_; }
  int group_number() const { return backend_ ? backend_->group_number() : -1; }
  // The kernel's PAGE_SIZE (Kernel::PageSize): the unit of mapping offsets and lengths.
  size_t page_size() const { return sys().kernel().PageSize(); }
  bool noiommu() const { return backend_ && backend_->noiommu(); }
  const std::string& node() const { return node_; }
  const std::shared_ptr<Kernel>& shared_kernel() const { return ctx_->sys()->shared_kernel(); }
  int fd() const;
  const abi::vfio_device_info& info() const { return info_; }
  const std::vector<RegionInfo>& regions() const { return regions_; }

  void Reset();

  // MSI (index 0, the only IRQ index of vfio-cdx). The count is from
  // VFIO_DEVICE_GET_IRQ_INFO at open (0 when the device has none).
  uint32_t msi_count() const { return msi_count_; }
  bool msi_enabled() const { return !msi_fds_.empty(); }
  // Creates one eventfd per vector (EFD_CLOEXEC|EFD_NONBLOCK) and attaches
  // all of them in a single SET_IRQS: vfio-cdx frees and re-requests an IRQ
  // every time a vector is set, so vectors are never re-programmed while live.
  // Returns the eventfds (owned by the Device until DisableMsi/Close).
  std::vector<int> EnableMsi(uint32_t vectors);
  // SET_IRQS DATA_NONE|TRIGGER start=vector count=1: the kernel's loopback.
  void TriggerMsi(uint32_t vector);
  // SET_IRQS DATA_NONE|TRIGGER count=0 (frees every trigger and the vectors),
  // then closes the eventfds. The caller has stopped polling them.
  void DisableMsi();
  // Runs before the eventfds are closed (on DisableMsi and Close): the N-API
  // layer stops its uv_poll handles there.
  std::function<void()> before_msi_close;
  bool BusMasterSupported();
  void SetBusMaster(bool enable);
  std::shared_ptr<MappingCore> Map(uint32_t index, uint64_t offset, uint64_t length);
  // DMA memory of at least `size` bytes (rounded up to the page, or to 2 MiB
  // with hugepages), mapped read/write in the device's IOMMU address space.
  std::shared_ptr<DmaBufferCore> AllocDma(uint64_t size, bool hugepages);
  // The device's DMA space; throws for a no-IOMMU group (no translation).
  std::shared_ptr<DmaSpace> dma_space();
  void Unmap(const std::shared_ptr<MappingCore>& mapping, bool notify);
  void Close(bool notify);

 private:
  LiveCount<Device> live_;
  Device(std::shared_ptr<VfioContext> ctx, std::string name) : ctx_(std::move(ctx)), name_(std::move(name)) {}
  void ReadInfo();
  RegionInfo ReadRegionInfo(uint32_t index);
  void CheckOpen(const char* what) const;
  const Sys& sys() const { return *ctx_->sys(); }

  std::shared_ptr<VfioContext> ctx_;
  std::string name_;
  OpenPath path_ = OpenPath::kGroup;
  std::string node_;
  // Destruction order is the reverse of declaration: mappings, then the device
  // fd, then the backend (group / container / iommufd shares).
  std::unique_ptr<IommuBackend> backend_;
  UniqueFd fd_;
  std::vector<std::shared_ptr<MappingCore>> mappings_;
  std::vector<std::shared_ptr<DmaBufferCore>> dma_buffers_;
  uint32_t msi_count_ = 0;
  std::vector<UniqueFd> msi_fds_;
  abi::vfio_device_info info_{};
  std::vector<RegionInfo> regions_;
};

}  // namespace vfiocdx
