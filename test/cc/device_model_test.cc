// device_model_test.cc — the device-model threads (mock/device_model.cc): one per modelled device,
// started with it, joined when it is removed or its MockKernel goes.
#include <dirent.h>
#include <sys/eventfd.h>

#include "selftest.h"

namespace selftest {
namespace {

size_t CountThreads() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/task");
  while (struct dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// One thread per modelled device, started with it, joined when it is removed and when the
// MockKernel goes, even with a device open and a copy running.
SELFTEST(ModelThreads) {
  size_t threads = CountThreads();
  size_t fds = CountFds();
  {
    auto k = BootCdma("linux-6.12");  // cdx-00:00 (cdx-test) and cdx-00:02 (axi-cdma) have models
    std::string err;
    CHECK_EQ(k->AddDevice(CdmaSpec(3), &err), 0);
    CHECK_EQ(CountThreads(), threads + 3);
    CHECK_EQ(k->WriteFile("/sys/bus/cdx/devices/cdx-00:03/remove", "1"), 1);
    CHECK(WaitFor([&] { return CountThreads() == threads + 2; }, 1000));
    // a rescan brings the removed device back, with a new thread
    CHECK_EQ(k->WriteFile("/sys/bus/cdx/rescan", "1"), 1);
    CHECK(WaitFor([&] { return CountThreads() == threads + 3; }, 1000));
    CHECK_EQ(BindVfio(*k, kCdma), 9);
    int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    Legacy l;
    CdmaRegs r;
    OpenCdmaLegacy(*k, &l, &r, ev);
    const size_t kLen = 4 << 20;
    uint8_t* src = MapBuffer(kLen);
    uint8_t* dst = MapBuffer(kLen);
    CHECK_EQ(MapDma(*k, l.container, src, 0x100000, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
    CHECK_EQ(MapDma(*k, l.container, dst, 0x1000000, kLen, VFIO_DMA_MAP_FLAG_WRITE), 0);
    r.Program(0x100000, 0x1000000, static_cast<uint32_t>(kLen));
    CHECK(WaitFor([&] { return (r.Get(kCdmaSr) & kSrIdle) == 0 || (r.Get(kCdmaSr) & kSrIocIrq) != 0; }));
    munmap(r.base, 4096);  // the kernel is destroyed with the device open and the mapping's vma held
    k.reset();
    close(ev);
    munmap(src, kLen);
    munmap(dst, kLen);
  }
  CHECK(WaitFor([&] { return CountThreads() == threads; }, 1000));
  CHECK_EQ(CountFds(), fds);
}

}  // namespace
}  // namespace selftest
