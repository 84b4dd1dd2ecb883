// iommu.cc — the parts of drivers/iommu/iommu.c the mock needs: IOMMU groups (ida-numbered,
// /sys/kernel/iommu_groups/N) and DMA ownership (iommu_group_claim_dma_owner).
//
// Groups are owned by Impl::iommu_groups and disappear with their last device, like the
// kobject release of a real group. Runs with Impl::mu held.
#include <algorithm>
#include <cerrno>

#include "mock_internal.h"

namespace vfiocdx {
namespace mock {

// iommu_group_alloc() (iommu.c): ida_alloc() hands out the lowest free id. `wanted` >= 0 asks for
// a particular group (a device sharing a group with another one); it is created if missing.
int MockKernel::Impl::IommuGroupAlloc(int wanted) {
  int id = wanted;
  if (id < 0) {
    id = 0;
    while (iommu_groups.count(id)) id++;
  }
  IommuGroup& g = iommu_groups[id];
  g.id = id;
  return id;
}

// iommu_group_add_device(): creates the device's iommu_group link and the group's devices/ entry.
void MockKernel::Impl::IommuGroupAddDevice(int id, CdxDevice* dev) {
  iommu_groups[id].devices.push_back(dev->name);
  dev->iommu_group = id;
}

// iommu_group_remove_device(): the group is released with its last device.
void MockKernel::Impl::IommuGroupRemoveDevice(CdxDevice* dev) {
  auto it = iommu_groups.find(dev->iommu_group);
  dev->iommu_group = -1;
  if (it == iommu_groups.end()) return;
  auto& names = it->second.devices;
  names.erase(std::remove(names.begin(), names.end(), dev->name), names.end());
  if (names.empty()) iommu_groups.erase(it);
}

// iommu_group_claim_dma_owner() (iommu.c:3214-3232): -EPERM if anyone owns the group already.
int MockKernel::Impl::IommuGroupClaimDmaOwner(int id, const void* owner) {
  IommuGroup& g = iommu_groups[id];
  if (g.owner_cnt) return -EPERM;
  g.owner = owner;
  g.owner_cnt = 1;
  return 0;
}

// iommu_device_claim_dma_owner() (iommu.c): the same owner may claim again (one claim per device).
int MockKernel::Impl::IommuDeviceClaimDmaOwner(int id, const void* owner) {
  IommuGroup& g = iommu_groups[id];
  if (g.owner_cnt && g.owner != owner) return -EPERM;
  g.owner = owner;
  g.owner_cnt++;
  return 0;
}

void MockKernel::Impl::IommuGroupReleaseDmaOwner(int id) {
  auto it = iommu_groups.find(id);
  if (it == iommu_groups.end() || it->second.owner_cnt == 0) return;
  if (--it->second.owner_cnt == 0) it->second.owner = nullptr;
}

}  // namespace mock
}  // namespace vfiocdx
