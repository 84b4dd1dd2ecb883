// vfio_main.cc — drivers/vfio/vfio_main.c: device registration, open_count (first open / last
// close), the device-fd file operations (ioctl dispatch K-CORE-3, VFIO_DEVICE_FEATURE K-CORE-5, mmap,
// release) and vfio_set_irqs_validate_and_prepare().
//
// A VfioDevice is owned by its CdxDevice while bound; each device file holds a registration
// reference, and VfioUnregisterGroupDev() waits (mutex released) until the last one is gone.
// Runs with Impl::mu held.
#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {
namespace {

// Core features vfio-cdx has no ops for (no mig_ops / log_ops): MIGRATION, MIG_DEVICE_STATE,
// DMA_LOGGING_START/STOP/REPORT, MIG_DATA_SIZE (vfio_main.c:905,953,981,1071,1146,1179).
bool IsCoreFeature(uint32_t feature) {
  return feature == 1 || feature == 2 || (feature >= 6 && feature <= 9);
}

}  // namespace

bool MockKernel::Impl::VfioDeviceIsNoiommu(const VfioDevice* device) const {
  return device->group && device->group->type == VfioGroupType::kNoIommu;
}

// vfio_cdx_probe() → vfio_alloc_device() + vfio_register_group_dev() → __vfio_register_dev()
// (vfio_main.c:312-364).
int MockKernel::Impl::VfioRegisterGroupDev(CdxDevice* dev) {
  // WARN_ON(IS_ENABLED(CONFIG_IOMMUFD) && !ops->detach_ioas) (vfio_main.c:317-322)
  if (config.iommufd && !config.vfio_cdx_detach_ioas) return -EINVAL;
  auto vdev = std::make_unique<VfioDevice>();
  vdev->dev = dev;
  int index = 0;
  while (device_indexes.count(index)) index++;  // ida_alloc_max(&vfio.device_ida)
  vdev->index = index;
  int ret = VfioDeviceSetGroup(vdev.get());
  if (ret) return ret;
  device_indexes.insert(index);
  // vfio_device_add() (vfio.h:360-367): a cdev only with CONFIG_VFIO_DEVICE_CDEV and not noiommu.
  vdev->cdev = config.iommufd && !VfioDeviceIsNoiommu(vdev.get());
  vdev->refcount = 1;
  vdev->group->device_list.push_back(vdev.get());  // vfio_device_group_register()
  dev->vdev = std::move(vdev);
  return 0;
}

// vfio_unregister_group_dev() (vfio_main.c:385-435). vfio-cdx has no ->request, so this simply
// waits for every device file to be released.
void MockKernel::Impl::VfioUnregisterGroupDev(VfioDevice* device, Lock& lk) {
  auto& list = device->group->device_list;
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (*it == device) {
      list.erase(it);
      break;
    }
  }
  // vfio_device_del(): vfio-dev/vfioM and the cdev node go away now (index -1 hides them), while
  // the index itself stays allocated until vfio_put_device().
  device->cdev = false;
  int index = device->index;
  device->index = -1;
  VfioDevicePutRegistration(device);
  cv.wait(lk, [device] { return device->refcount == 0; });
  device->index = index;
  VfioDeviceRemoveGroup(device);
}

bool MockKernel::Impl::VfioDeviceTryGetRegistration(VfioDevice* device) {
  if (device->refcount <= 0) return false;
  device->refcount++;
  return true;
}

void MockKernel::Impl::VfioDevicePutRegistration(VfioDevice* device) {
  if (--device->refcount == 0) cv.notify_all();
}

// vfio_df_device_first_open() (vfio_main.c:511-544).
int MockKernel::Impl::VfioDfDeviceFirstOpen(VfioDeviceFile* df) {
  VfioDevice* device = df->device;
  int ret = df->iommufd ? VfioDfIommufdBind(df) : VfioGroupUseContainer(device->group.get());
  if (ret) return ret;
  ret = VfioCdxOpenDevice(device);
  if (ret) {
    if (df->iommufd) {
      VfioDfIommufdUnbind(df);
    } else {
      VfioGroupUnuseContainer(device->group.get());
    }
  }
  return ret;
}

// vfio_df_device_last_close() (vfio_main.c:546-560).
void MockKernel::Impl::VfioDfDeviceLastClose(VfioDeviceFile* df) {
  VfioCdxCloseDevice(df->device);
  if (df->iommufd) {
    VfioDfIommufdUnbind(df);
  } else {
    VfioGroupUnuseContainer(df->device->group.get());
  }
}

// vfio_df_open() (vfio_main.c:562-583): only the group path may open a device several times.
int MockKernel::Impl::VfioDfOpen(VfioDeviceFile* df) {
  VfioDevice* device = df->device;
  if (device->open_count != 0 && !df->group) return -EINVAL;
  device->open_count++;
  if (device->open_count == 1) {
    int ret = VfioDfDeviceFirstOpen(df);
    if (ret) device->open_count--;
    return ret;
  }
  return 0;
}

// vfio_df_close() (vfio_main.c:585-597).
void MockKernel::Impl::VfioDfClose(VfioDeviceFile* df) {
  VfioDevice* device = df->device;
  if (device->open_count == 0) return;
  if (device->open_count == 1) VfioDfDeviceLastClose(df);
  device->open_count--;
}

// vfio_device_fops_release() (vfio_main.c:634-650).
void MockKernel::Impl::VfioDeviceFopsRelease(OpenFile* f) {
  VfioDeviceFile* df = f->df.get();
  VfioDevice* device = df->device;
  if (df->group) {
    VfioDfGroupClose(df);
  } else {
    VfioDfUnbindIommufd(df);
  }
  VfioDevicePutRegistration(device);
}

