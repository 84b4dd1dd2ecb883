// vfio_cdx_test.cc — drivers/vfio/cdx/main.c (mock/vfio_cdx.cc): the vfio-cdx driver's
// open/close, info ioctls, reset, bus-master feature and mmap, reached through the device-fd
// operations of drivers/vfio/vfio_main.c (mock/vfio_main.cc). Rules: K-CDX-1..5, K-CDX-7..11,
// K-CORE-2..5, K-CORE-7, K-UACCESS-1.
#include <cstring>

#include "selftest.h"

namespace selftest {
namespace {

// K-UACCESS-1, K-CORE-3, K-CORE-4, K-CDX-3..5, K-CDX-8, K-GROUP-2, K-CONT-4: ioctl dispatch on
// every fd type, and GET_INFO, GET_REGION_INFO, GET_IRQ_INFO of both fixture devices.
SELFTEST(DispatchAndInfo) {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  // unknown ioctls
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_IOEVENTFD, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0), -ENOTTY);  // group-path fd
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_BIND_IOMMUFD, 0), -ENOTTY);  // no CONFIG_VFIO_DEVICE_CDEV
  CHECK_EQ(k->Ioctl(l.group, 0x3b99, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(l.container, 0x3b99, 0), -ENOTTY);  // type1 set
  int fresh = k->Open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  CHECK_EQ(k->Ioctl(fresh, 0x3b99, 0), -EINVAL);  // no IOMMU driver yet
  CHECK_EQ(k->Ioctl(fresh, VFIO_IOMMU_GET_INFO, 0), -EINVAL);
  CHECK_EQ(k->Ioctl(fresh, VFIO_GET_API_VERSION, 0), 0);
  k->Close(fresh);
  // read/write → EINVAL; only mmap
  char b[8];
  CHECK_EQ(k->Read(l.device, b, sizeof(b)), -EINVAL);
  CHECK_EQ(k->Write(l.device, b, sizeof(b)), -EINVAL);
  CHECK_EQ(k->Read(l.container, b, sizeof(b)), -EINVAL);
  // GET_INFO: EFAULT, EINVAL, exactly 16 bytes read/written, the rest echoed
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_GET_INFO, 0), -EFAULT);
  Guarded g;
  auto* gi = static_cast<vfio_device_info*>(g.Tail(VFIO_DEVICE_INFO_MINSZ));
  gi->argsz = 24;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, gi), 0);  // a 24-byte argsz, only 16 readable
  CHECK_EQ(gi->flags, VFIO_DEVICE_FLAGS_CDX | VFIO_DEVICE_FLAGS_RESET);
  auto* gi15 = static_cast<vfio_device_info*>(g.Tail(15));
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, gi15), -EFAULT);
  vfio_device_info info;
  memset(&info, 0xab, sizeof(info));
  info.argsz = 15;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
  info.argsz = 4096;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.argsz, 4096u);
  CHECK_EQ(info.flags, 0x101u);
  CHECK_EQ(info.num_regions, Fixture(0).regions.size());
  CHECK_EQ(info.num_irqs, 1u);
  CHECK_EQ(info.cap_offset, 0xababababu);
  CHECK_EQ(info.pad, 0xababababu);
  // GET_REGION_INFO
  vfio_region_info ri;
  memset(&ri, 0, sizeof(ri));
  ri.argsz = 31;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EINVAL);
  ri.argsz = 32;
  ri.index = 2;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), -EINVAL);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, g.Tail(31)), -EFAULT);
  ri.index = 1;
  ri.cap_offset = 0x1234;
  ri.argsz = 100;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  CHECK_EQ(ri.argsz, 100u);
  CHECK_EQ(ri.index, 1u);
  CHECK_EQ(ri.cap_offset, 0x1234u);
  CHECK_EQ(ri.offset, 1ull << 40);
  CHECK_EQ(ri.size, Fixture(0).regions[1].size);
  CHECK_EQ(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP);
  ri.index = 0;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  CHECK_EQ(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP);
  CHECK_EQ(ri.offset, 0u);
  // GET_IRQ_INFO
  vfio_irq_info ii = {16, 0, 1, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
  ii = {15, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_GET_IRQ_INFO, 8), -EFAULT);
  ii = {16, 0, 0, 0};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
  CHECK_EQ(ii.flags, 0x9u);
  CHECK_EQ(ii.count, Fixture(0).num_msi);
  // the second device: 64 KiB (mmap) + 2 KiB (no MMAP), no MSI
  Legacy l1;
  l1.container = -1;
  l1.group = k->Open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK(l1.group >= 0);
  CHECK_EQ(Io(*k, l1.group, VFIO_GROUP_SET_CONTAINER, &l.container), 0);  // a second group, same container
  l1.device = static_cast<int>(Io(*k, l1.group, VFIO_GROUP_GET_DEVICE_FD, kDev1.c_str()));
  CHECK(l1.device >= 0);
  info.argsz = 16;
  CHECK_EQ(Io(*k, l1.device, VFIO_DEVICE_GET_INFO, &info), 0);
  CHECK_EQ(info.num_irqs, 0u);
  ri = {32, 0, 1, 0, 0, 0};
  CHECK_EQ(Io(*k, l1.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
  CHECK_EQ(ri.size, Fixture(1).regions[1].size);
  CHECK_EQ(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
  ii = {16, 0, 0, 0};
  CHECK_EQ(Io(*k, l1.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
  CloseLegacy(*k, &l1);
  CloseLegacy(*k, &l);
}

// K-CORE-2, K-CORE-5, K-CORE-7, K-CDX-1, K-CDX-2, K-CDX-7, K-CDX-9: first open and last close
// reset, VFIO_DEVICE_FEATURE and bus mastering, VFIO_DEVICE_RESET and controller failures.
SELFTEST(OpenCloseResetFeature) {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(k->Status(kDev0).resets, 0u);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  CHECK_EQ(k->Status(kDev0).resets, 1u);  // reset on first open
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  CHECK_EQ(Reg(*k, kDev0, kRegResetCount), 1u);
  int fd2 = static_cast<int>(Io(*k, l.group, VFIO_GROUP_GET_DEVICE_FD, kDev0.c_str()));
  CHECK(fd2 >= 0);
  CHECK_EQ(k->Status(kDev0).resets, 1u);  // not on the second open
  CHECK_EQ(k->Status(kDev0).open_count, 2u);
  CHECK_EQ(fcntl(fd2, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  // bus master: PROBE → 0; SET with op 1/0; GET → EINVAL; op 2 → EINVAL; short argsz → EINVAL
  uint32_t f[3] = {0, 0, 0};  // struct vfio_device_feature + struct vfio_device_feature_bus_master
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), 0);
  f[0] = 8;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), 0);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = (1u << 19) | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 11;
  f[1] = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);  // neither GET nor SET
  f[0] = 7;
  f[1] = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_SET | 1;  // MIGRATION: core feature, no mig_ops
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_SET | 11;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  f[0] = 12;
  f[1] = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  f[2] = 2;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -EINVAL);
  f[2] = VFIO_DEVICE_FEATURE_SET_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), 0);
  CHECK(k->Status(kDev0).bus_master);
  CHECK_EQ(Reg(*k, kDev0, kRegBusMaster), 1u);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_FEATURE, 0), -EFAULT);
  // the op is read from the data after the header: fault there → EFAULT
  Guarded g;
  auto* tail = static_cast<vfio_device_feature*>(g.Tail(8));
  *tail = {12, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, tail), -EFAULT);
  // RESET returns the controller's result and does not touch MSI/trigger state
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_RESET, 0), 0);
  CHECK_EQ(k->Status(kDev0).resets, 2u);
  CHECK(!k->Status(kDev0).bus_master);  // the model's reset clears bus mastering
  Fault fault;
  fault.op = Fault::Op::kController;
  fault.match = "reset";
  fault.err = EIO;
  k->InjectFault(fault);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_RESET, 0), -EIO);
  CHECK_EQ(k->Status(kDev0).resets, 2u);
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_RESET, 0), 0);  // times = 1
  // last close resets; close order does not matter
  k->Close(l.group);
  l.group = -1;
  CHECK_EQ(k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC), -EBUSY);  // the device files hold the group file
  k->Close(fd2);
  CHECK_EQ(k->Status(kDev0).open_count, 1u);
  uint64_t before = k->Status(kDev0).resets;
  k->Close(l.device);
  l.device = -1;
  CHECK_EQ(k->Status(kDev0).open_count, 0u);
  CHECK_EQ(k->Status(kDev0).resets, before + 1);
  // the group file was released with the last device: it can be opened again
  l.group = k->Open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
  CHECK(l.group >= 0);
  vfio_group_status st = {8, 0};
  CHECK_EQ(Io(*k, l.group, VFIO_GROUP_GET_STATUS, &st), 0);
  CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
  CloseLegacy(*k, &l);
  // a reset failure at open aborts the open with that errno
  k->InjectFault(fault);
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), -EIO);
  CHECK_EQ(k->Status(kDev0).open_count, 0u);
  CloseLegacy(*k, &l);
  // clear-master failure at open: open works, BME_SUPPORT unset → FEATURE ENOTTY even for PROBE
  fault.match = "clear_master";
  k->InjectFault(fault);
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  f[0] = 8;
  f[1] = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  CloseLegacy(*k, &l);
  // a controller without bus-master support never sets BME_SUPPORT
  k->ClearFaults();
  DeviceSpec d = Fixture(0);
  d.dev = 5;
  d.bus_master_supported = false;
  std::string err;
  CHECK_EQ(k->AddDevice(d, &err), 0);
  CHECK_EQ(BindVfio(*k, "cdx-00:05"), 9);
  CHECK_EQ(OpenLegacy(*k, "cdx-00:05", &l), 0);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_FEATURE, f), -ENOTTY);
  CloseLegacy(*k, &l);
}

