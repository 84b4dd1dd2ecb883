// vfio_main_test.cc — drivers/vfio/vfio_main.c (mock/vfio_main.cc): unregistering a device waits
// for its open fds, whichever of remove, rescan or unbind asked (cdx.c, dd.c). Rules: K-CORE-8,
// K-BUS-5, K-DRV-4. (The device-fd operations of vfio_main.c are checked with vfio-cdx's, in
// vfio_cdx_test.cc and vfio_cdx_intr_test.cc.)
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "selftest.h"

namespace selftest {
namespace {

// K-CORE-8, K-BUS-5, K-DRV-4: `remove` blocks until the device fd is closed; other callers and
// the open device keep working meanwhile.
SELFTEST(RemoveBlocks) {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  std::atomic<bool> done(false);
  std::atomic<long> result(0);
  std::thread remover([&] {
    result = k->WriteFile(kSysDev0 + "/remove", "1");
    done = true;
  });
  // wait until the remover is inside (the device left sysfs), then check it is still blocked
  for (int i = 0; i < 2000; i++) {
    struct stat st;
    if (k->Stat(kSysDev0, &st) == -ENOENT) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  struct stat st;
  CHECK_EQ(k->Stat(kSysDev0, &st), -ENOENT);
  CHECK(!done);
  // other callers are not blocked; the open device keeps working
  vfio_device_info info = {16, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(k->Stat(kSysDev1, &st), 0);
  CHECK(!done);
  k->Close(l.device);
  l.device = -1;
  remover.join();
  CHECK(done);
  CHECK_EQ(result, 1);
  CHECK(!k->Status(kDev0).exists);
  vfio_group_status gs = {8, 0};
  CHECK_EQ(Io(*k, l.group, VFIO_GROUP_GET_STATUS, &gs), -ENODEV);
  CloseLegacy(*k, &l);
}

}  // namespace
}  // namespace selftest
