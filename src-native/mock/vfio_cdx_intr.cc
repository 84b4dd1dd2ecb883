// vfio_cdx_intr.cc — drivers/vfio/cdx/intr.c: MSI enable/disable and the eventfd triggers of
// VFIO_DEVICE_SET_IRQS.
//
// Like eventfd_ctx_fdget(), the kernel keeps its own reference to each trigger eventfd: the mock
// dup()s it (F_DUPFD_CLOEXEC) and closes the dup when the trigger is released, so closing the
// user's fd does not detach a vector. Triggers belong to the VfioDevice. Runs with Impl::mu held.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mock_internal.h"

namespace vfiocdx {
namespace mock {

// eventfd_ctx_fdget() (fs/eventfd.c:348-376): -EBADF if fd is not open, -EINVAL if it is not an
// eventfd (the mock's own descriptors are memfds, so they are "not an eventfd" too).
int EventfdCheck(int fd) {
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) return -EBADF;
  char path[64];
  char target[64] = {0};
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof(target) - 1);
  if (n < 0) return -EBADF;
  return strcmp(target, "anon_inode:[eventfd]") == 0 ? 0 : -EINVAL;
}

// vfio_cdx_msi_enable() (intr.c:24-55): all num_msi vectors at once.
int MockKernel::Impl::VfioCdxMsiEnable(VfioDevice* vdev, uint32_t nvec) {
  int ret = CdxEnableMsi(vdev->dev);
  if (ret) return ret;
  ModelWriteMsiTable(vdev->dev, nvec);  // msi_domain_alloc_irqs() programs every vector
  vdev->cdx_irqs.assign(nvec, VfioCdxIrq());
  vdev->msi_count = nvec;
  vdev->config_msi = true;
  return 0;
}

// vfio_cdx_msi_set_vector_signal() (intr.c:57-100): the old trigger is always released first.
int MockKernel::Impl::VfioCdxMsiSetVectorSignal(VfioDevice* vdev, int vector, int fd) {
  if (vector < 0 || static_cast<uint32_t>(vector) >= vdev->msi_count) return -EINVAL;
  VfioCdxIrq& irq = vdev->cdx_irqs[vector];
  if (irq.trigger >= 0) {  // free_irq() + eventfd_ctx_put()
    close(irq.trigger);
    irq.trigger = -1;
    irq.name.clear();
  }
  if (fd < 0) return 0;
  char name[64];
  snprintf(name, sizeof(name), "vfio-msi[%d](%s)", vector, vdev->dev->name.c_str());
  int ret = EventfdCheck(fd);
  if (ret) return ret;
  int trigger = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (trigger < 0) return -errno;
  irq.trigger = trigger;
  irq.name = name;
  return 0;
}

// vfio_cdx_msi_set_block() (intr.c:102-123): on failure at vector k, [start..k] is de-assigned.
int MockKernel::Impl::VfioCdxMsiSetBlock(VfioDevice* vdev, unsigned start, unsigned count, const int32_t* fds) {
  if (start >= vdev->msi_count || start + count > vdev->msi_count) return -EINVAL;
  int ret = 0;
  int j = static_cast<int>(start);
  for (unsigned i = 0; i < count && !ret; i++, j++) {
    int fd = -1;
    if (fds) memcpy(&fd, &fds[i], sizeof(fd));
    ret = VfioCdxMsiSetVectorSignal(vdev, j, fd);
  }
  if (ret) {
    for (--j; j >= static_cast<int>(start); j--) VfioCdxMsiSetVectorSignal(vdev, j, -1);
  }
  return ret;
}

// vfio_cdx_msi_disable() (intr.c:125-142).
void MockKernel::Impl::VfioCdxMsiDisable(VfioDevice* vdev) {
  if (vdev->msi_count) VfioCdxMsiSetBlock(vdev, 0, vdev->msi_count, nullptr);
  if (!vdev->config_msi) return;
  CdxDisableMsi(vdev->dev);  // after msi_domain_free_irqs_all()
  vdev->cdx_irqs.clear();
  vdev->msi_count = 0;
  vdev->config_msi = false;
}

// vfio_cdx_set_msi_trigger() (intr.c:144-198).
int MockKernel::Impl::VfioCdxSetMsiTrigger(VfioDevice* vdev, unsigned start, unsigned count, uint32_t flags,
                                           const void* data) {
  if (start + count > vdev->dev->num_msi) return -EINVAL;
  if (!count && (flags & abi::VFIO_IRQ_SET_DATA_NONE)) {
    VfioCdxMsiDisable(vdev);
    return 0;
  }
  if (flags & abi::VFIO_IRQ_SET_DATA_EVENTFD) {
    const int32_t* fds = static_cast<const int32_t*>(data);
    if (vdev->config_msi) return VfioCdxMsiSetBlock(vdev, start, count, fds);
    int ret = VfioCdxMsiEnable(vdev, vdev->dev->num_msi);
    if (ret) return ret;
    ret = VfioCdxMsiSetBlock(vdev, start, count, fds);
    if (ret) VfioCdxMsiDisable(vdev);
    return ret;
  }
  if (!vdev->config_msi) return -EINVAL;  // "Ensure MSI is configured before accessing cdx_irqs"
  const uint8_t* bools = static_cast<const uint8_t*>(data);
  for (unsigned i = start; i < start + count; i++) {
    if (vdev->cdx_irqs[i].trigger < 0) continue;
    if ((flags & abi::VFIO_IRQ_SET_DATA_NONE) || ((flags & abi::VFIO_IRQ_SET_DATA_BOOL) && bools[i - start])) {
      EventfdSignal(vdev->cdx_irqs[i].trigger);
    }
  }
  return 0;
}

// vfio_cdx_set_irqs_ioctl() (intr.c:200-210): only ACTION_TRIGGER is supported.
int MockKernel::Impl::VfioCdxSetIrqsIoctl(VfioDevice* vdev, uint32_t flags, unsigned index, unsigned start,
                                          unsigned count, const void* data) {
  (void)index;
  if (flags & abi::VFIO_IRQ_SET_ACTION_TRIGGER) return VfioCdxSetMsiTrigger(vdev, start, count, flags, data);
  return -EINVAL;
}

// vfio_cdx_irqs_cleanup() (intr.c:212-216).
void MockKernel::Impl::VfioCdxIrqsCleanup(VfioDevice* vdev) {
  VfioCdxSetMsiTrigger(vdev, 0, 0, abi::VFIO_IRQ_SET_DATA_NONE, nullptr);
}

}  // namespace mock
}  // namespace vfiocdx
