// vfio_context.h — what one JS environment shares across its devices on one kernel.
//
// Owns: the Sys (kernel + this environment's trace hook) and weak registries of
// the containers, groups and iommufd session that its open devices share. The
// registries are weak: each Device holds strong shares, so a container, group or
// iommufd is closed as soon as the last device using it closes.
// Thread: the JS thread of its environment only (an environment = main thread
// or one worker). Two environments each have their own context; the kernel lets
// only one of them hold a given group open at a time (EBUSY for the other).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "iommufd_session.h"
#include "sys.h"
#include "vfio_container.h"
#include "vfio_group.h"

namespace vfiocdx {

class VfioContext {
 public:
  explicit VfioContext(std::shared_ptr<const Sys> sys) : sys_(std::move(sys)) {}
  const std::shared_ptr<const Sys>& sys() const { return sys_; }

  // The open group with this node path, or a newly opened one attached to the
  // shared container of its kind (IOMMU or no-IOMMU: the kernel does not let
  // the two kinds share a container).
  std::shared_ptr<Group> GroupFor(const std::string& node, int number, bool noiommu);
  std::shared_ptr<IommufdSession> Iommufd();

 private:
  std::shared_ptr<const Sys> sys_;
  std::map<std::string, std::weak_ptr<Group>> groups_;
  std::weak_ptr<Container> containers_[2];  // [0]: type1v2, [1]: noiommu
  std::weak_ptr<IommufdSession> iommufd_;
};

}  // namespace vfiocdx
