// vfio_container.cc — drivers/vfio/container.c: /dev/vfio/vfio, the IOMMU driver list
// (vfio_iommu_type1 and, with CONFIG_VFIO_NOIOMMU, the vfio-noiommu driver of container.c:32-74)
// and the attach/use of groups.
//
// A VfioContainer is shared (kref) by its open file and by every group attached to it; its
// IOMMU driver data lives while a group is attached. Runs with Impl::mu held.
#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "mock_internal.h"

namespace vfiocdx {
namespace mock {

// The registered IOMMU drivers in vfio.iommu_drivers_list order: list_add() puts the last
// registered first, and vfio_iommu_type1 registers after vfio's own noiommu driver.
static std::vector<IommuDriver> IommuDrivers(const KernelConfig& config) {
  std::vector<IommuDriver> list = {IommuDriver::kType1};
  if (config.noiommu_config) list.push_back(IommuDriver::kNoIommu);
  return list;
}

// vfio_iommu_driver_allowed() (container.c:80-86).
static bool VfioIommuDriverAllowed(const KernelConfig& config, const VfioContainer* c, IommuDriver d) {
  if (!config.noiommu_config) return true;
  return c->noiommu == (d == IommuDriver::kNoIommu);
}

// ->ioctl(data, VFIO_CHECK_EXTENSION, arg) of one driver; data may be NULL (not opened).
long MockKernel::Impl::IommuDriverCheckExtension(IommuDriver driver, VfioContainer* c, unsigned long arg) {
  if (driver == IommuDriver::kNoIommu) {  // vfio_noiommu_ioctl() (container.c:46-53)
    return noiommu_param && arg == abi::VFIO_NOIOMMU_IOMMU ? 1 : 0;
  }
  return VfioIommuType1CheckExtension(c ? c->iommu.get() : nullptr, arg);
}

// vfio_fops_open() (container.c:359-374): every open is a new container. Without
// CONFIG_VFIO_CONTAINER, iommufd registers /dev/vfio/vfio (IOMMUFD_VFIO_CONTAINER): an open is an
// iommufd context whose VFIO ioctls are vfio_compat.c's.
int MockKernel::Impl::VfioFopsOpen(int flags) {
  if (!config.vfio_container) return IommufdFopsOpen(flags);
  auto f = std::make_unique<OpenFile>();
  f->kind = FileKind::kContainer;
  f->container = std::make_shared<VfioContainer>();
  return InstallFile(std::move(f), "container", flags);
}

// vfio_fops_release() (container.c:376-385): drops the file's kref; attached groups keep theirs.
void MockKernel::Impl::VfioFopsRelease(OpenFile* f) { f->container.reset(); }

// vfio_fops_unl_ioctl() (container.c:327-357).
long MockKernel::Impl::VfioFopsUnlIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg) {
  VfioContainer* c = f->container.get();
  switch (cmd) {
    case abi::VFIO_GET_API_VERSION: return abi::VFIO_API_VERSION;
    case abi::VFIO_CHECK_EXTENSION: return VfioContainerIoctlCheckExtension(c, arg);
    case abi::VFIO_SET_IOMMU: return VfioIoctlSetIommu(c, arg);
    default:
      if (c->driver == IommuDriver::kType1) return VfioIommuType1Ioctl(c->iommu.get(), cmd, arg);
      if (c->driver == IommuDriver::kNoIommu) return -ENOTTY;  // vfio_noiommu_ioctl()
      return -EINVAL;  // no driver set: ret stays -EINVAL
  }
}

// vfio_container_ioctl_check_extension() (container.c:184-232). Never an error.
long MockKernel::Impl::VfioContainerIoctlCheckExtension(VfioContainer* c, unsigned long arg) {
  if (c->driver != IommuDriver::kNone) return IommuDriverCheckExtension(c->driver, c, arg);
  long ret = 0;
  for (IommuDriver d : IommuDrivers(config)) {
    if (!c->group_list.empty() && !VfioIommuDriverAllowed(config, c, d)) continue;
    ret = IommuDriverCheckExtension(d, nullptr, arg);
    if (ret > 0) break;
  }
  return ret;
}

// vfio_ioctl_set_iommu() (container.c:260-325). A driver's open() or attach error is remembered
// and the next driver tried; ENODEV if none accepted.
long MockKernel::Impl::VfioIoctlSetIommu(VfioContainer* c, unsigned long arg) {
  if (c->group_list.empty() || c->driver != IommuDriver::kNone) return -EINVAL;
  long ret = -ENODEV;
  for (IommuDriver d : IommuDrivers(config)) {
    if (!VfioIommuDriverAllowed(config, c, d)) continue;
    if (IommuDriverCheckExtension(d, nullptr, arg) <= 0) continue;
    if (d == IommuDriver::kNoIommu) {  // vfio_noiommu_open() (container.c:32-40)
      if (arg != abi::VFIO_NOIOMMU_IOMMU) {
        ret = -EINVAL;
        continue;
      }
      if (!config.cap_sys_rawio) {
        ret = -EPERM;
        continue;
      }
    } else {
      std::unique_ptr<VfioIommu> iommu;
      ret = VfioIommuType1Open(arg, &iommu);
      if (ret) continue;
      c->iommu = std::move(iommu);  // __vfio_container_attach_groups(): type1 attach cannot fail here
    }
    c->driver = d;
    return 0;
  }
  return ret;
}

// vfio_container_attach_group() (container.c:416-466).
int MockKernel::Impl::VfioContainerAttachGroup(const std::shared_ptr<VfioContainer>& c, VfioGroup* group) {
  bool noiommu = group->type == VfioGroupType::kNoIommu;
  if (noiommu && !config.cap_sys_rawio) return -EPERM;
  if (!c->group_list.empty() && c->noiommu != noiommu) return -EPERM;  // real and fake groups cannot mix
  if (!noiommu) {
    int ret = IommuGroupClaimDmaOwner(group->iommu_group, group);
    if (ret) return ret;
  }
  group->container = c;
  group->container_users = 1;
  c->noiommu = noiommu;
  c->group_list.push_back(group);
  return 0;
}

// vfio_group_detach_container() (container.c:468-500): detaching the last group releases the
// IOMMU driver (type1 unmaps and unpins everything).
void MockKernel::Impl::VfioGroupDetachContainer(VfioGroup* group) {
  std::shared_ptr<VfioContainer> c = group->container;
  if (group->type == VfioGroupType::kIommu) IommuGroupReleaseDmaOwner(group->iommu_group);
  group->container.reset();
  group->container_users = 0;
  c->group_list.erase(std::remove(c->group_list.begin(), c->group_list.end(), group), c->group_list.end());
  if (c->driver != IommuDriver::kNone && c->group_list.empty()) {
    if (c->driver == IommuDriver::kType1) VfioIommuType1Release(c->iommu.get());
    c->iommu.reset();
    c->driver = IommuDriver::kNone;
  }
}

// vfio_group_use_container() (container.c:502-520): the device file takes a reference on the
// group file (get_file), so the group is released only after its last open device.
int MockKernel::Impl::VfioGroupUseContainer(VfioGroup* group) {
  if (!group->container || group->container->driver == IommuDriver::kNone) return -EINVAL;
  if (group->type == VfioGroupType::kNoIommu && !config.cap_sys_rawio) return -EPERM;
  FileGet(group->opened_file);
  group->container_users++;
  return 0;
}

// vfio_device_group_unuse_iommu() (group.c) → vfio_group_unuse_container() (container.c:522-529).
// Where the kernel only WARNs (no container, or container_users <= 1: reachable by mixing an
// iommufd and a container on one group while a device stays open) the mock stops, so that the
// imbalance cannot free the group file under its descriptor.
void MockKernel::Impl::VfioGroupUnuseContainer(VfioGroup* group) {
  if (!group->container || group->container_users <= 1) return;
  group->container_users--;
  FilePut(group->opened_file);
}

}  // namespace mock
}  // namespace vfiocdx
