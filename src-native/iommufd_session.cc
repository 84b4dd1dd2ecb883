// iommufd_session.cc — see iommufd_session.h.
#include "iommufd_session.h"

#include <fcntl.h>

#include "abi.h"

namespace vfiocdx {

static const char kIommuPath[] = "/dev/iommu";

std::shared_ptr<IommufdSession> IommufdSession::Open(std::shared_ptr<const Sys> sys) {
  UniqueFd fd(sys, sys->Open(kIommuPath, O_RDWR | O_CLOEXEC), kIommuPath);
  abi::iommu_ioas_alloc alloc{};
  alloc.size = sizeof alloc;
  sys->Ioctl(fd.get(), abi::IOMMU_IOAS_ALLOC, reinterpret_cast<uintptr_t>(&alloc), kIommuPath);
  return std::shared_ptr<IommufdSession>(new IommufdSession(sys, std::move(fd), alloc.out_ioas_id));
}

}  // namespace vfiocdx

namespace vfiocdx {

std::shared_ptr<DmaSpace> IommufdSession::dma() {
  if (!dma_) dma_ = std::make_shared<IoasDmaSpace>(sys_, fd_.get(), ioas_id_);
  return dma_;
}

}  // namespace vfiocdx
