// vfio_group.h — an open VFIO group node (/dev/vfio/N or /dev/vfio/noiommu-N).
//
// Owns: the group fd, and a share of the container the group is attached to.
// The kernel lets one opener hold a group, so every device of one group opened
// in an environment shares this object (VfioContext keeps the registry).
// Destruction closes the group fd first (detaching it from the container), then
// drops the container share. Thread: the JS thread of its environment.
#pragma once

#include <memory>
#include <string>

#include "sys.h"
#include "vfio_container.h"

namespace vfiocdx {

class Group {
 public:
  // Opens the node, requires VFIO_GROUP_FLAGS_VIABLE, attaches `container`
  // (VFIO_GROUP_SET_CONTAINER) and makes sure the container's IOMMU driver is set.
  static std::shared_ptr<Group> Open(std::shared_ptr<const Sys> sys, const std::string& node, int number,
                                     std::shared_ptr<Container> container);
  // VFIO_GROUP_GET_DEVICE_FD. The kernel returns the fd O_RDWR|O_CLOEXEC.
  UniqueFd OpenDevice(const std::string& name) const;
  const std::string& node() const { return node_; }
  int number() const { return number_; }
  bool noiommu() const { return container_->noiommu(); }
  const std::shared_ptr<Container>& container() const { return container_; }

 private:
  Group(std::shared_ptr<const Sys> sys, std::string node, int number, std::shared_ptr<Container> container,
        UniqueFd fd)
      : sys_(std::move(sys)), node_(std::move(node)), number_(number), container_(std::move(container)),
        fd_(std::move(fd)) {}
  std::shared_ptr<const Sys> sys_;
  std::string node_;
  int number_;
  std::shared_ptr<Container> container_;  // declared before fd_: destroyed after it
  UniqueFd fd_;
};

}  // namespace vfiocdx
