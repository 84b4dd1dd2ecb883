// vfio_container.h — a VFIO container (/dev/vfio/vfio) and its IOMMU driver.
//
// Owns: the container fd. Shared (shared_ptr) by every Group attached to it;
// closed when the last group lets go, after the groups' own fds are closed
// (the kernel detaches a group from its container when the group fd closes).
// Thread: the JS thread of the environment that opened it.
#pragma once

#include <memory>
#include <string>

#include "dma_space.h"
#include "sys.h"

namespace vfiocdx {

class Container {
 public:
  // Opens /dev/vfio/vfio, checks VFIO_GET_API_VERSION and that the kernel
  // offers the IOMMU driver we need: TYPE1v2, or the noiommu driver.
  static std::shared_ptr<Container> Open(std::shared_ptr<const Sys> sys, bool noiommu);

  int fd() const { return fd_.get(); }
  bool noiommu() const { return noiommu_; }
  unsigned long iommu_type() const;
  // VFIO_SET_IOMMU, once, after the first group is attached (the kernel refuses
  // SET_IOMMU on a container without a group: EINVAL).
  void EnsureIommu();
  // The container's DMA space (type1 only; null for a no-IOMMU container).
  std::shared_ptr<DmaSpace> dma();

 private:
  Container(std::shared_ptr<const Sys> sys, UniqueFd fd, bool noiommu)
      : sys_(std::move(sys)), fd_(std::move(fd)), noiommu_(noiommu) {}
  std::shared_ptr<const Sys> sys_;
  UniqueFd fd_;
  bool noiommu_;
  bool iommu_set_ = false;
  std::shared_ptr<DmaSpace> dma_;
};

}  // namespace vfiocdx
