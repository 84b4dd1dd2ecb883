// vfio_group.cc — drivers/vfio/group.c: /dev/vfio/<group>, its ioctls and the group side of
// device registration and device open.
//
// A VfioGroup is shared by the VfioDevices in it and by its open file (struct file →
// private_data); it leaves Impl::vfio_groups when its last device is unregistered and is freed
// when the last holder lets go. Runs with Impl::mu held.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {

// group->container || group->iommufd (vfio_group_has_iommu, group.c:55-65).
static bool VfioGroupHasIommu(const VfioGroup* group) { return group->container || group->iommufd; }

VfioGroup* MockKernel::Impl::VfioGroupByNode(const std::string& dev_name) {
  for (auto& g : vfio_groups) {
    if (g->dev_name == dev_name) return g.get();
  }
  return nullptr;
}

// vfio_group_fops_open() (group.c:438-478), after get_unused_fd_flags() reserved the descriptor.
int MockKernel::Impl::VfioGroupFopsOpen(VfioGroup* group, int flags) {
  int fd = ReserveFd("group:" + group->dev_name, flags);
  if (fd < 0) return fd;
  int ret = 0;
  if (group->drivers == 0) {
    ret = -ENODEV;
  } else if (group->type == VfioGroupType::kNoIommu && !config.cap_sys_rawio) {
    ret = -EPERM;
  } else if (group->cdev_device_open_cnt) {
    ret = -EBUSY;
  } else if (group->opened_file) {
    ret = -EBUSY;  // "Do we need multiple instances of the group open?  Seems not."
  }
  if (ret) {
    close(fd);
    return ret;
  }
  auto f = std::make_unique<OpenFile>();
  f->kind = FileKind::kGroup;
  for (auto& g : vfio_groups) {
    if (g.get() == group) f->group = g;
  }
  group->opened_file = f.get();
  return AttachFile(std::move(f), fd, flags);
}

// vfio_group_fops_release() (group.c:480-502). Device files hold a reference on the group file
// (vfio_group_use_container), so this runs only once no device of the group is open.
void MockKernel::Impl::VfioGroupFopsRelease(OpenFile* f) {
  VfioGroup* group = f->group.get();
  if (group->container) VfioGroupDetachContainer(group);
  VfioGroupPutIommufd(group);
  group->opened_file = nullptr;
}

// vfio_group_fops_unl_ioctl() (group.c:391-409).
long MockKernel::Impl::VfioGroupFopsUnlIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg) {
  VfioGroup* group = f->group.get();
  switch (cmd) {
    case abi::VFIO_GROUP_GET_DEVICE_FD: return VfioGroupIoctlGetDeviceFd(group, arg);
    case abi::VFIO_GROUP_GET_STATUS: return VfioGroupIoctlGetStatus(group, arg);
    case abi::VFIO_GROUP_SET_CONTAINER: return VfioGroupIoctlSetContainer(group, arg);
    case abi::VFIO_GROUP_UNSET_CONTAINER: return VfioGroupIoctlUnsetContainer(group);
    default: return -ENOTTY;
  }
}

// vfio_group_ioctl_get_status() (group.c:352-389).
long MockKernel::Impl::VfioGroupIoctlGetStatus(VfioGroup* group, uintptr_t arg) {
  const uint32_t minsz = abi::VFIO_GROUP_STATUS_MINSZ;
  abi::vfio_group_status status;
  if (CopyFromUser(&status, arg, minsz)) return -EFAULT;
  if (status.argsz < minsz) return -EINVAL;
  status.flags = 0;
  if (group->iommu_group < 0) return -ENODEV;
  if (VfioGroupHasIommu(group)) {
    status.flags |= abi::VFIO_GROUP_FLAGS_CONTAINER_SET | abi::VFIO_GROUP_FLAGS_VIABLE;
  } else {
    auto ig = iommu_groups.find(group->iommu_group);
    if (ig == iommu_groups.end() || ig->second.owner_cnt == 0) {  // !iommu_group_dma_owner_claimed()
      status.flags |= abi::VFIO_GROUP_FLAGS_VIABLE;
    }
  }
  return CopyToUser(arg, &status, minsz) ? -EFAULT : 0;
}

