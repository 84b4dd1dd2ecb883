// iommu_backend.cc — see iommu_backend.h.
#include "iommu_backend.h"

#include <fcntl.h>

#include <cerrno>

#include "abi.h"
#include "cdx_sysfs.h"
#include "iommufd_session.h"
#include "vfio_group.h"

namespace vfiocdx {

namespace {

class GroupBackend final : public IommuBackend {
 public:
  explicit GroupBackend(std::shared_ptr<Group> group) : group_(std::move(group)) {}

  UniqueFd OpenDevice(const std::string& name) override {
    UniqueFd fd = group_->OpenDevice(name);
    if (auto space = group_->container()->dma()) space->RangesChanged();
    return fd;
  }

  std::shared_ptr<DmaSpace> dma(const std::string& name) override {
    if (group_->noiommu()) {
      throw UsageError("ERR_VFIO_NO_IOMMU_DMA",
                       name + " is in a no-IOMMU group: there is no IOMMU to translate DMA, so no IOVA can be "
                              "given. (DPDK uses physical addresses from /proc/self/pagemap there, which needs "
                              "CAP_SYS_ADMIN and pinned memory; this library does not pretend to translate.)");
    }
    return group_->container()->dma();
  }

  OpenPath path() const override { return OpenPath::kGroup; }
  const std::string& node() const override { return group_->node(); }
  int group_number() const override { return group_->number(); }
  bool noiommu() const override { return group_->noiommu(); }

 private:
  std::shared_ptr<Group> group_;
};

class IommufdBackend final : public IommuBackend {
 public:
  IommufdBackend(VfioContext& ctx, std::string node) : ctx_(ctx), node_(std::move(node)) {}

  // The kernel's order: open the cdev (it does nothing until bound, K-CDEV-1), bind
  // it to the iommufd (K-CDEV-2), attach it to the IOAS (K-CDEV-3).
  UniqueFd OpenDevice(const std::string& name) override {
    const Sys& sys = *ctx_.sys();
    UniqueFd fd(ctx_.sys(), sys.Open(node_, O_RDWR | O_CLOEXEC), name);
    session_ = ctx_.Iommufd();
    abi::vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof bind;
    bind.iommufd = session_->fd();
    sys.Ioctl(fd.get(), abi::VFIO_DEVICE_BIND_IOMMUFD, reinterpret_cast<uintptr_t>(&bind), name);
    abi::vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof attach;
    attach.pt_id = session_->ioas_id();
    sys.Ioctl(fd.get(), abi::VFIO_DEVICE_ATTACH_IOMMUFD_PT, reinterpret_cast<uintptr_t>(&attach), name);
    session_->dma()->RangesChanged();
    return fd;
  }

  std::shared_ptr<DmaSpace> dma(const std::string&) override { return session_->dma(); }
  OpenPath path() const override { return OpenPath::kCdev; }
  const std::string& node() const override { return node_; }
  int group_number() const override { return -1; }
  bool noiommu() const override { return false; }

 private:
  VfioContext& ctx_;  // outlives the backend: the Device holding it holds the context
  std::string node_;
  std::shared_ptr<IommufdSession> session_;
};

std::unique_ptr<IommuBackend> GroupBackendFor(VfioContext& ctx, const std::string& name) {
  const Sys& sys = *ctx.sys();
  int number = CdxSysfs(ctx.sys()).IommuGroup(name);
  std::string number_text = std::to_string(number);
  // A real IOMMU group has the node /dev/vfio/N; a no-IOMMU group made by VFIO
  // for a device without an IOMMU has /dev/vfio/noiommu-N (K-GROUP-7). The node
  // name is the only reliable sign: CHECK_EXTENSION(NOIOMMU) is 1 with real groups
  // too where iommufd serves /dev/vfio/vfio (K-COMPAT-1).
  std::string node = "/dev/vfio/" + number_text;
  bool noiommu = false;
  if (sys.TryStat(node) == -ENOENT) {
    std::string alt = "/dev/vfio/noiommu-" + number_text;
    if (sys.TryStat(alt) == 0) {
      node = alt;
      noiommu = true;
    }
  }
  return std::make_unique<GroupBackend>(ctx.GroupFor(node, number, noiommu));
}

}  // namespace

std::unique_ptr<IommuBackend> ChooseIommuBackend(VfioContext& ctx, const std::string& name, OpenPath path) {
  const Sys& sys = *ctx.sys();
  std::string vfio_dev = CdxSysfs(ctx.sys()).VfioDev(name);
  bool cdev_ready = !vfio_dev.empty() && sys.TryStat("/dev/vfio/devices/" + vfio_dev) == 0 &&
                    sys.TryStat("/dev/iommu") == 0;
  if (path == OpenPath::kCdev && !cdev_ready) {
    throw UsageError("ERR_VFIO_NO_CDEV",
                     name + " has no VFIO cdev (/dev/vfio/devices/" + (vfio_dev.empty() ? "vfioN" : vfio_dev) +
                         " or /dev/iommu missing: the kernel needs CONFIG_VFIO_DEVICE_CDEV and CONFIG_IOMMUFD, and "
                         "no-IOMMU devices never get one)");
  }
  if (path == OpenPath::kCdev || (path == OpenPath::kAuto && cdev_ready)) {
    return std::make_unique<IommufdBackend>(ctx, "/dev/vfio/devices/" + vfio_dev);
  }
  return GroupBackendFor(ctx, name);
}

}  // namespace vfiocdx
