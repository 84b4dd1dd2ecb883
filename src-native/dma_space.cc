// dma_space.cc — see dma_space.h.
#include "dma_space.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "abi.h"

namespace vfiocdx {

namespace {
uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
}  // namespace

const std::vector<IovaRange>& DmaSpace::ranges() {
  if (!have_ranges_) {
    ranges_ = QueryRanges();
    have_ranges_ = true;
  }
  return ranges_;
}

// First fit inside the kernel's windows, skipping IOVA 0 (a device writing to
// address 0 is more often a bug than a buffer) and every range in use.
uint64_t DmaSpace::Allocate(uint64_t size) {
  const uint64_t align = Alignment();
  for (const IovaRange& r : ranges()) {
    uint64_t candidate = AlignUp(r.start == 0 ? align : r.start, align);
    for (auto it = used_.begin(); it != used_.end() && candidate <= r.last; ++it) {
      if (it->first + it->second <= candidate) continue;
      if (it->first >= candidate + size) break;
      candidate = AlignUp(it->first + it->second, align);
    }
    if (candidate >= r.start && candidate <= r.last && size - 1 <= r.last - candidate) return candidate;
  }
  throw UsageError("ERR_VFIO_IOVA_EXHAUSTED",
                   "no free IOVA range of " + std::to_string(size) + " bytes inside the IOMMU's windows");
}

uint64_t DmaSpace::Map(void* vaddr, uint64_t size) {
  uint64_t iova = Allocate(size);
  KernelMap(vaddr, iova, size);
  used_[iova] = size;
  return iova;
}

void DmaSpace::Unmap(uint64_t iova, uint64_t size) {
  // If the kernel refused, the range may still be mapped: keep it out of the
  // allocator (it is released with the container/IOAS) rather than hand it out again.
  if (KernelUnmap(iova, size) >= 0) used_.erase(iova);
}

// ---- type1

// VFIO_IOMMU_GET_INFO with its capability chain: the kernel rewrites argsz to
// the size it needs when the buffer is too small (vfio_iommu_type1_get_info).
std::vector<IovaRange> Type1DmaSpace::QueryRanges() {
  std::vector<uint64_t> buf(sizeof(abi::vfio_iommu_type1_info) / 8);
  for (int attempt = 0; attempt < 4; attempt++) {
    auto* info = reinterpret_cast<abi::vfio_iommu_type1_info*>(buf.data());
    uint32_t have = static_cast<uint32_t>(buf.size() * 8);
    std::memset(buf.data(), 0, have);
    info->argsz = have;
    sys_->Ioctl(fd_, abi::VFIO_IOMMU_GET_INFO, reinterpret_cast<uintptr_t>(info), "/dev/vfio/vfio");
    pgsizes_ = info->iova_pgsizes;
    if (info->argsz > have) {
      buf.resize((info->argsz + 7) / 8);
      continue;
    }
    std::vector<IovaRange> out;
    if (info->flags & abi::VFIO_IOMMU_INFO_CAPS) {
      const auto* base = reinterpret_cast<const uint8_t*>(buf.data());
      for (uint32_t off = info->cap_offset; off != 0 && off + sizeof(abi::vfio_info_cap_header) <= have;) {
        const auto* hdr = reinterpret_cast<const abi::vfio_info_cap_header*>(base + off);
        if (hdr->id == abi::VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
          const auto* cap = reinterpret_cast<const abi::vfio_iommu_type1_info_cap_iova_range*>(hdr);
          for (uint32_t i = 0; i < cap->nr_iovas; i++) out.push_back({cap->iova_ranges[i].start, cap->iova_ranges[i].end});
        }
        off = hdr->next;
      }
    }
    if (out.empty()) out.push_back({0, ~uint64_t{0}});  // no IOVA_RANGE capability: no known restriction
    return out;
  }
  throw UsageError("ERR_VFIO_BAD_KERNEL_REPLY", "VFIO_IOMMU_GET_INFO kept asking for a larger buffer");
}

uint64_t Type1DmaSpace::Alignment() {
  if (pgsizes_ == 0) ranges();
  uint64_t page = static_cast<uint64_t>(sys_->kernel().PageSize());
  uint64_t smallest = pgsizes_ ? (pgsizes_ & (~pgsizes_ + 1)) : page;  // lowest set bit
  return smallest > page ? smallest : page;
}

void Type1DmaSpace::KernelMap(void* vaddr, uint64_t iova, uint64_t size) {
  abi::vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof map;
  map.flags = abi::VFIO_DMA_MAP_FLAG_READ | abi::VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = reinterpret_cast<uintptr_t>(vaddr);
  map.iova = iova;
  map.size = size;
  sys_->Ioctl(fd_, abi::VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map), "/dev/vfio/vfio");
}

