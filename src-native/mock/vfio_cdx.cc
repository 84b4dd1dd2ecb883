// vfio_cdx.cc — drivers/vfio/cdx/main.c: the vfio-cdx driver's open_device/close_device, ioctls,
// bus-master feature and mmap.
//
// Operates on the VfioDevice (struct vfio_cdx_device) owned by the bound CdxDevice. Runs with
// Impl::mu held.
#include <sys/mman.h>

#include <cerrno>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {

constexpr uint32_t kBmeSupport = 1u << 0;  // BME_SUPPORT (private.h:38-39)

// vfio_cdx_open_device() (main.c:28-72): region table, reset (fatal), clear bus master (only
// clears BME_SUPPORT on failure).
int MockKernel::Impl::VfioCdxOpenDevice(VfioDevice* vdev) {
  CdxDevice* dev = vdev->dev;
  vdev->regions.clear();
  for (RegionMemory* res : dev->res) {
    VfioCdxRegion r;
    r.addr = res->addr;
    r.size = res->size;
    if (r.addr % page_size == 0 && r.size % page_size == 0) r.flags |= abi::VFIO_REGION_INFO_FLAG_MMAP;
    r.flags |= abi::VFIO_REGION_INFO_FLAG_READ;
    if (!res->read_only) r.flags |= abi::VFIO_REGION_INFO_FLAG_WRITE;
    vdev->regions.push_back(r);
  }
  int ret = CdxDevReset(dev);
  if (ret) {
    vdev->regions.clear();
    return ret;
  }
  if (CdxClearMaster(dev)) {
    vdev->flags &= ~kBmeSupport;
  } else {
    vdev->flags |= kBmeSupport;
  }
  return 0;
}

// vfio_cdx_close_device() (main.c:74-82): free regions, reset (result ignored), then irqs.
void MockKernel::Impl::VfioCdxCloseDevice(VfioDevice* vdev) {
  vdev->regions.clear();
  CdxDevReset(vdev->dev);
  VfioCdxIrqsCleanup(vdev);
}

// vfio_cdx_bm_ctrl() (main.c:84-114) with vfio_check_feature() (include/linux/vfio.h:249-263).
int MockKernel::Impl::VfioCdxBmCtrl(VfioDevice* vdev, uint32_t flags, uintptr_t arg, size_t argsz) {
  if (!(vdev->flags & kBmeSupport)) return -ENOTTY;
  // vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof(ops))
  if ((flags & (abi::VFIO_DEVICE_FEATURE_GET | abi::VFIO_DEVICE_FEATURE_SET)) & ~abi::VFIO_DEVICE_FEATURE_SET) {
    return -EINVAL;
  }
  if (flags & abi::VFIO_DEVICE_FEATURE_PROBE) return 0;
  if (!(flags & (abi::VFIO_DEVICE_FEATURE_GET | abi::VFIO_DEVICE_FEATURE_SET))) return -EINVAL;
  if (argsz < sizeof(abi::vfio_device_feature_bus_master)) return -EINVAL;
  abi::vfio_device_feature_bus_master ops;
  if (CopyFromUser(&ops, arg, abi::VFIO_BUS_MASTER_DATA_MINSZ)) return -EFAULT;
  switch (ops.op) {
    case abi::VFIO_DEVICE_FEATURE_CLEAR_MASTER: return CdxClearMaster(vdev->dev);
    case abi::VFIO_DEVICE_FEATURE_SET_MASTER: return CdxSetMaster(vdev->dev);
    default: return -EINVAL;
  }
}

// vfio_cdx_ioctl_feature() (main.c:116-125).
int MockKernel::Impl::VfioCdxIoctlFeature(VfioDevice* vdev, uint32_t flags, uintptr_t arg, size_t argsz) {
  if ((flags & abi::VFIO_DEVICE_FEATURE_MASK) == abi::VFIO_DEVICE_FEATURE_BUS_MASTER) {
    return VfioCdxBmCtrl(vdev, flags, arg, argsz);
  }
  return -ENOTTY;
}

// vfio_cdx_ioctl_get_info() (main.c:127-147).
long MockKernel::Impl::VfioCdxIoctlGetInfo(VfioDevice* vdev, uintptr_t arg) {
  const uint32_t minsz = abi::VFIO_DEVICE_INFO_MINSZ;
  abi::vfio_device_info info;
  if (CopyFromUser(&info, arg, minsz)) return -EFAULT;
  if (info.argsz < minsz) return -EINVAL;
  info.flags = abi::VFIO_DEVICE_FLAGS_CDX | abi::VFIO_DEVICE_FLAGS_RESET;
  info.num_regions = static_cast<uint32_t>(vdev->dev->res.size());
  info.num_irqs = vdev->dev->num_msi ? 1 : 0;
  return CopyToUser(arg, &info, minsz) ? -EFAULT : 0;
}

