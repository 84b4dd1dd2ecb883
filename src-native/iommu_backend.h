// iommu_backend.h — how a device reaches VFIO and its IOMMU address space.
//
// Two kernel interfaces do this, and Device holds exactly one of them:
//   - GroupBackend: the legacy path. The device's group node (/dev/vfio/N, or
//     /dev/vfio/noiommu-N without an IOMMU) attached to a shared container;
//     the device fd comes from VFIO_GROUP_GET_DEVICE_FD; DMA is type1
//     MAP/UNMAP_DMA on the container (none in a no-IOMMU group).
//   - IommufdBackend: the cdev path. /dev/vfio/devices/vfioN opened directly,
//     bound to a shared /dev/iommu (VFIO_DEVICE_BIND_IOMMUFD) and attached to
//     its IOAS (VFIO_DEVICE_ATTACH_IOMMUFD_PT); DMA is IOMMU_IOAS_MAP/UNMAP.
// ChooseIommuBackend is the one place that picks between them.
//
// Owns: a share of the Group (and through it the Container) or of the
// IommufdSession. Device declares its backend before its fd, so the backend —
// and the group, container or iommufd — is released after the device fd closes.
// Thread: the JS thread of the environment that opened the device.
#pragma once

#include <memory>
#include <string>

#include "dma_space.h"
#include "sys.h"
#include "vfio_context.h"

namespace vfiocdx {

enum class OpenPath { kAuto, kGroup, kCdev };

class IommuBackend {
 public:
  virtual ~IommuBackend() = default;
  // The device's fd, opened through this backend, with the device joined to the
  // backend's DMA space (whose IOVA windows are then asked for again: the device's
  // reserved regions narrow them).
  virtual UniqueFd OpenDevice(const std::string& name) = 0;
  // The DMA space, or ERR_VFIO_NO_IOMMU_DMA for a no-IOMMU group.
  virtual std::shared_ptr<DmaSpace> dma(const std::string& name) = 0;
  virtual OpenPath path() const = 0;
  // The node the device was reached through (/dev/vfio/N, /dev/vfio/noiommu-N, /dev/vfio/devices/vfioN).
  virtual const std::string& node() const = 0;
  // The IOMMU group number, or -1 on the cdev path.
  virtual int group_number() const = 0;
  virtual bool noiommu() const = 0;
};

// Picks the backend for `name` (a vfio-cdx-bound device) from sysfs and /dev:
// kCdev requires the device's VFIO cdev and /dev/iommu (ERR_VFIO_NO_CDEV when
// either is missing); kAuto takes the cdev path when both exist, as iommufd is
// the interface the kernel develops further, and the group path otherwise.
std::unique_ptr<IommuBackend> ChooseIommuBackend(VfioContext& ctx, const std::string& name, OpenPath path);

}  // namespace vfiocdx
