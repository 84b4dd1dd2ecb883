// iommufd_vfio_compat.cc — drivers/iommu/iommufd/vfio_compat.c: the VFIO container ioctls that
// every iommufd file answers (iommufd_vfio_ioctl(), reached for ioctl numbers outside iommufd's
// own table), on the context's compat IOAS. With CONFIG_IOMMUFD_VFIO_CONTAINER
// (KernelConfig::vfio_container = false) /dev/vfio/vfio itself is an iommufd file, so a legacy
// container user gets exactly these answers — which differ from vfio_iommu_type1's: one full IOVA
// range until a device is attached (no domain, no reserved regions yet), CHECK_EXTENSION(NOIOMMU)
// = IS_ENABLED(CONFIG_VFIO_NOIOMMU) whatever the groups are, DMA_AVAIL U32_MAX, no MIGRATION
// capability, SET_IOMMU allowed again, and ENODEV instead of EINVAL while no group is attached.
// Runs with Impl::mu held.
#include <cerrno>
#include <cstring>
#include <vector>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {

namespace {
constexpr uint64_t kUlongMax = UINT64_MAX;
}  // namespace

// get_compat_ioas() (vfio_compat.c:15-26): ENODEV until a group made one.
static IommufdObject* CompatIoas(MockKernel::Impl* k, IommufdCtx* ictx) {
  return ictx->vfio_ioas ? k->IommufdGetIoas(ictx, ictx->vfio_ioas) : nullptr;
}

// iommufd_get_pagesizes() (vfio_compat.c:340-360): the domains' page sizes, or every size from
// PAGE_SIZE up while the IOAS has no domain.
static uint64_t CompatPagesizes(const IommufdObject* ioas, size_t page_size, uint64_t domain_bitmap) {
  uint64_t bitmap = ioas->hwpt ? domain_bitmap : kUlongMax;
  if (bitmap & (page_size - 1)) {
    bitmap &= ~static_cast<uint64_t>(page_size - 1);
    bitmap |= page_size;
  }
  uint64_t alignment = ioas->hwpt ? page_size : 1;
  return std::max(bitmap, alignment);
}

// iommufd_vfio_check_extension() (vfio_compat.c:254-285).
long MockKernel::Impl::IommufdVfioCheckExtension(IommufdCtx* ictx, unsigned long type) {
  switch (type) {
    case abi::VFIO_TYPE1_IOMMU:
    case abi::VFIO_TYPE1v2_IOMMU:
    case abi::VFIO_UNMAP_ALL:
      return ictx->no_iommu_mode ? 0 : 1;
    case abi::VFIO_NOIOMMU_IOMMU:
      return config.noiommu_config ? 1 : 0;
    case abi::VFIO_DMA_CC_IOMMU:  // iommufd_vfio_cc_iommu(): the SMMU domain enforces coherency
      return CompatIoas(this, ictx) ? 1 : -ENODEV;
    default:
      return 0;  // TYPE1_NESTING, UPDATE_VADDR and anything unknown
  }
}

// iommufd_vfio_set_iommu() (vfio_compat.c:287-325): may be called again; no "already set".
long MockKernel::Impl::IommufdVfioSetIommu(IommufdCtx* ictx, unsigned long type) {
  if (config.noiommu_config && type == abi::VFIO_NOIOMMU_IOMMU && ictx->no_iommu_mode) {
    return config.cap_sys_rawio ? 0 : -EPERM;
  }
  if ((type != abi::VFIO_TYPE1_IOMMU && type != abi::VFIO_TYPE1v2_IOMMU) || ictx->no_iommu_mode) return -EINVAL;
  return CompatIoas(this, ictx) ? 0 : -ENODEV;
}

// iommufd_vfio_iommu_get_info() (vfio_compat.c:431-500): capabilities DMA_AVAIL (U32_MAX), then
// IOVA_RANGE (the holes of the reserved tree), each written only if it fits; argsz always comes
// back as the size of everything, cap_offset only when it all fit.
long MockKernel::Impl::IommufdVfioIommuGetInfo(IommufdCtx* ictx, uintptr_t arg) {
  abi::vfio_iommu_type1_info info = {};
  const size_t minsz = abi::VFIO_IOMMU_TYPE1_INFO_MINSZ;
  if (CopyFromUser(&info, arg, minsz)) return -EFAULT;
  if (info.argsz < minsz) return -EINVAL;
  size_t copy = std::min<size_t>(info.argsz, sizeof(info));
  IommufdObject* ioas = CompatIoas(this, ictx);
  if (!ioas) return -ENODEV;
  info.flags = abi::VFIO_IOMMU_INFO_PGSIZES;
  info.iova_pgsizes = CompatPagesizes(ioas, page_size, DomainPgsizeBitmap());
  info.cap_offset = 0;

  abi::vfio_iommu_type1_info_dma_avail avail = {};
  avail.header.id = abi::VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
  avail.header.version = 1;
  avail.avail = UINT32_MAX;
  std::vector<abi::vfio_iova_range> holes;
  for (const auto& h : IoasHoles(ioas)) holes.push_back({h.first, h.second});
  abi::vfio_iommu_type1_info_cap_iova_range iova = {};
  iova.header.id = abi::VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
  iova.header.version = 1;
  iova.nr_iovas = static_cast<uint32_t>(holes.size());

  auto align8 = [](size_t n) { return (n + 7) & ~size_t{7}; };
  const size_t avail_at = sizeof(info);
  const size_t iova_at = avail_at + align8(sizeof(avail));
  const size_t iova_size = sizeof(iova) + holes.size() * sizeof(abi::vfio_iova_range);
  const size_t total = iova_at + align8(iova_size);
  uint32_t argsz = info.argsz;
  if (argsz >= avail_at + sizeof(avail)) {  // iommufd_fill_cap_dma_avail(); next patched below
    if (argsz >= iova_at) avail.header.next = static_cast<uint32_t>(iova_at);
    if (CopyToUser(arg + avail_at, &avail, sizeof(avail))) return -EFAULT;
  }
  if (argsz > iova_at) {  // iommufd_fill_cap_iova(): each range, then the header, if they fit
    size_t room = argsz - iova_at;
    for (size_t i = 0; i < holes.size(); i++) {
      if (room >= sizeof(iova) + (i + 1) * sizeof(abi::vfio_iova_range) &&
          CopyToUser(arg + iova_at + sizeof(iova) + i * sizeof(abi::vfio_iova_range), &holes[i], sizeof(holes[i]))) {
        return -EFAULT;
      }
    }
    if (room >= iova_size && CopyToUser(arg + iova_at, &iova, sizeof(iova))) return -EFAULT;
  }
  if (argsz >= total) info.cap_offset = sizeof(info);
  info.argsz = static_cast<uint32_t>(total);
  info.flags |= abi::VFIO_IOMMU_INFO_CAPS;
  return CopyToUser(arg, &info, copy) ? -EFAULT : 0;
}

