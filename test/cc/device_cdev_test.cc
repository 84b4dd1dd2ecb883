// device_cdev_test.cc — drivers/vfio/device_cdev.c and drivers/vfio/iommufd.c (mock/device_cdev.cc):
// /dev/vfio/devices/vfioN, BIND_IOMMUFD, ATTACH/DETACH_IOMMUFD_PT, and the group path with an
// iommufd (the compat IOAS). Rules: K-CDEV-1..4, K-CFG-2, K-COMPAT-1.
#include <sys/stat.h>

#include "selftest.h"

namespace selftest {
namespace {

// K-CDEV-1..4, K-CFG-2: the cdev before and after BIND, the group/cdev exclusion, attach and
// detach, and the group path with a container or an iommufd in the same profile.
SELFTEST(Cdev) {
  auto k = Boot("cdev");
  struct stat st;
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  std::string s;
  CHECK_EQ(k->ReadFile(kSysDev0 + "/vfio-dev/vfio0/dev", &s), 0);
  CHECK(s.find(':') != std::string::npos && s.back() == '\n');
  CHECK_EQ(k->Stat("/dev/vfio/devices/vfio0", &st), 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ(k->Stat("/dev/iommu", &st), 0);
  int d = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
  CHECK(d >= 0);
  int d2 = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);  // several opens succeed
  CHECK(d2 >= 0);
  // before BIND: every ioctl but BIND, and read/mmap → EINVAL
  vfio_device_info info = {16, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
  CHECK_EQ(k->Ioctl(d, VFIO_DEVICE_RESET, 0), -EINVAL);
  CHECK_EQ(k->Ioctl(d, 0x3b99, 0), -EINVAL);
  char b[4];
  CHECK_EQ(k->Read(d, b, 4), -EINVAL);
  void* p = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, d, 0, &p), -EINVAL);
  // BIND errnos
  int iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK(iommufd >= 0);
  CHECK_EQ(k->Ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, 0), -EFAULT);
  vfio_device_bind_iommufd bind = {15, 0, iommufd, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
  bind = {16, 1, iommufd, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
  CHECK_EQ(Bind(*k, d, -1), -EINVAL);  // no noiommu cdev in 6.12
  CHECK_EQ(Bind(*k, d, 1000), -EBADF);
  int c = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, c), -EBADFD);
  // the group is open → EBUSY; and a bound cdev makes group open EBUSY
  int g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, iommufd), -EBUSY);
  k->Close(g);
  uint32_t devid = 0;
  CHECK_EQ(Bind(*k, d, iommufd, &devid), 0);
  CHECK(devid != 0);
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EBUSY);
  CHECK_EQ(Bind(*k, d, iommufd), -EINVAL);   // already bound
  CHECK_EQ(Bind(*k, d2, iommufd), -EINVAL);  // another fd of the device is open
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.flags, 0x101u);
  // ATTACH / DETACH
  iommu_ioas_alloc alloc = {12, 0, 0};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
  CHECK(alloc.out_ioas_id != 0);
  vfio_device_attach_iommufd_pt at = {12, 0, 999};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -ENOENT);
  at = {11, 0, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
  at = {12, 1, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
  CHECK_EQ(k->Ioctl(d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0), -EFAULT);
  at = {12, 0, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
  CHECK(at.pt_id != alloc.out_ioas_id);  // the automatic HWPT
  iommu_destroy destroy = {8, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -EBUSY);
  destroy = {8, at.pt_id};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -EBUSY);
  destroy = {8, devid};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -EBUSY);  // vfio holds the device object
  // with a domain the IOAS reserves the MSI window and aligns to the page size
  iommu_iova_range rg[4];
  iommu_ioas_iova_ranges ir = {32, alloc.out_ioas_id, 4, 0, reinterpret_cast<uintptr_t>(rg), 0};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_IOVA_RANGES, &ir), 0);
  CHECK_EQ(ir.num_iovas, 2u);
  CHECK_EQ(rg[0].last, 0x7ffffffu);
  CHECK_EQ(ir.out_iova_alignment, kPage);
  vfio_device_detach_iommufd_pt dt = {8, 1};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), -EINVAL);
  dt = {7, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), -EINVAL);
  dt = {8, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), 0);
  destroy = {8, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), 0);
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &destroy), -ENOENT);
  // mmap works once bound; an O_RDONLY cdev cannot be mapped shared+writable
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0, &p), 0);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  k->Close(d2);
  // closing /dev/iommu while bound keeps the context: the device still works
  k->Close(iommufd);
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  k->Close(d);
  CHECK_EQ(k->Status(kDev0).open_count, 0u);
  g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);  // unblocked again
  CHECK(g >= 0);
  k->Close(g);
  int ro = k->Open("/dev/vfio/devices/vfio0", O_RDONLY | O_CLOEXEC);
  iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, ro, iommufd), 0);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0, &p), -EACCES);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, ro, 0, &p), 0);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  k->Close(ro);
  k->Close(iommufd);
  k->Close(c);
  // the group path works too in the cdev profile (legacy container)
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_BIND_IOMMUFD, 0), -EFAULT);
  vfio_device_bind_iommufd gb = {16, 0, 3, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_BIND_IOMMUFD, &gb), -EINVAL);  // a group-path fd
  int late = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);  // opening the cdev is allowed,
  iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, late, iommufd), -EBUSY);                           // binding is not (group open)
  k->Close(late);
  CloseLegacy(*k, &l);
  // the group path with an iommufd instead of a container (compat IOAS)
  g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &iommufd), 0);
  vfio_group_status gs = {8, 0};
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &gs), 0);
  CHECK_EQ(gs.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
  d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(d >= 0);
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  iommu_destroy compat = {8, 1};  // the compat IOAS is object 1; its HWPT holds it
  CHECK_EQ(Io(*k, iommufd, IOMMU_DESTROY, &compat), -EBUSY);
  k->Close(iommufd);  // the group keeps the context
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  k->Close(d);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  k->Close(g);
  CHECK_EQ(k->OpenObjectCount(), 0u);
}

}  // namespace
}  // namespace selftest
