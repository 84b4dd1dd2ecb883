// dma_buffer.h — memory the device reaches by DMA.
//
// Owns: an anonymous shared mapping in this process (never on the V8 heap, so
// it never moves) and its IOMMU mapping at `iova` in the device's DmaSpace.
// The Device that allocated it keeps it in its list and frees every buffer on
// close; Free() unmaps the IOVA first (the device must not reach freed memory),
// then detaches the JS buffer (before_free), then munmaps.
// Thread: the JS thread of its environment.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dma_space.h"
#include "sys.h"

namespace vfiocdx {

class DmaBufferCore {
 public:
  DmaBufferCore(std::shared_ptr<const Sys> sys, std::shared_ptr<DmaSpace> space, void* addr, uint64_t size,
                uint64_t iova, std::string what)
      : sys_(std::move(sys)), space_(std::move(space)), addr_(addr), size_(size), iova_(iova), what_(std::move(what)) {}
  ~DmaBufferCore() { Free(false); }
  DmaBufferCore(const DmaBufferCore&) = delete;
  DmaBufferCore& operator=(const DmaBufferCore&) = delete;

  bool live() const { return addr_ != nullptr; }
  void* data() const { return addr_; }
  uint64_t size() const { return size_; }
  uint64_t iova() const { return iova_; }
  // Idempotent. `notify`: run before_free (JS thread only, never at teardown).
  void Free(bool notify) {
    if (addr_ == nullptr) return;
    space_->Unmap(iova_, size_);
    if (notify && before_free) before_free();
    before_free = nullptr;
    void* addr = addr_;
    addr_ = nullptr;
    sys_->Munmap(addr, size_, what_);
  }
  std::function<void()> before_free;

 private:
  std::shared_ptr<const Sys> sys_;
  std::shared_ptr<DmaSpace> space_;
  void* addr_;
  uint64_t size_;
  uint64_t iova_;
  std::string what_;
};

}  // namespace vfiocdx