// vfio_group_ioctl_set_container() (group.c:102-158).
long MockKernel::Impl::VfioGroupIoctlSetContainer(VfioGroup* group, uintptr_t arg) {
  int fd;
  if (GetUserInt(arg, &fd)) return -EFAULT;
  OpenFile* f = FileFromFd(fd);
  if (!f && (fd < 0 || fcntl(fd, F_GETFD) < 0)) return -EBADF;  // fdget()
  if (VfioGroupHasIommu(group)) return -EINVAL;
  if (group->iommu_group < 0) return -ENODEV;
  if (f && f->kind == FileKind::kContainer) return VfioContainerAttachGroup(f->container, group);
  if (f && f->kind == FileKind::kIommufd) {
    int ret = group->type == VfioGroupType::kNoIommu ? IommufdVfioCompatSetNoIommu(f->ictx.get())
                                                     : IommufdVfioCompatIoasCreate(f->ictx.get());
    if (ret) return ret;
    group->iommufd = f->ictx;
    return 0;
  }
  return -EBADFD;  // "The FD passed is not recognized."
}

// vfio_group_ioctl_unset_container() (group.c:76-100).
long MockKernel::Impl::VfioGroupIoctlUnsetContainer(VfioGroup* group) {
  if (!VfioGroupHasIommu(group)) return -EINVAL;
  if (group->container) {
    if (group->container_users != 1) return -EBUSY;
    VfioGroupDetachContainer(group);
  }
  VfioGroupPutIommufd(group);
  return 0;
}

// iommufd_ctx_put() of the group's context reference (taken by SET_CONTAINER with an iommufd).
void MockKernel::Impl::VfioGroupPutIommufd(VfioGroup* group) {
  std::shared_ptr<IommufdCtx> ictx = std::move(group->iommufd);
  if (ictx) IommufdCtxPut(ictx.get());
}

// vfio_group_ioctl_get_device_fd() (group.c:312-350) + vfio_device_open_file() (group.c:254-310).
long MockKernel::Impl::VfioGroupIoctlGetDeviceFd(VfioGroup* group, uintptr_t arg) {
  std::string buf;
  int ret = StrndupUser(arg, page_size, &buf);
  if (ret) return ret;
  VfioDevice* device = nullptr;  // vfio_device_get_from_name(): exact strcmp with dev_name()
  for (VfioDevice* d : group->device_list) {
    if (d->dev->name == buf && VfioDeviceTryGetRegistration(d)) {
      device = d;
      break;
    }
  }
  if (!device) return -ENODEV;
  int fd = ReserveFd("device:" + device->dev->name, O_CLOEXEC);  // get_unused_fd_flags(O_CLOEXEC)
  if (fd < 0) {
    VfioDevicePutRegistration(device);
    return fd;
  }
  auto df = std::make_unique<VfioDeviceFile>();
  df->device = device;
  df->group = device->group;
  ret = VfioDfGroupOpen(df.get());
  if (ret) {
    close(fd);
    VfioDevicePutRegistration(device);
    return ret;
  }
  auto f = std::make_unique<OpenFile>();
  f->kind = FileKind::kDevice;
  f->df = std::move(df);
  return AttachFile(std::move(f), fd, O_RDWR | O_CLOEXEC);  // anon_inode_getfile(..., O_RDWR)
}