long Type1DmaSpace::KernelUnmap(uint64_t iova, uint64_t size) {
  abi::vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof unmap;
  unmap.iova = iova;
  unmap.size = size;
  return sys_->TryIoctl(fd_, abi::VFIO_IOMMU_UNMAP_DMA, reinterpret_cast<uintptr_t>(&unmap), "/dev/vfio/vfio");
}

// ---- iommufd

// IOMMU_IOAS_IOVA_RANGES: first with no room (the kernel answers EMSGSIZE and
// the count), then with room for them all.
std::vector<IovaRange> IoasDmaSpace::QueryRanges() {
  std::vector<abi::iommu_iova_range> ranges(4);
  for (int attempt = 0; attempt < 4; attempt++) {
    abi::iommu_ioas_iova_ranges cmd{};
    cmd.size = sizeof cmd;
    cmd.ioas_id = ioas_;
    cmd.num_iovas = static_cast<uint32_t>(ranges.size());
    cmd.allowed_iovas = reinterpret_cast<uintptr_t>(ranges.data());
    long rc = sys_->TryIoctl(fd_, abi::IOMMU_IOAS_IOVA_RANGES, reinterpret_cast<uintptr_t>(&cmd), "/dev/iommu");
    if (rc == -EMSGSIZE) {
      ranges.resize(cmd.num_iovas);
      continue;
    }
    if (rc < 0) throw SysError(static_cast<int>(-rc), "ioctl", abi::IOMMU_IOAS_IOVA_RANGES.name, "/dev/iommu");
    alignment_ = cmd.out_iova_alignment;
    std::vector<IovaRange> out;
    for (uint32_t i = 0; i < cmd.num_iovas; i++) out.push_back({ranges[i].start, ranges[i].last});
    return out;
  }
  throw UsageError("ERR_VFIO_BAD_KERNEL_REPLY", "IOMMU_IOAS_IOVA_RANGES kept growing");
}

uint64_t IoasDmaSpace::Alignment() {
  if (alignment_ == 0) ranges();
  uint64_t page = static_cast<uint64_t>(sys_->kernel().PageSize());
  return alignment_ > page ? alignment_ : page;
}

void IoasDmaSpace::KernelMap(void* vaddr, uint64_t iova, uint64_t size) {
  abi::iommu_ioas_map map{};
  map.size = sizeof map;
  map.flags = abi::IOMMU_IOAS_MAP_FIXED_IOVA | abi::IOMMU_IOAS_MAP_READABLE | abi::IOMMU_IOAS_MAP_WRITEABLE;
  map.ioas_id = ioas_;
  map.user_va = reinterpret_cast<uintptr_t>(vaddr);
  map.length = size;
  map.iova = iova;
  sys_->Ioctl(fd_, abi::IOMMU_IOAS_MAP, reinterpret_cast<uintptr_t>(&map), "/dev/iommu");
}

long IoasDmaSpace::KernelUnmap(uint64_t iova, uint64_t size) {
  abi::iommu_ioas_unmap unmap{};
  unmap.size = sizeof unmap;
  unmap.ioas_id = ioas_;
  unmap.iova = iova;
  unmap.length = size;
  return sys_->TryIoctl(fd_, abi::IOMMU_IOAS_UNMAP, reinterpret_cast<uintptr_t>(&unmap), "/dev/iommu");
}

}  // namespace vfiocdx
