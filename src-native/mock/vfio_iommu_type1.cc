// vfio_iommu_type1.cc — drivers/vfio/vfio_iommu_type1.c: the type1 IOMMU driver of a container
// (CHECK_EXTENSION, GET_INFO with its capability chain, MAP_DMA, UNMAP_DMA) and the pinning
// charge against RLIMIT_MEMLOCK.
//
// VfioIommu is owned by its container while the driver is set. The mock's IOMMU has one domain
// shared by every group (they are all behind the same SMMU), with the arm64 SMMUv3 geometry:
// 48-bit IOVA minus the software MSI window 0x8000000..0x80fffff. Runs with Impl::mu held.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {
namespace {

constexpr uint64_t kIovaLast = (1ull << 48) - 1;
constexpr uint64_t kMsiIovaBase = 0x8000000;    // MSI_IOVA_BASE (arm-smmu-v3.h:480)
constexpr uint64_t kMsiIovaLength = 0x100000;   // MSI_IOVA_LENGTH (arm-smmu-v3.h:481)
constexpr uint64_t kDirtyBitmapSizeMax = 0x10000000;  // DIRTY_BITMAP_BYTES(INT_MAX)

// The IOMMU's page sizes for the emulated PAGE_SIZE (the SMMU's granule and its block sizes).
uint64_t SmmuPgsizeBitmap(size_t page_size) {
  if (page_size == 0x4000) return 0x4000 | 0x2000000;
  if (page_size == 0x10000) return 0x10000 | 0x20000000;
  return 0x1000 | 0x200000 | 0x40000000;
}

uint64_t LowestPgsize(uint64_t bitmap) { return bitmap & (~bitmap + 1); }

}  // namespace

uint64_t MockKernel::Impl::DomainPgsizeBitmap() const { return SmmuPgsizeBitmap(page_size); }

// The usable IOVA ranges (the iova_list built at group attach): aperture minus reserved regions.
std::vector<abi::vfio_iova_range> Type1IovaRanges() {
  return {{0, kMsiIovaBase - 1}, {kMsiIovaBase + kMsiIovaLength, kIovaLast}};
}

// vaddr_get_pfns() through pin_user_pages_remote(): the whole range must be mapped, and writable
// when the device may write (FOLL_WRITE), else -EFAULT.
int UserRangePinnable(uint64_t vaddr, uint64_t size, bool write) {
  FILE* maps = fopen("/proc/self/maps", "re");
  if (!maps) return -ENOMEM;
  uint64_t cur = vaddr;
  uint64_t end = vaddr + size;
  char line[512];
  while (cur < end && fgets(line, sizeof(line), maps)) {
    unsigned long long lo = 0, hi = 0;
    char perms[8] = {0};
    if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3) continue;
    if (hi <= cur) continue;
    if (lo > cur) break;  // a hole
    if (perms[0] != 'r' || (write && perms[1] != 'w')) break;
    cur = hi;
  }
  fclose(maps);
  return cur >= end ? 0 : -EFAULT;
}

// vfio_iommu_type1_check_extension() (vfio_iommu_type1.c:2642-2664).
long MockKernel::Impl::VfioIommuType1CheckExtension(VfioIommu* iommu, unsigned long arg) {
  switch (arg) {
    case abi::VFIO_TYPE1_IOMMU:
    case abi::VFIO_TYPE1v2_IOMMU:
    case abi::VFIO_TYPE1_NESTING_IOMMU:
    case abi::VFIO_UNMAP_ALL:
      return 1;
    case abi::VFIO_UPDATE_VADDR: return iommu ? 1 : 0;  // no emulated (mdev) groups here
    case abi::VFIO_DMA_CC_IOMMU: return iommu ? 1 : 0;  // the domain enforces cache coherency
    default: return 0;
  }
}

// vfio_iommu_type1_open() (vfio_iommu_type1.c:2540-2574) + attach of the container's groups to the
// one domain, which narrows pgsize_bitmap from PAGE_MASK to the domain's page sizes.
int MockKernel::Impl::VfioIommuType1Open(unsigned long arg, std::unique_ptr<VfioIommu>* out) {
  auto iommu = std::make_unique<VfioIommu>();
  switch (arg) {
    case abi::VFIO_TYPE1_IOMMU: break;
    case abi::VFIO_TYPE1_NESTING_IOMMU:
    case abi::VFIO_TYPE1v2_IOMMU: iommu->v2 = true; break;
    default: return -EINVAL;
  }
  iommu->dma_avail = config.dma_entry_limit;
  iommu->pgsize_bitmap = ~static_cast<uint64_t>(page_size - 1) & SmmuPgsizeBitmap(page_size);
  *out = std::move(iommu);
  return 0;
}