// vfio_df_group_open() (group.c:167-233).
int MockKernel::Impl::VfioDfGroupOpen(VfioDeviceFile* df) {
  VfioDevice* device = df->device;
  VfioGroup* group = device->group.get();
  if (!VfioGroupHasIommu(group)) return -EINVAL;
  df->iommufd = group->iommufd;
  if (df->iommufd && VfioDeviceIsNoiommu(device) && device->open_count == 0) {
    if (!config.cap_sys_rawio || VfioIommufdDeviceHasCompatIoas(df->iommufd.get())) {
      df->iommufd.reset();
      return -EPERM;
    }
  }
  int ret = VfioDfOpen(df);
  if (ret) {
    df->iommufd.reset();
    return ret;
  }
  if (df->iommufd && device->open_count == 1) {
    ret = VfioIommufdCompatAttachIoas(device, df->iommufd.get());
    if (ret) {
      VfioDfClose(df);
      df->iommufd.reset();
      return ret;
    }
  }
  df->access_granted = true;
  return 0;
}

// vfio_df_group_close() (group.c:235-250).
void MockKernel::Impl::VfioDfGroupClose(VfioDeviceFile* df) {
  VfioDfClose(df);
  df->iommufd.reset();
}

// vfio_device_block_group() / vfio_device_unblock_group() (group.c:411-436): a bound cdev keeps
// the group from being opened, and an open group keeps a cdev from binding.
int MockKernel::Impl::VfioDeviceBlockGroup(VfioDevice* device) {
  VfioGroup* group = device->group.get();
  if (group->opened_file) return -EBUSY;
  group->cdev_device_open_cnt++;
  return 0;
}

void MockKernel::Impl::VfioDeviceUnblockGroup(VfioDevice* device) { device->group->cdev_device_open_cnt--; }

// vfio_create_group() (group.c:581-612): the node is "%s%d" of the iommu group id.
std::shared_ptr<VfioGroup> MockKernel::Impl::VfioCreateGroup(int iommu_group, VfioGroupType type) {
  auto g = std::make_shared<VfioGroup>();
  int minor = 0;
  while (group_minors.count(minor)) minor++;
  group_minors.insert(minor);
  g->minor = minor;
  g->iommu_group = iommu_group;
  g->type = type;
  g->dev_name = (type == VfioGroupType::kNoIommu ? "noiommu-" : "") + std::to_string(iommu_group);
  vfio_groups.push_back(g);
  return g;
}

// vfio_device_set_group() → vfio_group_find_or_alloc() (group.c:667-724), with the noiommu fake
// group of vfio_noiommu_group_alloc() (group.c:614-649) for a device without an IOMMU group.
int MockKernel::Impl::VfioDeviceSetGroup(VfioDevice* device) {
  CdxDevice* dev = device->dev;
  if (dev->iommu_group < 0 && noiommu_param) {
    int id = IommuGroupAlloc(-1);
    iommu_groups[id].name = "vfio-noiommu";
    IommuGroupAddDevice(id, dev);
    device->group = VfioCreateGroup(id, VfioGroupType::kNoIommu);
    return 0;
  }
  if (dev->iommu_group < 0) return -EINVAL;
  for (auto& g : vfio_groups) {
    if (g->iommu_group == dev->iommu_group) {
      g->drivers++;
      device->group = g;
      return 0;
    }
  }
  device->group = VfioCreateGroup(dev->iommu_group, VfioGroupType::kIommu);
  return 0;
}

// vfio_device_remove_group() (group.c:726-773): the last device takes the node away, detaches
// the container and revokes group->iommu_group, so an open group fd gets ENODEV from then on.
void MockKernel::Impl::VfioDeviceRemoveGroup(VfioDevice* device) {
  std::shared_ptr<VfioGroup> group = device->group;
  if (group->type == VfioGroupType::kNoIommu) IommuGroupRemoveDevice(device->dev);
  if (--group->drivers > 0) return;
  for (auto it = vfio_groups.begin(); it != vfio_groups.end(); ++it) {
    if (it->get() == group.get()) {
      vfio_groups.erase(it);
      break;
    }
  }
  group_minors.erase(group->minor);
  if (group->container) VfioGroupDetachContainer(group.get());
  group->iommu_group = -1;
}

}  // namespace mock
}  // namespace vfiocdx