// K-CDX-10, K-CDX-11: mmap of the regions, read-only and non-mmappable ones, at emulated 16 KiB pages.
SELFTEST(Mmap) {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  void* p = nullptr;
  const int rw = PROT_READ | PROT_WRITE;
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 0, &p), 0);
  uint8_t* dev = nullptr;
  size_t size = 0;
  CHECK_EQ(k->DeviceRegion(kDev0, 0, 0, &dev, &size), 0);
  CHECK_EQ(size, Fixture(0).regions[0].size);
  uint32_t id;
  memcpy(&id, static_cast<uint8_t*>(p) + kRegId, 4);
  CHECK_EQ(id, kIdBase | Fixture(0).dev);
  static_cast<uint8_t*>(p)[kRegScratch] = 0x5a;
  CHECK_EQ(dev[kRegScratch], 0x5a);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  // read-only region: PROT_WRITE → EPERM (shared and private), read-only mapping works
  int64_t r1 = static_cast<int64_t>(VfioCdxIndexToOffset(1));
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, r1, &p), -EPERM);
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_PRIVATE, l.device, r1, &p), -EPERM);
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, r1, &p), 0);
  uint32_t w;
  memcpy(&w, static_cast<uint8_t*>(p) + 8, 4);
  CHECK_EQ(w, InitWord(Fixture(0).regions[1], 8));
  CHECK_EQ(k->Munmap(p, 4096), 0);
  // bad index, overrun, alignment, length 0
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, static_cast<int64_t>(VfioCdxIndexToOffset(2)), &p),
           -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 8192, rw, MAP_SHARED, l.device, 0, &p), -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 4096, &p), -EINVAL);  // past the 4K region
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 100, &p), -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 0, rw, MAP_SHARED, l.device, 0, &p), -EINVAL);
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l.container, 0, &p), -ENODEV);
  // partial mappings at a page offset inside the 64 KiB region; non-mmappable 2 KiB region
  Legacy l1;
  l1.group = k->Open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Io(*k, l1.group, VFIO_GROUP_SET_CONTAINER, &l.container), 0);
  l1.device = static_cast<int>(Io(*k, l1.group, VFIO_GROUP_GET_DEVICE_FD, kDev1.c_str()));
  CHECK_EQ(k->Mmap(nullptr, 8192, rw, MAP_SHARED, l1.device, 16384, &p), 0);
  static_cast<uint8_t*>(p)[1] = 7;
  CHECK_EQ(k->DeviceRegion(kDev1, 0, 0, &dev, &size), 0);
  CHECK_EQ(dev[16385], 7);
  // the mapping keeps the device file alive: close then munmap runs the last close
  uint64_t resets = k->Status(kDev1).resets;
  k->Close(l1.device);
  l1.device = -1;
  CHECK_EQ(k->Status(kDev1).open_count, 1u);
  CHECK_EQ(k->Munmap(static_cast<uint8_t*>(p) + 4096, 4096), 0);  // split: still one page mapped
  CHECK_EQ(k->Status(kDev1).open_count, 1u);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  CHECK_EQ(k->Status(kDev1).open_count, 0u);
  CHECK_EQ(k->Status(kDev1).resets, resets + 1);
  l1.device = static_cast<int>(Io(*k, l1.group, VFIO_GROUP_GET_DEVICE_FD, kDev1.c_str()));
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_SHARED, l1.device, static_cast<int64_t>(VfioCdxIndexToOffset(1)), &p),
           -EINVAL);
  // MAP_ANONYMOUS ignores the fd
  CHECK_EQ(k->Mmap(nullptr, 4096, rw, MAP_PRIVATE | MAP_ANONYMOUS, l1.device, 0, &p), 0);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  CloseLegacy(*k, &l1);
  CloseLegacy(*k, &l);

  // emulated 16 KiB pages: a 4 KiB region has no MMAP flag; offsets must be 16 KiB aligned
  if (kPage == 4096) {
    auto k16 = Boot("linux-6.12", 16384);
    CHECK_EQ(BindVfio(*k16, kDev0), 9);
    CHECK_EQ(BindVfio(*k16, kDev1), 9);
    CHECK_EQ(OpenLegacy(*k16, kDev0, &l), 0);
    vfio_region_info ri = {32, 0, 0, 0, 0, 0};
    CHECK_EQ(Io(*k16, l.device, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
    CHECK_EQ(ri.flags & VFIO_REGION_INFO_FLAG_MMAP, 0u);
    CHECK_EQ(k16->Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, l.device, 0, &p), -EINVAL);
    CloseLegacy(*k16, &l);
    CHECK_EQ(OpenLegacy(*k16, kDev1, &l), 0);
    CHECK_EQ(k16->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 4096, &p), -EINVAL);
    CHECK_EQ(k16->Mmap(nullptr, 4096, rw, MAP_SHARED, l.device, 16384, &p), 0);
    CHECK_EQ(k16->Munmap(p, 16384), 0);
    CloseLegacy(*k16, &l);
  }
}

}  // namespace
}  // namespace selftest
