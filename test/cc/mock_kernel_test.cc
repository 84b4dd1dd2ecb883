// mock_kernel_test.cc — the seam itself (mock/mock_kernel.cc): fault injection, call tracing,
// profiles, and that a MockKernel leaks no descriptor. These are the mock's own features, not
// kernel rules.
#include <sys/eventfd.h>

#include <vector>

#include "selftest.h"

namespace selftest {
namespace {

// Injected faults (skip, times, per device, each op), tracing with request names, profiles.
SELFTEST(FaultsAndTrace) {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  Fault f;
  f.op = Fault::Op::kOpen;
  f.match = "/dev/vfio/0";
  f.err = EACCES;
  f.skip = 1;
  k->InjectFault(f);
  int g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);  // skipped
  CHECK(g >= 0);
  k->Close(g);
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EACCES);
  g = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  k->Close(g);
  k->ClearFaults();
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  f = Fault();
  f.op = Fault::Op::kIoctl;
  f.match = "VFIO_DEVICE_GET_REGION_INFO";
  f.err = EIO;
  f.times = -1;
  k->InjectFault(f);
  vfio_region_info ri = {32, 0, 0, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EIO);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EIO);
  k->ClearFaults();
  f = Fault();
  f.op = Fault::Op::kMmap;
  f.match = "*";
  f.device = kDev0;
  f.err = ENOMEM;
  k->InjectFault(f);
  void* p = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), -ENOMEM);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), 0);
  k->Munmap(p, 4096);
  f = Fault();
  f.op = Fault::Op::kSysfsWrite;
  f.match = "drivers_probe";
  f.err = ENOMEM;
  k->InjectFault(f);
  CHECK_EQ(k->WriteFile("/sys/bus/cdx/drivers_probe", kDev1), -ENOMEM);
  f.op = Fault::Op::kEventfd;
  f.match = "*";
  k->InjectFault(f);
  CHECK_EQ(k->Eventfd(0, EFD_CLOEXEC), -ENOMEM);
  k->ClearFaults();
  // tracing: names resolved by the fd's object type
  k->SetTracing(true);
  vfio_iommu_type1_info ti = {16, 0, 0, 0, 0};
  Io(*k, l.container, VFIO_IOMMU_GET_INFO, &ti);
  k->Ioctl(l.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0);
  k->Ioctl(l.device, 0x3b99, 0);
  std::string s;
  k->ReadFile(kSysDev0 + "/vendor", &s);
  std::vector<CallRecord> t = k->TakeTrace();
  CHECK_EQ(t.size(), 4u);
  if (t.size() == 4) {
    CHECK_STR(t[0].name, "VFIO_IOMMU_GET_INFO");
    CHECK_EQ(t[0].fd, l.container);
    CHECK_EQ(t[0].result, 0);
    CHECK_STR(t[1].name, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
    CHECK_EQ(t[1].result, -ENOTTY);
    CHECK_STR(t[2].name, "0x3b99");
    CHECK_STR(t[3].op, "readfile");
    CHECK_STR(t[3].name, kSysDev0 + "/vendor");
  }
  k->SetTracing(false);
  CHECK_EQ(k->TakeTrace().size(), 0u);
  CloseLegacy(*k, &l);
  // profiles
  KernelConfig c;
  CHECK(!ProfileConfig("linux-9.99", &c));
  CHECK(ProfileConfig("noiommu", &c) && !c.iommu && c.noiommu_enabled && c.iommufd);
  std::string err;
  c.page_size = 12345;
  CHECK(MockKernel::Create(c, &err) == nullptr);
  CHECK(!err.empty());
}

// Every descriptor and mapping is released by closing, and by destroying the kernel with files open.
SELFTEST(NoLeaks) {
  size_t before = CountFds();
  {
    auto k = Boot("linux-6.12");
    CHECK_EQ(BindVfio(*k, kDev0), 9);
    Legacy l;
    CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
    void* p = nullptr;
    CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l.device, 0, &p), 0);
    int ev = k->Eventfd(0, EFD_CLOEXEC);
    int32_t fds[1] = {ev};
    CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, fds), 0);
    CHECK_EQ(k->Munmap(p, 4096), 0);
    CloseLegacy(*k, &l);
    k->Close(ev);
    CHECK_EQ(k->OpenObjectCount(), 0u);
    // a kernel destroyed with files still open releases them
    CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
    CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), 0);
    munmap(p, 4096);
  }
  CHECK_EQ(CountFds(), before);
}

}  // namespace
}  // namespace selftest