// vfio_iommu_type1_release() → vfio_iommu_unmap_unpin_all().
void MockKernel::Impl::VfioIommuType1Release(VfioIommu* iommu) {
  while (!iommu->dma_list.empty()) VfioRemoveDma(iommu, iommu->dma_list.begin());
}

// vfio_iommu_type1_ioctl() (vfio_iommu_type1.c:2991-3010). VFIO_IOMMU_DIRTY_PAGES is not emulated.
long MockKernel::Impl::VfioIommuType1Ioctl(VfioIommu* iommu, unsigned long cmd, uintptr_t arg) {
  switch (cmd) {
    case abi::VFIO_CHECK_EXTENSION: return VfioIommuType1CheckExtension(iommu, arg);
    case abi::VFIO_IOMMU_GET_INFO: return VfioIommuType1GetInfo(iommu, arg);
    case abi::VFIO_IOMMU_MAP_DMA: return VfioIommuType1MapDma(iommu, arg);
    case abi::VFIO_IOMMU_UNMAP_DMA: return VfioIommuType1UnmapDma(iommu, arg);
    default: return -ENOTTY;
  }
}

// The capability chain of GET_INFO: MIGRATION, DMA_AVAIL, IOVA_RANGE, each 8-byte aligned and
// linked by `next` offsets relative to the start of the info struct (vfio_info_cap_add/shift).
static std::vector<uint8_t> BuildType1Caps(const VfioIommu* iommu, uint32_t shift) {
  abi::vfio_iommu_type1_info_cap_migration mig = {};
  mig.header.id = abi::VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION;
  mig.header.version = 1;
  mig.pgsize_bitmap = LowestPgsize(iommu->pgsize_bitmap);
  mig.max_dirty_bitmap_size = kDirtyBitmapSizeMax;
  abi::vfio_iommu_type1_info_dma_avail avail = {};
  avail.header.id = abi::VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
  avail.header.version = 1;
  avail.avail = iommu->dma_avail;
  std::vector<abi::vfio_iova_range> ranges = Type1IovaRanges();
  abi::vfio_iommu_type1_info_cap_iova_range iova = {};
  iova.header.id = abi::VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
  iova.header.version = 1;
  iova.nr_iovas = static_cast<uint32_t>(ranges.size());

  // vfio_info_cap_add(): each capability is padded to 8 bytes; `next` is the following one's offset.
  auto align8 = [](size_t n) { return (n + 7) & ~size_t{7}; };
  mig.header.next = static_cast<uint32_t>(shift + align8(sizeof(mig)));
  avail.header.next = static_cast<uint32_t>(mig.header.next + align8(sizeof(avail)));
  std::vector<uint8_t> buf;
  auto append = [&buf, &align8](const void* p, size_t n, bool pad) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    buf.insert(buf.end(), b, b + n);
    if (pad) buf.resize(align8(buf.size()), 0);
  };
  append(&mig, sizeof(mig), true);
  append(&avail, sizeof(avail), true);
  append(&iova, sizeof(iova), false);
  append(ranges.data(), ranges.size() * sizeof(abi::vfio_iova_range), true);
  return buf;
}

// vfio_iommu_type1_get_info() (vfio_iommu_type1.c:2756-2813): a too small argsz is rewritten to the
// size needed and the caps are not copied; min(argsz, sizeof(info)) bytes are copied back.
long MockKernel::Impl::VfioIommuType1GetInfo(VfioIommu* iommu, uintptr_t arg) {
  abi::vfio_iommu_type1_info info = {};
  uint32_t minsz = abi::VFIO_IOMMU_TYPE1_INFO_MINSZ;
  if (CopyFromUser(&info, arg, minsz)) return -EFAULT;
  if (info.argsz < minsz) return -EINVAL;
  size_t copy = std::min<size_t>(info.argsz, sizeof(info));
  info.flags = abi::VFIO_IOMMU_INFO_PGSIZES;
  info.iova_pgsizes = iommu->pgsize_bitmap;
  std::vector<uint8_t> caps = BuildType1Caps(iommu, sizeof(info));
  info.flags |= abi::VFIO_IOMMU_INFO_CAPS;
  if (info.argsz < sizeof(info) + caps.size()) {
    info.argsz = static_cast<uint32_t>(sizeof(info) + caps.size());
  } else {
    if (CopyToUser(arg + sizeof(info), caps.data(), caps.size())) return -EFAULT;
    info.cap_offset = sizeof(info);
  }
  return CopyToUser(arg, &info, copy) ? -EFAULT : 0;
}

