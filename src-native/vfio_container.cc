// vfio_container.cc — see vfio_container.h.
#include "vfio_container.h"

#include <fcntl.h>

#include "abi.h"

namespace vfiocdx {

static const char kContainerPath[] = "/dev/vfio/vfio";

std::shared_ptr<Container> Container::Open(std::shared_ptr<const Sys> sys, bool noiommu) {
  UniqueFd fd(sys, sys->Open(kContainerPath, O_RDWR | O_CLOEXEC), kContainerPath);
  long version = sys->Ioctl(fd.get(), abi::VFIO_GET_API_VERSION, 0, kContainerPath);
  if (version != abi::VFIO_API_VERSION) {
    throw UsageError("ERR_VFIO_API_VERSION",
                     "VFIO API version " + std::to_string(version) + " is not the supported version 0");
  }
  unsigned long type = noiommu ? abi::VFIO_NOIOMMU_IOMMU : abi::VFIO_TYPE1v2_IOMMU;
  // CHECK_EXTENSION never fails; it answers 0 for "not offered"
  // (container.c vfio_container_ioctl_check_extension).
  long offered = sys->Ioctl(fd.get(), abi::VFIO_CHECK_EXTENSION, type, kContainerPath);
  if (offered <= 0) {
    throw UsageError("ERR_VFIO_NO_IOMMU_DRIVER",
                     noiommu ? "the kernel does not offer the VFIO no-IOMMU driver "
                               "(CONFIG_VFIO_NOIOMMU and vfio.enable_unsafe_noiommu_mode=1 are needed)"
                             : "the kernel does not offer the VFIO type1v2 IOMMU driver");
  }
  return std::shared_ptr<Container>(new Container(std::move(sys), std::move(fd), noiommu));
}

unsigned long Container::iommu_type() const {
  return noiommu_ ? abi::VFIO_NOIOMMU_IOMMU : abi::VFIO_TYPE1v2_IOMMU;
}

void Container::EnsureIommu() {
  if (iommu_set_) return;
  sys_->Ioctl(fd_.get(), abi::VFIO_SET_IOMMU, iommu_type(), kContainerPath);
  iommu_set_ = true;
}

}  // namespace vfiocdx

namespace vfiocdx {

std::shared_ptr<DmaSpace> Container::dma() {
  if (noiommu_) return nullptr;
  if (!dma_) dma_ = std::make_shared<Type1DmaSpace>(sys_, fd_.get());
  return dma_;
}

}  // namespace vfiocdx