// vfio_cdx_ioctl_get_region_info() (main.c:149-171).
long MockKernel::Impl::VfioCdxIoctlGetRegionInfo(VfioDevice* vdev, uintptr_t arg) {
  const uint32_t minsz = abi::VFIO_REGION_INFO_MINSZ;
  abi::vfio_region_info info;
  if (CopyFromUser(&info, arg, minsz)) return -EFAULT;
  if (info.argsz < minsz) return -EINVAL;
  if (info.index >= vdev->dev->res.size()) return -EINVAL;
  info.offset = abi::VfioCdxIndexToOffset(info.index);
  info.size = vdev->regions[info.index].size;
  info.flags = vdev->regions[info.index].flags;
  return CopyToUser(arg, &info, minsz) ? -EFAULT : 0;
}

// vfio_cdx_ioctl_get_irq_info() (main.c:173-196).
long MockKernel::Impl::VfioCdxIoctlGetIrqInfo(VfioDevice* vdev, uintptr_t arg) {
  const uint32_t minsz = abi::VFIO_IRQ_INFO_MINSZ;
  abi::vfio_irq_info info;
  if (CopyFromUser(&info, arg, minsz)) return -EFAULT;
  if (info.argsz < minsz) return -EINVAL;
  if (info.index >= 1) return -EINVAL;
  if (!vdev->dev->num_msi) return -EINVAL;
  info.flags = abi::VFIO_IRQ_INFO_EVENTFD | abi::VFIO_IRQ_INFO_NORESIZE;
  info.count = vdev->dev->num_msi;
  return CopyToUser(arg, &info, minsz) ? -EFAULT : 0;
}

// vfio_cdx_ioctl_set_irqs() (main.c:198-227).
long MockKernel::Impl::VfioCdxIoctlSetIrqs(VfioDevice* vdev, uintptr_t arg) {
  const uint32_t minsz = abi::VFIO_IRQ_SET_MINSZ;
  abi::vfio_irq_set hdr;
  if (CopyFromUser(&hdr, arg, minsz)) return -EFAULT;
  size_t data_size = 0;
  int ret = VfioSetIrqsValidateAndPrepare(hdr, vdev->dev->num_msi, 1, &data_size);
  if (ret) return ret;
  std::vector<uint8_t> data(data_size);
  if (data_size && CopyFromUser(data.data(), arg + minsz, data_size)) return -EFAULT;  // memdup_user()
  return VfioCdxSetIrqsIoctl(vdev, hdr.flags, hdr.index, hdr.start, hdr.count, data_size ? data.data() : nullptr);
}

// vfio_cdx_ioctl() (main.c:229-250).
long MockKernel::Impl::VfioCdxIoctl(VfioDevice* vdev, unsigned long cmd, uintptr_t arg) {
  switch (cmd) {
    case abi::VFIO_DEVICE_GET_INFO: return VfioCdxIoctlGetInfo(vdev, arg);
    case abi::VFIO_DEVICE_GET_REGION_INFO: return VfioCdxIoctlGetRegionInfo(vdev, arg);
    case abi::VFIO_DEVICE_GET_IRQ_INFO: return VfioCdxIoctlGetIrqInfo(vdev, arg);
    case abi::VFIO_DEVICE_SET_IRQS: return VfioCdxIoctlSetIrqs(vdev, arg);
    case abi::VFIO_DEVICE_RESET: return CdxDevReset(vdev->dev);
    default: return -ENOTTY;
  }
}

// vfio_cdx_mmap() (main.c:272-297) + vfio_cdx_mmap_mmio() (main.c:252-270). `pgoff` is in
// PAGE_SIZE units, `size` the page-rounded length. io_remap_pfn_range() becomes a real mmap of
// the region's memfd at the in-region offset with the caller's prot and flags.
int MockKernel::Impl::VfioCdxMmap(VfioDevice* vdev, uint64_t pgoff, size_t size, int prot, int flags, void* addr,
                                  void** out) {
  unsigned shift = 0;
  while ((size_t{1} << shift) < page_size) shift++;
  uint64_t index = pgoff >> (abi::kVfioCdxOffsetShift - shift);
  if (index >= vdev->dev->res.size()) return -EINVAL;
  const VfioCdxRegion& region = vdev->regions[index];
  if (!(region.flags & abi::VFIO_REGION_INFO_FLAG_MMAP)) return -EINVAL;
  if (!(region.flags & abi::VFIO_REGION_INFO_FLAG_READ) && (prot & PROT_READ)) return -EPERM;
  if (!(region.flags & abi::VFIO_REGION_INFO_FLAG_WRITE) && (prot & PROT_WRITE)) return -EPERM;
  uint64_t in_region = pgoff & ((uint64_t{1} << (abi::kVfioCdxOffsetShift - shift)) - 1);
  uint64_t base = in_region << shift;
  if (base + size > region.size) return -EINVAL;
  return PageMmap(addr, size, prot, flags, vdev->dev->res[index]->memfd, base, out);
}

}  // namespace mock
}  // namespace vfiocdx