// vfio_iommu_type1_map_dma() (vfio_iommu_type1.c:2815-2832).
long MockKernel::Impl::VfioIommuType1MapDma(VfioIommu* iommu, uintptr_t arg) {
  abi::vfio_iommu_type1_dma_map map;
  const uint32_t mask = abi::VFIO_DMA_MAP_FLAG_READ | abi::VFIO_DMA_MAP_FLAG_WRITE | abi::VFIO_DMA_MAP_FLAG_VADDR;
  if (CopyFromUser(&map, arg, abi::VFIO_DMA_MAP_MINSZ)) return -EFAULT;
  if (map.argsz < abi::VFIO_DMA_MAP_MINSZ || (map.flags & ~mask)) return -EINVAL;
  return VfioDmaDoMap(iommu, map);
}

// vfio_find_dma(): any mapping overlapping [start, start+size).
static VfioDma* VfioFindDma(VfioIommu* iommu, uint64_t start, uint64_t size) {
  auto it = iommu->dma_list.upper_bound(start);
  if (it != iommu->dma_list.begin()) {
    auto prev = std::prev(it);
    if (start < prev->second.iova + prev->second.size) return &prev->second;
  }
  if (it != iommu->dma_list.end() && it->second.iova < start + size) return &it->second;
  return nullptr;
}

// vfio_iommu_iova_dma_valid(): [start, end] inside one usable range.
static bool VfioIommuIovaDmaValid(uint64_t start, uint64_t end) {
  for (const auto& r : Type1IovaRanges()) {
    if (start >= r.start && end <= r.end) return true;
  }
  return false;
}

// vfio_dma_do_map() (vfio_iommu_type1.c:1548-1666). Pinning charges locked_vm against
// RLIMIT_MEMLOCK (vfio_pin_pages_remote, 664-671) when a limit is configured.
int MockKernel::Impl::VfioDmaDoMap(VfioIommu* iommu, const abi::vfio_iommu_type1_dma_map& map) {
  bool set_vaddr = map.flags & abi::VFIO_DMA_MAP_FLAG_VADDR;
  int prot = map.flags & (abi::VFIO_DMA_MAP_FLAG_READ | abi::VFIO_DMA_MAP_FLAG_WRITE);
  if ((prot && set_vaddr) || (!prot && !set_vaddr)) return -EINVAL;
  uint64_t pgsize = LowestPgsize(iommu->pgsize_bitmap);
  if (!map.size || ((map.size | map.iova | map.vaddr) & (pgsize - 1))) return -EINVAL;
  if (map.iova + map.size - 1 < map.iova || map.vaddr + map.size - 1 < map.vaddr) return -EINVAL;
  VfioDma* dma = VfioFindDma(iommu, map.iova, map.size);
  if (set_vaddr) {
    if (!dma) return -ENOENT;
    if (!dma->vaddr_invalid || dma->iova != map.iova || dma->size != map.size) return -EINVAL;
    dma->vaddr = map.vaddr;  // vfio_change_dma_owner(): same task, nothing to move
    dma->vaddr_invalid = false;
    return 0;
  }
  if (dma) return -EEXIST;
  if (!iommu->dma_avail) return -ENOSPC;
  if (!VfioIommuIovaDmaValid(map.iova, map.iova + map.size - 1)) return -EINVAL;
  int ret = UserRangePinnable(map.vaddr, map.size, prot & abi::VFIO_DMA_MAP_FLAG_WRITE);
  if (ret) return ret;
  if (config.memlock_limit && locked_bytes + map.size > config.memlock_limit) return -ENOMEM;
  VfioDma d;
  d.iova = map.iova;
  d.size = map.size;
  d.vaddr = map.vaddr;
  d.prot = prot;
  iommu->dma_list[map.iova] = d;
  iommu->dma_avail--;
  iommu->locked += map.size;
  locked_bytes += map.size;
  return 0;
}

