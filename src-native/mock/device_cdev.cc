// device_cdev.cc — drivers/vfio/device_cdev.c (the /dev/vfio/devices/vfioN cdev: open,
// BIND_IOMMUFD, ATTACH/DETACH_IOMMUFD_PT) and drivers/vfio/iommufd.c (the vfio side of iommufd:
// bind/unbind, the physical attach/detach ops, the compat IOAS of the group path).
//
// A cdev fd is a VfioDeviceFile without a group; it holds a registration reference from open
// and, once bound, a reference on the iommufd context (its file). Runs with Impl::mu held.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {

VfioDevice* MockKernel::Impl::VfioDeviceByCdevNode(const std::string& name) {
  for (auto& kv : devices) {
    VfioDevice* v = kv.second->vdev.get();
    if (v && v->cdev && "vfio" + std::to_string(v->index) == name) return v;
  }
  return nullptr;
}

// vfio_device_fops_cdev_open() (device_cdev.c:23-54): access stays blocked until BIND_IOMMUFD.
int MockKernel::Impl::VfioDeviceFopsCdevOpen(VfioDevice* device, int flags) {
  int fd = ReserveFd("device:" + device->dev->name, flags);
  if (fd < 0) return fd;
  if (!VfioDeviceTryGetRegistration(device)) {
    close(fd);
    return -ENODEV;
  }
  auto f = std::make_unique<OpenFile>();
  f->kind = FileKind::kDevice;
  f->df = std::make_unique<VfioDeviceFile>();
  f->df->device = device;
  return AttachFile(std::move(f), fd, flags);
}

// vfio_df_ioctl_bind_iommufd() (device_cdev.c:63-139).
long MockKernel::Impl::VfioDfIoctlBindIommufd(VfioDeviceFile* df, uintptr_t arg) {
  VfioDevice* device = df->device;
  abi::vfio_device_bind_iommufd bind;
  const uint32_t minsz = abi::VFIO_BIND_IOMMUFD_MINSZ;
  if (CopyFromUser(&bind, arg, minsz)) return -EFAULT;
  if (bind.argsz < minsz || bind.flags || bind.iommufd < 0) return -EINVAL;
  if (df->group) return -EINVAL;  // BIND_IOMMUFD only allowed for cdev fds
  int ret = VfioDeviceBlockGroup(device);
  if (ret) return ret;
  if (df->access_granted) {  // one device cannot be bound twice
    VfioDeviceUnblockGroup(device);
    return -EINVAL;
  }
  ret = IommufdCtxFromFd(bind.iommufd, &df->iommufd);
  if (ret) {
    VfioDeviceUnblockGroup(device);
    return ret;
  }
  ret = VfioDfOpen(df);
  if (!ret && CopyToUser(arg + offsetof(abi::vfio_device_bind_iommufd, out_devid), &df->devid, 4)) {
    VfioDfClose(df);
    ret = -EFAULT;
  }
  if (ret) {
    IommufdCtx* ictx = df->iommufd.get();
    df->iommufd.reset();
    IommufdCtxPut(ictx);
    VfioDeviceUnblockGroup(device);
    return ret;
  }
  device->cdev_opened = true;
  df->access_granted = true;
  return 0;
}

// vfio_df_unbind_iommufd() (device_cdev.c:141-160): the cdev fd's release.
void MockKernel::Impl::VfioDfUnbindIommufd(VfioDeviceFile* df) {
  if (!df->access_granted) return;
  VfioDevice* device = df->device;
  VfioDfClose(df);
  IommufdCtx* ictx = df->iommufd.get();
  device->cdev_opened = false;
  VfioDeviceUnblockGroup(device);
  IommufdCtxPut(ictx);
  df->iommufd.reset();
}

// vfio_df_ioctl_attach_pt() (device_cdev.c:162-196).
long MockKernel::Impl::VfioDfIoctlAttachPt(VfioDeviceFile* df, uintptr_t arg) {
  abi::vfio_device_attach_iommufd_pt attach;
  const uint32_t minsz = abi::VFIO_ATTACH_IOMMUFD_PT_MINSZ;
  if (CopyFromUser(&attach, arg, minsz)) return -EFAULT;
  if (attach.argsz < minsz || attach.flags) return -EINVAL;
  int ret = VfioIommufdPhysicalAttachIoas(df->device, &attach.pt_id);
  if (ret) return ret;
  if (CopyToUser(arg + offsetof(abi::vfio_device_attach_iommufd_pt, pt_id), &attach.pt_id, 4)) {
    VfioIommufdPhysicalDetachIoas(df->device);
    return -EFAULT;
  }
  return 0;
}

// vfio_df_ioctl_detach_pt() (device_cdev.c:198-218); reachable only with the .detach_ioas fix.
long MockKernel::Impl::VfioDfIoctlDetachPt(VfioDeviceFile* df, uintptr_t arg) {
  abi::vfio_device_detach_iommufd_pt detach;
  const uint32_t minsz = abi::VFIO_DETACH_IOMMUFD_PT_MINSZ;
  if (CopyFromUser(&detach, arg, minsz)) return -EFAULT;
  if (detach.argsz < minsz || detach.flags) return -EINVAL;
  VfioIommufdPhysicalDetachIoas(df->device);
  return 0;
}

// vfio_df_iommufd_bind() (drivers/vfio/iommufd.c:21-33): noiommu devices open without binding.
int MockKernel::Impl::VfioDfIommufdBind(VfioDeviceFile* df) {
  if (VfioDeviceIsNoiommu(df->device)) return 0;
  return IommufdDeviceBind(df->iommufd.get(), df->device, &df->devid);  // vfio_iommufd_physical_bind
}

// vfio_df_iommufd_unbind() (iommufd.c:55-66) → vfio_iommufd_physical_unbind() (iommufd.c:128-140).
void MockKernel::Impl::VfioDfIommufdUnbind(VfioDeviceFile* df) {
  VfioDevice* device = df->device;
  if (VfioDeviceIsNoiommu(device)) return;
  if (device->attached_hwpt) IommufdDeviceDetach(device);
  IommufdDeviceUnbind(device);
}

// vfio_iommufd_device_has_compat_ioas() (iommufd.c:13-19).
bool MockKernel::Impl::VfioIommufdDeviceHasCompatIoas(IommufdCtx* ictx) { return ictx->vfio_ioas != 0; }

// vfio_iommufd_compat_attach_ioas() (iommufd.c:35-53).
int MockKernel::Impl::VfioIommufdCompatAttachIoas(VfioDevice* device, IommufdCtx* ictx) {
  if (VfioDeviceIsNoiommu(device)) return 0;
  if (!ictx->vfio_ioas) return -ENODEV;  // iommufd_vfio_compat_ioas_get_id()
  uint32_t ioas_id = ictx->vfio_ioas;
  return VfioIommufdPhysicalAttachIoas(device, &ioas_id);
}

// vfio_iommufd_physical_attach_ioas() (iommufd.c:143-160): a second attach replaces the first.
int MockKernel::Impl::VfioIommufdPhysicalAttachIoas(VfioDevice* device, uint32_t* pt_id) {
  if (!device->ictx) return -EINVAL;
  return IommufdDeviceAttach(device, pt_id);
}

// vfio_iommufd_physical_detach_ioas() (iommufd.c:163-172).
void MockKernel::Impl::VfioIommufdPhysicalDetachIoas(VfioDevice* device) {
  if (!device->ictx || !device->attached_hwpt) return;
  IommufdDeviceDetach(device);
}

}  // namespace mock
}  // namespace vfiocdx
