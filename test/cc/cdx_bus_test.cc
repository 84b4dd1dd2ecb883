// cdx_bus_test.cc — drivers/cdx/cdx.c (mock/cdx_bus.cc): the CDX bus's devices and their sysfs
// attributes, read and written through the sysfs files (fs/sysfs/file.c, fs/kernfs/file.c:
// mock/kernfs.cc). Rules: K-BUS-1..6, K-BUS-8, K-BUS-9; K-DRV-1, K-DRV-5, K-DRV-6 for the driver
// core's attributes.
#include <sys/stat.h>

#include <cstring>
#include <vector>

#include "selftest.h"

namespace selftest {
namespace {

// K-BUS-1..6, K-BUS-8, K-BUS-9, K-DRV-1, K-DRV-5, K-DRV-6: attribute formats, booleans, reset,
// links, the bus device, the files through Open/Read/Write, remove and rescan.
SELFTEST(SysfsFormats) {
  auto k = Boot("linux-6.12");
  const DeviceSpec& d0 = Fixture(0);
  std::string s;
  CHECK_EQ(k->ReadFile(kSysDev0 + "/vendor", &s), 0);
  CHECK_STR(s, Fmt("0x%04x\n", d0.vendor));
  k->ReadFile(kSysDev0 + "/device", &s);
  CHECK_STR(s, Fmt("0x%04x\n", d0.device));
  k->ReadFile(kSysDev0 + "/subsystem_vendor", &s);
  CHECK_STR(s, Fmt("0x%04x\n", d0.subsystem_vendor));
  k->ReadFile(kSysDev0 + "/subsystem_device", &s);
  CHECK_STR(s, Fmt("0x%04x\n", d0.subsystem_device));
  k->ReadFile(kSysDev0 + "/class", &s);
  CHECK_STR(s, Fmt("0x%06x\n", d0.class_code));
  k->ReadFile(kSysDev0 + "/revision", &s);
  CHECK_STR(s, Fmt("0x%02x\n", d0.revision));
  k->ReadFile(kSysDev0 + "/modalias", &s);
  CHECK_STR(s, Fmt("cdx:v%04Xd%04Xsv%04Xsd%04Xc%06X\n", d0.vendor, d0.device, d0.subsystem_vendor,
                   d0.subsystem_device, d0.class_code));
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "(null)\n");
  // write-only and read-only attributes: kernfs_fop_open() says EACCES even to root
  CHECK_EQ(k->ReadFile(kSysDev0 + "/reset", &s), -EACCES);
  CHECK_EQ(k->ReadFile("/sys/bus/cdx/drivers_probe", &s), -EACCES);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/vendor", "0x1"), -EACCES);
  // bin resource files: size = region length, read/write EIO
  struct stat st;
  CHECK_EQ(k->Stat(kSysDev0 + "/resource1", &st), 0);
  CHECK_EQ(st.st_size, d0.regions[1].size);
  CHECK_EQ(st.st_mode & 0777, 0600);
  CHECK_EQ(k->ReadFile(kSysDev0 + "/resource0", &s), -EIO);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/resource0", "x"), -EIO);
  CHECK_EQ(k->Stat(kSysDev0 + "/resource2", &st), -ENOENT);
  // kstrtobool semantics
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "0"), -EINVAL);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "maybe"), -EINVAL);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "on"), 2);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/reset", "Y\n"), 2);
  CHECK_EQ(k->Status(kDev0).resets, 2u);
  CHECK_EQ(Reg(*k, kDev0, kRegResetCount), 2u);
  CHECK_EQ(Reg(*k, kDev0, kRegId), kIdBase | d0.dev);
  CHECK_EQ(Reg(*k, kDev0, kRegVersion), kVersion);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/remove", "n"), -EINVAL);
  // driver_override: "\n" and "" clear; stops at the first newline
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", "foo\nbar"), 7);
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "foo\n");
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", "\n"), 1);
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "(null)\n");
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", std::string(kPage, 'a')), -EINVAL);
  // links and the tree
  std::string link;
  CHECK_EQ(k->ReadLink(kSysDev0, &link), 0);
  CHECK_STR(link, "../../../devices/platform/cdx-mock/cdx-00/cdx-00:00");
  // no IOMMU group before a driver probes: cdx_dma_configure() runs at probe
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), -ENOENT);
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), 0);
  CHECK_STR(link, "../../../../../kernel/iommu_groups/0");
  CHECK_EQ(k->ReadLink(kSysDev0 + "/vendor", &link), -EINVAL);
  CHECK_EQ(k->Stat("/sys/kernel/iommu_groups/0/devices/cdx-00:00/vendor", &st), 0);
  CHECK_EQ(k->Stat("/sys/kernel/iommu_groups/0/name", &st), -ENOENT);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver/unbind", kDev0), 9);
  CHECK_EQ(k->ReadLink(kSysDev0 + "/iommu_group", &link), 0);  // the group stays after unbind
  CHECK_EQ(k->ReadLink(kSysDev0 + "/driver", &link), -ENOENT);
  std::vector<std::string> names;
  CHECK_EQ(k->ReadDir("/sys/bus/cdx/devices", &names), 0);
  CHECK_EQ(names.size(), 3u);  // cdx-00 (the bus), cdx-00:00, cdx-00:01
  CHECK_EQ(k->ReadDir(kSysDev0 + "/vendor", &names), -ENOTDIR);
  CHECK_EQ(k->ReadDir("/sys/bus/cdx/devices/cdx-00", &names), 0);
  CHECK_EQ(k->ReadFile("/sys/bus/cdx/devices/cdx-00/enable", &s), 0);
  CHECK_STR(s, "1\n");
  CHECK_EQ(k->Stat("/sys/bus/cdx/devices/cdx-00/vendor", &st), -ENOENT);
  CHECK_EQ(k->ReadFile("/etc/passwd", &s), -ENOENT);
  CHECK_EQ(k->Stat("/sys/bus/pci", &st), -ENOENT);
  CHECK_EQ(k->ReadFile("/sys/bus/cdx/drivers_autoprobe", &s), 0);
  CHECK_STR(s, "1\n");
  // bus reset resets every child
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/devices/cdx-00/reset", "1"), 1);
  CHECK_EQ(k->Status(kDev0).resets, 3u);
  CHECK_EQ(k->Status(kDev1).resets, 1u);
  // the same files through Open/Read/Write
  char rb[64];
  int fd = k->Open(kSysDev0 + "/vendor", O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), 7);
  CHECK_EQ(memcmp(rb, Fmt("0x%04x\n", d0.vendor).data(), 7), 0);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), 0);
  CHECK_EQ(k->Write(fd, "1", 1), -EBADF);
  k->Close(fd);
  CHECK_EQ(k->Open(kSysDev0 + "/vendor", O_WRONLY | O_CLOEXEC), -EACCES);
  CHECK_EQ(k->Open(kSysDev0 + "/remove", O_RDONLY | O_CLOEXEC), -EACCES);
  CHECK_EQ(k->Open(kSysDev0, O_WRONLY | O_CLOEXEC), -EISDIR);
  CHECK_EQ(k->Open(kSysDev0 + "/vendor", O_RDONLY | O_DIRECTORY | O_CLOEXEC), -ENOTDIR);
  fd = k->Open(kSysDev0, O_RDONLY | O_CLOEXEC);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), -EISDIR);
  k->Close(fd);
  fd = k->Open(kSysDev0 + "/driver_override", O_WRONLY | O_CLOEXEC);
  CHECK_EQ(k->Write(fd, "abc", 3), 3);
  CHECK_EQ(k->Read(fd, rb, sizeof(rb)), -EBADF);
  CHECK_EQ(k->Write(fd, nullptr, 3), -EFAULT);
  k->Close(fd);
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "abc\n");
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", ""), 0);  // an empty write never reaches the store
  k->ReadFile(kSysDev0 + "/driver_override", &s);
  CHECK_STR(s, "abc\n");
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_autoprobe", "0"), 1);
  k->ReadFile("/sys/bus/cdx/drivers_autoprobe", &s);
  CHECK_STR(s, "0\n");
  CHECK_EQ(k->ReadDir("/dev/vfio", &names), 0);
  CHECK_EQ(names.size(), 1u);  // just the container node: nothing bound
  CHECK_EQ(k->ReadFile("/dev/vfio/vfio", &s), -EINVAL);
  // no noiommu parameter without CONFIG_VFIO_NOIOMMU
  CHECK_EQ(k->Stat("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", &st), -ENOENT);
  // remove and rescan
  CHECK_EQ(k->WriteFile(kSysDev1 + "/remove", "1"), 1);
  CHECK_EQ(k->Stat(kSysDev1, &st), -ENOENT);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/rescan", "0"), -EINVAL);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/rescan", "1"), 1);
  CHECK_EQ(k->Stat(kSysDev1, &st), 0);
  CHECK_EQ(k->Status(kDev0).resets, 0u);  // a new device after rescan
}

}  // namespace
}  // namespace selftest
