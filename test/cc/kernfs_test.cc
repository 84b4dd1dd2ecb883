// kernfs_test.cc — the files the mock serves besides the bus's (mock/kernfs.cc): /proc/self/limits
// and /proc/self/status (fs/proc/base.c, fs/proc/array.c), module parameters under /sys/module, the
// permission checks of a caller other than root (generic_permission, fs/namei.c), and a kernel
// without a CDX bus. Rules: K-DRV-6; the other files have no rule numbers (docs/kernel-rules.md
// covers the VFIO and CDX boundary): they follow the kernel functions named here.
#include <sys/stat.h>

#include "selftest.h"

namespace selftest {
namespace {

// What the mock answers where userspace asks about itself (/proc/self) and about the kernel's
// build (/sys/module), and the permission checks a caller other than root meets.
SELFTEST(ProcAndCredentials) {
  auto k = Boot("linux-6.12", 0, 65536);
  std::string s;
  CHECK_EQ(k->ReadFile("/proc/self/limits", &s), 0);
  CHECK(s.rfind("Limit                     Soft Limit           Hard Limit           Units     \n", 0) == 0);
  CHECK(s.find("\nMax locked memory         65536                65536                bytes     \n") != std::string::npos);
  CHECK_EQ(k->ReadFile("/proc/self/status", &s), 0);
  CHECK(s.find("\nUid:\t0\t0\t0\t0\n") != std::string::npos);
  CHECK(s.find("\nGroups:\t \n") != std::string::npos);
  CHECK(s.find("\nCapEff:\t000001ffffffbfff\n") != std::string::npos);  // all but CAP_IPC_LOCK
  CHECK_EQ(k->WriteFile("/proc/self/limits", "x"), -EACCES);
  struct stat st;
  CHECK_EQ(k->Stat("/sys/module/iommufd", &st), -ENOENT);  // CONFIG_IOMMUFD=n

  auto fd = Boot("linux-6.12-iommufd", 0, 0);
  CHECK_EQ(fd->ReadFile("/proc/self/limits", &s), 0);
  CHECK(s.find("\nMax locked memory         unlimited            unlimited            bytes     \n") != std::string::npos);
  CHECK_EQ(fd->ReadFile("/sys/module/iommufd/parameters/allow_unsafe_interrupts", &s), 0);
  CHECK_STR(s, "N\n");
  CHECK_EQ(fd->WriteFile("/sys/module/iommufd/parameters/allow_unsafe_interrupts", "1"), 1);
  fd->ReadFile("/sys/module/iommufd/parameters/allow_unsafe_interrupts", &s);
  CHECK_STR(s, "Y\n");

  // A caller other than root: root-owned nodes by their mode bits, no capabilities.
  KernelConfig c;
  ProfileConfig("linux-6.12", &c);
  c.uid = 1000;
  c.gid = 1000;
  c.cap_sys_rawio = false;
  std::string err;
  auto user = MockKernel::Create(c, &err);
  DeviceSpec d0 = Fixture(0);
  d0.bind = true;  // bound by the kernel, as at boot
  CHECK_EQ(user->AddDevice(d0, &err), 0);
  CHECK_EQ(user->AddDevice(Fixture(1), &err), 0);
  CHECK_STR(user->Status(kDev0).driver, "vfio-cdx");
  CHECK_EQ(user->ReadFile(kSysDev0 + "/vendor", &s), 0);              // 0444
  CHECK_EQ(user->WriteFile(kSysDev1 + "/driver_override", "vfio-cdx"), -EACCES);  // 0644 root
  CHECK_EQ(BindVfio(*user, kDev1), -EACCES);
  int container = user->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);  // 0666
  CHECK(container >= 0);
  user->Close(container);
  CHECK_EQ(user->Open(GroupNode(*user, kDev0), O_RDWR | O_CLOEXEC), -EACCES);  // 0600 root
  CHECK_EQ(user->ReadFile("/proc/self/status", &s), 0);
  CHECK(s.find("\nUid:\t1000\t1000\t1000\t1000\n") != std::string::npos);
  CHECK(s.find("\nCapEff:\t0000000000000000\n") != std::string::npos);

  // gid 0 gets the group bits: /dev/iommu is 0660 root:root.
  ProfileConfig("cdev", &c);
  c.uid = 1000;
  c.gid = 0;
  auto wheel = MockKernel::Create(c, &err);
  int iommu = wheel->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK(iommu >= 0);
  wheel->Close(iommu);

  // A kernel without a CDX bus has no /sys/bus/cdx and takes no devices.
  ProfileConfig("linux-6.12", &c);
  c.cdx_bus = false;
  auto nobus = MockKernel::Create(c, &err);
  CHECK_EQ(nobus->Stat("/sys/bus/cdx", &st), -ENOENT);
  CHECK_EQ(nobus->Stat("/sys/bus", &st), 0);
  CHECK_EQ(nobus->AddDevice(Fixture(0), &err), -ENODEV);
  CHECK_EQ(nobus->OpenObjectCount(), 0);
  CHECK_EQ(user->OpenObjectCount(), 0);
}

}  // namespace
}  // namespace selftest
