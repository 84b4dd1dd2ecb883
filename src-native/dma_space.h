// dma_space.h — an IOMMU address space the device DMAs through, and its IOVA allocator.
//
// Type1 containers and iommufd IOASes are shared by every device attached to
// them, so their DmaSpace is too (owned by the Container / IommufdSession).
// The allocator hands out IOVA ranges inside the windows the kernel reports
// (type1 VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE; iommufd IOMMU_IOAS_IOVA_RANGES)
// — on arm64 with an SMMU those exclude the MSI window 0x8000000..0x80fffff.
// Thread: the JS thread of its environment.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sys.h"

namespace vfiocdx {

struct IovaRange {
  uint64_t start;
  uint64_t last;  // inclusive
};

class DmaSpace {
 public:
  virtual ~DmaSpace() = default;
  // Maps [vaddr, vaddr + size) read/write at a fresh IOVA; returns the IOVA.
  uint64_t Map(void* vaddr, uint64_t size);
  // Unmaps and releases an IOVA returned by Map. Never throws (failures are traced).
  void Unmap(uint64_t iova, uint64_t size);
  const std::vector<IovaRange>& ranges();
  // Forgets the windows: the next ranges() asks the kernel again. Called whenever a device joins
  // the space, since its reserved regions narrow the windows — and the iommufd-provided
  // /dev/vfio/vfio reports one full range until a device fd is opened.
  void RangesChanged() { have_ranges_ = false; }
  virtual const char* kind() const = 0;

 protected:
  explicit DmaSpace(std::shared_ptr<const Sys> sys) : sys_(std::move(sys)) {}
  virtual std::vector<IovaRange> QueryRanges() = 0;
  virtual uint64_t Alignment() = 0;
  virtual void KernelMap(void* vaddr, uint64_t iova, uint64_t size) = 0;
  virtual long KernelUnmap(uint64_t iova, uint64_t size) = 0;
  std::shared_ptr<const Sys> sys_;

 private:
  uint64_t Allocate(uint64_t size);
  std::vector<IovaRange> ranges_;
  bool have_ranges_ = false;
  std::map<uint64_t, uint64_t> used_;  // iova → size
};

// VFIO_IOMMU_MAP_DMA / UNMAP_DMA on a type1v2 container.
class Type1DmaSpace final : public DmaSpace {
 public:
  Type1DmaSpace(std::shared_ptr<const Sys> sys, int container_fd) : DmaSpace(std::move(sys)), fd_(container_fd) {}
  const char* kind() const override { return "type1"; }

 private:
  std::vector<IovaRange> QueryRanges() override;
  uint64_t Alignment() override;
  void KernelMap(void* vaddr, uint64_t iova, uint64_t size) override;
  long KernelUnmap(uint64_t iova, uint64_t size) override;
  int fd_;
  uint64_t pgsizes_ = 0;
};

// IOMMU_IOAS_MAP (FIXED_IOVA) / IOMMU_IOAS_UNMAP on an iommufd IOAS.
class IoasDmaSpace final : public DmaSpace {
 public:
  IoasDmaSpace(std::shared_ptr<const Sys> sys, int iommufd, uint32_t ioas)
      : DmaSpace(std::move(sys)), fd_(iommufd), ioas_(ioas) {}
  const char* kind() const override { return "iommufd"; }

 private:
  std::vector<IovaRange> QueryRanges() override;
  uint64_t Alignment() override;
  void KernelMap(void* vaddr, uint64_t iova, uint64_t size) override;
  long KernelUnmap(uint64_t iova, uint64_t size) override;
  int fd_;
  uint32_t ioas_;
  uint64_t alignment_ = 0;
};

}  // namespace vfiocdx