// vfio_remove_dma(): unpin (uncharge locked_vm) and free the entry.
void MockKernel::Impl::VfioRemoveDma(VfioIommu* iommu, std::map<uint64_t, VfioDma>::iterator it) {
  iommu->locked -= it->second.size;
  locked_bytes -= it->second.size;
  iommu->dma_avail++;
  iommu->dma_list.erase(it);
}

// vfio_iommu_type1_unmap_dma() (vfio_iommu_type1.c:2834-2885). Dirty tracking cannot be started in
// the mock (no VFIO_IOMMU_DIRTY_PAGES), so GET_DIRTY_BITMAP always fails in vfio_dma_do_unmap.
long MockKernel::Impl::VfioIommuType1UnmapDma(VfioIommu* iommu, uintptr_t arg) {
  abi::vfio_iommu_type1_dma_unmap unmap;
  const uint32_t mask = abi::VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | abi::VFIO_DMA_UNMAP_FLAG_VADDR |
                        abi::VFIO_DMA_UNMAP_FLAG_ALL;
  const uint32_t minsz = abi::VFIO_DMA_UNMAP_MINSZ;
  if (CopyFromUser(&unmap, arg, minsz)) return -EFAULT;
  if (unmap.argsz < minsz || (unmap.flags & ~mask)) return -EINVAL;
  if ((unmap.flags & abi::VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
      (unmap.flags & (abi::VFIO_DMA_UNMAP_FLAG_ALL | abi::VFIO_DMA_UNMAP_FLAG_VADDR))) {
    return -EINVAL;
  }
  if (unmap.flags & abi::VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
    if (unmap.argsz < minsz + 24) return -EINVAL;  // + sizeof(struct vfio_bitmap)
    uint8_t bitmap[24];
    if (CopyFromUser(bitmap, arg + minsz, sizeof(bitmap))) return -EFAULT;
  }
  int ret = VfioDmaDoUnmap(iommu, &unmap);
  if (ret) return ret;
  return CopyToUser(arg, &unmap, minsz) ? -EFAULT : 0;
}

// vfio_dma_do_unmap() (vfio_iommu_type1.c:1270-1419).
int MockKernel::Impl::VfioDmaDoUnmap(VfioIommu* iommu, abi::vfio_iommu_type1_dma_unmap* unmap) {
  bool unmap_all = unmap->flags & abi::VFIO_DMA_UNMAP_FLAG_ALL;
  bool invalidate_vaddr = unmap->flags & abi::VFIO_DMA_UNMAP_FLAG_VADDR;
  uint64_t pgsize = LowestPgsize(iommu->pgsize_bitmap);
  uint64_t iova = unmap->iova;
  uint64_t size = unmap->size;
  unmap->size = 0;
  if (iova & (pgsize - 1)) return -EINVAL;
  if (unmap_all) {
    if (iova || size) return -EINVAL;
    size = UINT64_MAX;
  } else if (!size || (size & (pgsize - 1)) || iova + size - 1 < iova) {
    return -EINVAL;
  }
  if (unmap->flags & abi::VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) return -EINVAL;  // not tracking
  if (iommu->v2 && !unmap_all) {
    VfioDma* dma = VfioFindDma(iommu, iova, 1);
    if (dma && dma->iova != iova) return -EINVAL;
    dma = VfioFindDma(iommu, iova + size - 1, 1);
    if (dma && dma->iova + dma->size != iova + size) return -EINVAL;
  }
  uint64_t unmapped = 0;
  auto first = iommu->dma_list.lower_bound(iova);  // vfio_find_dma_first_node()
  if (first != iommu->dma_list.begin()) {
    auto prev = std::prev(first);
    if (prev->second.iova + prev->second.size > iova) first = prev;
  }
  for (auto it = first; it != iommu->dma_list.end() && it->second.iova <= iova + (size - 1);) {
    VfioDma& dma = it->second;
    if (!iommu->v2 && iova > dma.iova) break;
    if (invalidate_vaddr) {
      if (dma.vaddr_invalid) {  // undo this call's invalidations
        for (auto u = first; u != it; ++u) u->second.vaddr_invalid = false;
        return -EINVAL;
      }
      dma.vaddr_invalid = true;
      unmapped += dma.size;
      ++it;
      continue;
    }
    unmapped += dma.size;
    auto next = std::next(it);
    VfioRemoveDma(iommu, it);
    it = next;
  }
  unmap->size = unmapped;
  return 0;
}

}  // namespace mock
}  // namespace vfiocdx