// vfio_device_fops_unl_ioctl() (vfio_main.c:1268-1315).
long MockKernel::Impl::VfioDeviceFopsUnlIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg) {
  VfioDeviceFile* df = f->df.get();
  bool cdev_config = config.iommufd;  // CONFIG_VFIO_DEVICE_CDEV
  if (cmd == abi::VFIO_DEVICE_BIND_IOMMUFD) {
    return cdev_config ? VfioDfIoctlBindIommufd(df, arg) : -ENOTTY;  // vfio.h:404-408
  }
  if (!df->access_granted) return -EINVAL;
  if (cdev_config && !df->group) {
    if (cmd == abi::VFIO_DEVICE_ATTACH_IOMMUFD_PT) return VfioDfIoctlAttachPt(df, arg);
    if (cmd == abi::VFIO_DEVICE_DETACH_IOMMUFD_PT) return VfioDfIoctlDetachPt(df, arg);
  }
  if (cmd == abi::VFIO_DEVICE_FEATURE) return VfioIoctlDeviceFeature(df->device, arg);
  return VfioCdxIoctl(df->device, cmd, arg);
}

// vfio_ioctl_device_feature() (vfio_main.c:1210-1266).
long MockKernel::Impl::VfioIoctlDeviceFeature(VfioDevice* device, uintptr_t arg) {
  const uint32_t minsz = abi::VFIO_DEVICE_FEATURE_MINSZ;
  abi::vfio_device_feature feature;
  if (CopyFromUser(&feature, arg, minsz)) return -EFAULT;
  if (feature.argsz < minsz) return -EINVAL;
  if (feature.flags & ~(abi::VFIO_DEVICE_FEATURE_MASK | abi::VFIO_DEVICE_FEATURE_SET |
                        abi::VFIO_DEVICE_FEATURE_GET | abi::VFIO_DEVICE_FEATURE_PROBE)) {
    return -EINVAL;
  }
  if (!(feature.flags & abi::VFIO_DEVICE_FEATURE_PROBE) && (feature.flags & abi::VFIO_DEVICE_FEATURE_SET) &&
      (feature.flags & abi::VFIO_DEVICE_FEATURE_GET)) {
    return -EINVAL;
  }
  uint32_t index = feature.flags & abi::VFIO_DEVICE_FEATURE_MASK;
  if (IsCoreFeature(index)) return -ENOTTY;
  return VfioCdxIoctlFeature(device, feature.flags, arg + minsz, feature.argsz - minsz);
}

// vfio_set_irqs_validate_and_prepare() (vfio_main.c:1535-1580).
int VfioSetIrqsValidateAndPrepare(const abi::vfio_irq_set& hdr, uint32_t num_irqs, uint32_t max_irq_type,
                                  size_t* data_size) {
  const uint32_t minsz = abi::VFIO_IRQ_SET_MINSZ;
  if (hdr.argsz < minsz || hdr.index >= max_irq_type || hdr.count >= UINT32_MAX - hdr.start ||
      (hdr.flags & ~(abi::VFIO_IRQ_SET_DATA_TYPE_MASK | abi::VFIO_IRQ_SET_ACTION_TYPE_MASK))) {
    return -EINVAL;
  }
  *data_size = 0;
  if (hdr.start >= num_irqs || hdr.start + hdr.count > num_irqs) return -EINVAL;
  size_t size;
  switch (hdr.flags & abi::VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case abi::VFIO_IRQ_SET_DATA_NONE: size = 0; break;
    case abi::VFIO_IRQ_SET_DATA_BOOL: size = sizeof(uint8_t); break;
    case abi::VFIO_IRQ_SET_DATA_EVENTFD: size = sizeof(int32_t); break;
    default: return -EINVAL;
  }
  if (size) {
    if (static_cast<size_t>(hdr.argsz - minsz) < hdr.count * size) return -EINVAL;
    *data_size = hdr.count * size;
  }
  return 0;
}

// The mmap(2) path for a device fd: the generic checks of do_mmap() (mm/mmap.c) and
// ksys_mmap_pgoff(), then vfio_device_fops_mmap() (vfio_main.c:1350-1363) → vfio_cdx_mmap().
// A successful mapping is a vma holding a reference on the file, as vma->vm_file does.
int MockKernel::Impl::VfioDeviceFopsMmap(OpenFile* f, void* addr, size_t length, int prot, int flags,
                                         int64_t offset, void** out) {
  uint64_t off = static_cast<uint64_t>(offset);
  if (off & (page_size - 1)) return -EINVAL;
  if (length == 0) return -EINVAL;
  size_t len = PageRound(length);
  if (len == 0) return -ENOMEM;
  if (off / page_size + len / page_size < off / page_size) return -EOVERFLOW;
  if ((flags & MAP_FIXED) && (reinterpret_cast<uintptr_t>(addr) & (page_size - 1))) return -EINVAL;
  int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) return -EINVAL;
  int acc = f->f_flags & O_ACCMODE;
  if (acc == O_WRONLY) return -EACCES;  // every file mapping needs FMODE_READ
  if (type != MAP_PRIVATE && (prot & PROT_WRITE) && acc == O_RDONLY) return -EACCES;
  VfioDeviceFile* df = f->df.get();
  if (!df->access_granted) return -EINVAL;
  int ret = VfioCdxMmap(df->device, off / page_size, len, prot, flags, addr, out);
  if (ret) return ret;
  uintptr_t start = reinterpret_cast<uintptr_t>(*out);
  UnmapRange(start, len);  // MAP_FIXED replaced whatever was there
  vmas[start] = Vma{len, f};
  FileGet(f);
  return 0;
}

}  // namespace mock
}  // namespace vfiocdx
