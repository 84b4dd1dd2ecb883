// vfio_context.cc — see vfio_context.h.
#include "vfio_context.h"

namespace vfiocdx {

std::shared_ptr<Group> VfioContext::GroupFor(const std::string& node, int number, bool noiommu) {
  auto it = groups_.find(node);
  if (it != groups_.end()) {
    if (auto group = it->second.lock()) return group;
    groups_.erase(it);
  }
  std::shared_ptr<Container> container = containers_[noiommu].lock();
  if (!container) {
    container = Container::Open(sys_, noiommu);
    containers_[noiommu] = container;
  }
  auto group = Group::Open(sys_, node, number, std::move(container));
  groups_[node] = group;
  return group;
}

std::shared_ptr<IommufdSession> VfioContext::Iommufd() {
  if (auto session = iommufd_.lock()) return session;
  auto session = IommufdSession::Open(sys_);
  iommufd_ = session;
  return session;
}

}  // namespace vfiocdx
