// vfio_group.cc — see vfio_group.h.
#include "vfio_group.h"

#include <fcntl.h>

#include <algorithm>
#include <vector>

#include "abi.h"

namespace vfiocdx {

namespace {

std::string GroupMembers(const Sys& sys, int number) {
  std::vector<std::string> names;
  std::string dir = "/sys/kernel/iommu_groups/" + std::to_string(number) + "/devices";
  if (sys.TryReadDir(dir, &names) < 0) return "(unknown: " + dir + " unreadable)";
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::shared_ptr<Group> Group::Open(std::shared_ptr<const Sys> sys, const std::string& node, int number,
                                   std::shared_ptr<Container> container) {
  UniqueFd fd(sys, sys->Open(node, O_RDWR | O_CLOEXEC), node);
  abi::vfio_group_status status{};
  status.argsz = sizeof status;
  sys->Ioctl(fd.get(), abi::VFIO_GROUP_GET_STATUS, reinterpret_cast<uintptr_t>(&status), node);
  if (!(status.flags & abi::VFIO_GROUP_FLAGS_VIABLE)) {
    throw UsageError("ERR_VFIO_GROUP_NOT_VIABLE",
                     "IOMMU group " + std::to_string(number) +
                         " is not viable: every device in it must be bound to vfio-cdx or to no driver "
                         "(members: " + GroupMembers(*sys, number) + ")");
  }
  int cfd = container->fd();
  sys->Ioctl(fd.get(), abi::VFIO_GROUP_SET_CONTAINER, reinterpret_cast<uintptr_t>(&cfd), node);
  container->EnsureIommu();
  return std::shared_ptr<Group>(new Group(std::move(sys), node, number, std::move(container), std::move(fd)));
}

UniqueFd Group::OpenDevice(const std::string& name) const {
  long fd = sys_->Ioctl(fd_.get(), abi::VFIO_GROUP_GET_DEVICE_FD, reinterpret_cast<uintptr_t>(name.c_str()), name);
  return UniqueFd(sys_, static_cast<int>(fd), name);
}

}  // namespace vfiocdx