// iommufd_vfio_map_dma() (vfio_compat.c:160-196): iopt_map_user_pages() at the fixed IOVA. No
// permission check of its own (flags 0 maps with IOMMU_CACHE only), unlike type1.
long MockKernel::Impl::IommufdVfioMapDma(IommufdCtx* ictx, uintptr_t arg) {
  abi::vfio_iommu_type1_dma_map map;
  if (CopyFromUser(&map, arg, abi::VFIO_DMA_MAP_MINSZ)) return -EFAULT;
  const uint32_t supported = abi::VFIO_DMA_MAP_FLAG_READ | abi::VFIO_DMA_MAP_FLAG_WRITE;
  if (map.argsz < abi::VFIO_DMA_MAP_MINSZ || (map.flags & ~supported)) return -EINVAL;
  int prot = 0;
  if (map.flags & abi::VFIO_DMA_MAP_FLAG_READ) prot |= abi::IOMMU_IOAS_MAP_READABLE;
  if (map.flags & abi::VFIO_DMA_MAP_FLAG_WRITE) prot |= abi::IOMMU_IOAS_MAP_WRITEABLE;
  IommufdObject* ioas = CompatIoas(this, ictx);
  if (!ioas) return -ENODEV;
  uint64_t iova = map.iova;
  return IoptMapUserPages(ioas, &iova, map.vaddr, map.size, prot, true);
}

// iommufd_vfio_unmap_dma() (vfio_compat.c:198-248): UNMAP_ALL only as (0, 0); else
// iopt_unmap_iova(): nothing mapped is success with size 0, a partial area ENOENT; the size
// unmapped comes back either way.
long MockKernel::Impl::IommufdVfioUnmapDma(IommufdCtx* ictx, uintptr_t arg) {
  abi::vfio_iommu_type1_dma_unmap unmap;
  const size_t minsz = abi::VFIO_DMA_UNMAP_MINSZ;
  if (CopyFromUser(&unmap, arg, minsz)) return -EFAULT;
  if (unmap.argsz < minsz || (unmap.flags & ~abi::VFIO_DMA_UNMAP_FLAG_ALL)) return -EINVAL;
  IommufdObject* ioas = CompatIoas(this, ictx);
  if (!ioas) return -ENODEV;
  uint64_t unmapped = 0;
  int rc;
  if (unmap.flags & abi::VFIO_DMA_UNMAP_FLAG_ALL) {
    if (unmap.iova != 0 || unmap.size != 0) return -EINVAL;
    rc = IoptUnmapRange(ioas, 0, kUlongMax, &unmapped);
  } else if (!unmap.size) {
    return -EINVAL;
  } else if (unmap.iova + (unmap.size - 1) < unmap.iova) {
    return -EOVERFLOW;
  } else {
    rc = IoptUnmapRange(ioas, unmap.iova, unmap.iova + unmap.size - 1, &unmapped);
  }
  unmap.size = unmapped;
  if (CopyToUser(arg, &unmap, minsz)) rc = -EFAULT;
  return rc;
}

// iommufd_vfio_ioctl() (vfio_compat.c:518-541).
long MockKernel::Impl::IommufdVfioIoctl(IommufdCtx* ictx, unsigned long cmd, uintptr_t arg) {
  switch (cmd) {
    case abi::VFIO_GET_API_VERSION: return abi::VFIO_API_VERSION;
    case abi::VFIO_SET_IOMMU: return IommufdVfioSetIommu(ictx, arg);
    case abi::VFIO_CHECK_EXTENSION: return IommufdVfioCheckExtension(ictx, arg);
    case abi::VFIO_IOMMU_GET_INFO: return IommufdVfioIommuGetInfo(ictx, arg);
    case abi::VFIO_IOMMU_MAP_DMA: return IommufdVfioMapDma(ictx, arg);
    case abi::VFIO_IOMMU_UNMAP_DMA: return IommufdVfioUnmapDma(ictx, arg);
    default: return -ENOTTY;  // -ENOIOCTLCMD, VFIO_IOMMU_DIRTY_PAGES included
  }
}

}  // namespace mock
}  // namespace vfiocdx
