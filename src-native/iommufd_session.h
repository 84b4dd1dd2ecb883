// iommufd_session.h — an open /dev/iommu with one IO address space (IOAS).
//
// Owns: the iommufd fd (closing it destroys the IOAS and every object in it).
// Shared by the cdev-path devices of one environment; released after their
// device fds are closed (a device fd's close unbinds it from the iommufd).
// Thread: the JS thread of its environment.
#pragma once

#include <cstdint>
#include <memory>

#include "dma_space.h"
#include "sys.h"

namespace vfiocdx {

class IommufdSession {
 public:
  // Opens /dev/iommu and allocates an IOAS (IOMMU_IOAS_ALLOC).
  static std::shared_ptr<IommufdSession> Open(std::shared_ptr<const Sys> sys);
  int fd() const { return fd_.get(); }
  uint32_t ioas_id() const { return ioas_id_; }
  std::shared_ptr<DmaSpace> dma();

 private:
  IommufdSession(std::shared_ptr<const Sys> sys, UniqueFd fd, uint32_t ioas)
      : sys_(std::move(sys)), fd_(std::move(fd)), ioas_id_(ioas) {}
  std::shared_ptr<const Sys> sys_;
  UniqueFd fd_;
  uint32_t ioas_id_;
  std::shared_ptr<DmaSpace> dma_;
};

}  // namespace vfiocdx
