// vfio_group_container_test.cc — drivers/vfio/group.c (mock/vfio_group.cc) and
// drivers/vfio/container.c (mock/vfio_container.cc): /dev/vfio/<group> and /dev/vfio/vfio, checked
// together since a group is used only through a container; no-IOMMU groups and their driver.
// Rules: K-GROUP-1..7, K-CONT-1..6, K-TYPE1-1, K-CFG-3, K-UACCESS-3 (the device name).
#include <sys/stat.h>

#include <cstring>

#include "selftest.h"

namespace selftest {
namespace {

// K-GROUP-1..6, K-CONT-1..5, K-TYPE1-1: group open, status, SET/UNSET_CONTAINER, GET_DEVICE_FD;
// the container's extensions and SET_IOMMU; a group whose last device is unbound.
SELFTEST(GroupAndContainer) {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  int c = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK(c >= 0);
  CHECK_EQ(k->Ioctl(c, VFIO_GET_API_VERSION, 0), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, 12345), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);  // no group yet
  int g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EBUSY);  // single opener
  CHECK_EQ(k->Open("/dev/vfio/7", O_RDWR | O_CLOEXEC), -ENOENT);
  vfio_group_status st = {8, 0};
  CHECK_EQ(k->Ioctl(g, VFIO_GROUP_GET_STATUS, 0), -EFAULT);
  st.argsz = 7;
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), -EINVAL);
  st.argsz = 8;
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  // GET_DEVICE_FD without container → EINVAL
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EINVAL);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), -EINVAL);
  // SET_CONTAINER errnos
  CHECK_EQ(k->Ioctl(g, VFIO_GROUP_SET_CONTAINER, 0), -EFAULT);
  int closed = 1000;
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &closed), -EBADF);
  int pipefd[2];
  CHECK_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &pipefd[0]), -EBADFD);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &g), -EBADFD);  // a group fd is not a container
  close(pipefd[0]);
  close(pipefd[1]);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), -EINVAL);  // already set
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
  // GET_DEVICE_FD before SET_IOMMU → EINVAL
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EINVAL);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -ENODEV);  // no driver accepts it
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), -EINVAL);  // type1 says yes, open refuses
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);  // already set
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 1);
  // GET_DEVICE_FD: names, EFAULT, over-long name
  CHECK_EQ(k->Ioctl(g, VFIO_GROUP_GET_DEVICE_FD, 0), -EFAULT);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, "cdx-00:01"), -ENODEV);  // not in this group
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, "cdx-00:00\n"), -ENODEV);  // exact strcmp
  std::string longname(kPage + 10, 'x');
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, longname.c_str()), -EINVAL);
  Guarded gd;
  memcpy(gd.Tail(9), "cdx-00:00", 9);  // no NUL before the unmapped page
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, gd.Tail(9)), -EFAULT);
  memcpy(gd.Tail(10), "cdx-00:00", 10);
  int d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, gd.Tail(10)));
  CHECK(d >= 0);
  CHECK_EQ(fcntl(d, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  char link[128] = {0};
  std::string proc = "/proc/self/fd/" + std::to_string(d);
  CHECK(readlink(proc.c_str(), link, sizeof(link) - 1) > 0);
  CHECK(strstr(link, "vfio-mock:device:cdx-00:00") != nullptr);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), -EBUSY);  // device open
  // a second group in the same container; mixing works for real groups
  int g1 = k->Open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g1, VFIO_GROUP_SET_CONTAINER, &c), 0);
  CHECK_EQ(Io(*k, g1, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  CHECK_EQ(Io(*k, g1, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  k->Close(g1);
  // closing the container fd keeps the container alive through the attached group
  k->Close(c);
  vfio_region_info ri = {32, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  k->Close(d);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  // the group's last device is unbound while the group fd is open: ENODEV from then on
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/unbind", kDev0), 9);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_STATUS, &st), -ENODEV);
  int c2 = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c2), -ENODEV);
  k->Close(c2);
  k->Close(g);
}

// K-GROUP-7, K-CONT-6, K-CFG-3: noiommu-N groups, CAP_SYS_RAWIO, the parameter at probe time,
// and a no-IOMMU group on an iommufd.
SELFTEST(Noiommu) {
  auto k = Boot("noiommu");
  std::string s;
  struct stat st;
  CHECK_EQ(k->ReadFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", &s), 0);
  CHECK_STR(s, "Y\n");
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &s), -ENOENT);  // no IOMMU: no group before probe
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  std::string link;
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), 0);
  CHECK_STR(link, "../../../../../kernel/iommu_groups/0");
  CHECK_EQ(k->ReadFile("/sys/kernel/iommu_groups/0/name", &s), 0);
  CHECK_STR(s, "vfio-noiommu\n");
  CHECK_EQ(k->Stat("/dev/vfio/noiommu-0", &st), 0);
  CHECK_EQ(k->Stat("/dev/vfio/0", &st), -ENOENT);
  CHECK_EQ(k->Stat("/dev/vfio/devices", &st), -ENOENT);  // noiommu devices get no cdev
  CHECK_EQ(k->Stat("/dev/iommu", &st), 0);
  CHECK_STR(GroupNode(*k, kDev0), "/dev/vfio/noiommu-0");
  int c = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 1);
  // CAP_SYS_RAWIO checks
  k->SetCapSysRawio(false);
  CHECK_EQ(k->Open("/dev/vfio/noiommu-0", O_RDWR | O_CLOEXEC), -EPERM);
  k->SetCapSysRawio(true);
  int g = k->Open("/dev/vfio/noiommu-0", O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  k->SetCapSysRawio(false);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), -EPERM);
  k->SetCapSysRawio(true);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 0);  // only noiommu allowed now
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
  k->SetCapSysRawio(false);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -EPERM);
  k->SetCapSysRawio(true);
  CHECK_EQ(k->Ioctl(c, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), 0);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_IOMMU_GET_INFO, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(c, VFIO_IOMMU_MAP_DMA, 0), -ENOTTY);
  k->SetCapSysRawio(false);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EPERM);
  k->SetCapSysRawio(true);
  int d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(d >= 0);
  vfio_device_info info = {16, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.num_regions, Fixture(0).regions.size());
  // a real-IOMMU group cannot join a noiommu container: not testable without an IOMMU; instead the
  // parameter only matters at probe time: switched off, the next probe fails, the bound one stays.
  CHECK_EQ(k->WriteFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "maybe"), -EINVAL);
  CHECK_EQ(k->WriteFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "0"), 1);
  CHECK_EQ(k->Ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
  CHECK_EQ(BindVfio(*k, kDev1), -EINVAL);
  CHECK_STR(k->Status(kDev0).driver, "vfio-cdx");
  k->Close(d);
  k->Close(g);
  k->Close(c);
  // noiommu with an iommufd instead of a container: no compat IOAS, CAP_SYS_RAWIO at device open
  CHECK_EQ(k->WriteFile("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "1"), 1);
  int ifd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  g = k->Open("/dev/vfio/noiommu-0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &ifd), 0);
  k->SetCapSysRawio(false);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()), -EPERM);
  k->SetCapSysRawio(true);
  d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(d >= 0);
  k->Close(d);
  k->Close(g);
  k->Close(ifd);
  // unbind removes the fake group again
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/unbind", kDev0), 9);
  CHECK_EQ(k->Stat("/sys/kernel/iommu_groups/0", &st), -ENOENT);
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), -ENOENT);
  CHECK_EQ(k->Stat("/dev/vfio/noiommu-0", &st), -ENOENT);
}

}  // namespace
}  // namespace selftest
