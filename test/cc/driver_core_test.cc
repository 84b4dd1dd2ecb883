// driver_core_test.cc — drivers/base/bus.c and drivers/base/dd.c (mock/driver_core.cc) as the CDX
// bus uses them: bind, unbind, drivers_probe, and the probe of vfio-cdx with the nodes it creates per
// kernel configuration. Rules: K-DRV-2..4, K-BUS-7, K-BUS-9, K-CFG-2, K-CFG-3.
#include <sys/stat.h>

#include <vector>

#include "selftest.h"

namespace selftest {
namespace {

// K-DRV-2..4, K-BUS-7: only driver_override binds vfio-cdx; the vfio-dev index and group node a
// probe creates; K-CFG-2: no cdev in linux-6.12, no bind with stock IOMMUFD=y; K-BUS-9, K-CFG-3:
// no IOMMU and no no-IOMMU mode, no group, no bind.
SELFTEST(Binding) {
  auto k = Boot("linux-6.12");
  std::string s;
  struct stat st;
  // never auto-binds; drivers_probe without override: success, nothing bound
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", kDev0), 9);
  CHECK_STR(k->Status(kDev0).driver, "");
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0), -ENODEV);  // no match
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", "cdx-07:07"), -ENODEV);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", "cdx-07:07"), -ENODEV);
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver_override", "vfio-cdx"), 8);
  CHECK_EQ(k->Stat(kSysDev0 + "/driver", &st), -ENOENT);  // setting the override binds nothing
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0 + "\n"), 10);
  CHECK_STR(k->Status(kDev0).driver, "vfio-cdx");
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0), -EBUSY);
  std::string link;
  CHECK_EQ(k->ReadLink(kSysDev0 + "/driver", &link), 0);
  CHECK_STR(link, "../../../../../bus/cdx/drivers/vfio-cdx");
  CHECK_EQ(k->Stat(kSysDev0 + "/driver/unbind", &st), 0);  // paths through links resolve
  CHECK_EQ(k->Stat("/sys/bus/cdx/drivers/vfio-cdx/cdx-00:00/vendor", &st), 0);
  std::vector<std::string> names;
  CHECK_EQ(k->ReadDir(kSysDev0 + "/vfio-dev", &names), 0);
  CHECK_EQ(names.size(), 1u);
  CHECK_STR(names.empty() ? "" : names[0], "vfio0");
  CHECK_EQ(k->Stat(kSysDev0 + "/vfio-dev/vfio0/dev", &st), -ENOENT);  // no cdev in linux-6.12
  CHECK_EQ(k->Stat("/dev/vfio/0", &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0600);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ(k->Stat("/dev/vfio/vfio", &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0666);
  CHECK_EQ(k->Stat("/dev/iommu", &st), -ENOENT);
  CHECK_EQ(k->Stat("/dev/vfio/devices", &st), -ENOENT);
  // the second device gets vfio1 and group 1
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  CHECK_EQ(k->Stat(kSysDev1 + "/vfio-dev/vfio1", &st), 0);
  CHECK_EQ(k->Stat("/dev/vfio/1", &st), 0);
  // unbind: through the driver link; the group node goes with the last device
  CHECK_EQ(k->WriteFile(kSysDev0 + "/driver/unbind", kDev0), 9);
  CHECK_EQ(k->Stat("/dev/vfio/0", &st), -ENOENT);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/unbind", kDev0), -ENODEV);
  // lowest free vfio index is reused
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", kDev0), 9);
  CHECK_EQ(k->Stat(kSysDev0 + "/vfio-dev/vfio0", &st), 0);
  // stock 6.12 with IOMMUFD: probe fails with EINVAL (no .detach_ioas)
  auto k2 = Boot("linux-6.12-iommufd");
  CHECK_EQ(k2->WriteFile(kSysDev0 + "/driver_override", "vfio-cdx"), 8);
  CHECK_EQ(k2->WriteFile("/sys/bus/cdx/drivers_probe", kDev0), 9);  // errors swallowed
  CHECK_EQ(k2->Stat(kSysDev0 + "/driver", &st), -ENOENT);
  CHECK_EQ(k2->WriteFile("/sys/bus/cdx/drivers/vfio-cdx/bind", kDev0), -EINVAL);
  CHECK_EQ(k2->Stat("/dev/iommu", &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0660);
  CHECK_EQ(k2->Stat("/dev/vfio/0", &st), -ENOENT);
  // spec.bind creates the device bound
  KernelConfig c;
  ProfileConfig("linux-6.12", &c);
  std::string err;
  auto k3 = MockKernel::Create(c, &err);
  DeviceSpec d = Fixture(0);
  d.bind = true;
  CHECK_EQ(k3->AddDevice(d, &err), 0);
  CHECK_STR(k3->Status(kDev0).driver, "vfio-cdx");
  CHECK_EQ(k3->AddDevice(d, &err), -EEXIST);
  // no noiommu and no IOMMU: probe EINVAL (no group)
  c.iommu = false;
  auto k4 = MockKernel::Create(c, &err);
  CHECK_EQ(k4->AddDevice(Fixture(0), &err), 0);
  CHECK_EQ(k4->ReadLink(kSysDev0 + "/iommu_group", &s), -ENOENT);
  CHECK_EQ(BindVfio(*k4, kDev0), -EINVAL);
}

}  // namespace
}  // namespace selftest
