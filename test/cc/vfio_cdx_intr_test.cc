// vfio_cdx_intr_test.cc — drivers/vfio/cdx/intr.c (mock/vfio_cdx_intr.cc): MSI and the eventfd
// triggers of VFIO_DEVICE_SET_IRQS, after the validation of drivers/vfio/vfio_main.c
// (vfio_set_irqs_validate_and_prepare, mock/vfio_main.cc). Rules: K-CDX-6, K-CORE-6, K-IRQ-1..7.
#include <poll.h>
#include <sys/eventfd.h>

#include <cstring>

#include "selftest.h"

namespace selftest {
namespace {

// K-CDX-6, K-CORE-6, K-IRQ-1..7: validation order, attaching and detaching vectors, loopback,
// MSIs raised by the device (control side and the cdx-test doorbell), teardown at last close.
SELFTEST(SetIrqs) {
  auto k = Boot("linux-6.12");
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  CHECK_EQ(BindVfio(*k, kDev1), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  const uint32_t kEv = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  const uint32_t kNone = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
  const uint32_t kBool = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
  int ev[4];
  for (int& e : ev) e = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  // validation order
  CHECK_EQ(k->Ioctl(l.device, VFIO_DEVICE_SET_IRQS, 0), -EFAULT);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0, nullptr, 19), -EINVAL);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0, nullptr, 20, 1), -EINVAL);  // index
  CHECK_EQ(SetIrqs(*k, l.device, kNone | 0x40, 0, 0), -EINVAL);  // unknown flag bits
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 4, 0), -EINVAL);  // start >= num_msi, even with count 0
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 2, 3), -EINVAL);  // start + count > num_msi
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 1, 0xffffffffu), -EINVAL);  // count >= U32_MAX - start
  CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1), -EINVAL);  // no DATA type
  CHECK_EQ(SetIrqs(*k, l.device, kNone | VFIO_IRQ_SET_DATA_BOOL, 0, 1), -EINVAL);  // two DATA types
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 2, ev, 27), -EINVAL);  // argsz - 20 < count * 4
  CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK, 0, 1, ev), -EINVAL);
  CHECK_EQ(SetIrqs(*k, l.device, VFIO_IRQ_SET_DATA_EVENTFD, 0, 1, ev), -EINVAL);  // no ACTION at all
  // loopback before any EVENTFD setup → EINVAL (the 2026 stable fix)
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 1), -EINVAL);
  CHECK_EQ(SetIrqs(*k, l.device, kBool, 0, 0), -EINVAL);
  // count 0 + DATA_NONE = disable, always 0
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), 0);
  // the data is read after validation: a fault there is EFAULT
  Guarded g;
  auto* hdr = static_cast<vfio_irq_set*>(g.Tail(20));
  *hdr = {24, kEv, 0, 0, 1};
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_SET_IRQS, hdr), -EFAULT);
  CHECK(!k->Status(kDev0).msi_enabled);
  // attach all four; MSI enabled; the model's MSI table is programmed
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 4, ev), 0);
  CHECK(k->Status(kDev0).msi_enabled);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiEnable), 1u);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiTable + kMsiEntrySize * 3 + 8), 3u);  // vector 3's data
  // loopback NONE signals +1 per vector; BOOL only where data != 0
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 1, 2), 0);
  CHECK_EQ(ReadEventfd(ev[1]), 1u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);
  CHECK_EQ(ReadEventfd(ev[0]), 0u);
  uint32_t bs[6] = {24, kBool, 0, 0, 4, 0};
  const uint8_t bools[4] = {1, 0, 1, 0};
  memcpy(&bs[5], bools, 4);
  CHECK_EQ(Io(*k, l.device, VFIO_DEVICE_SET_IRQS, bs), 0);
  CHECK_EQ(ReadEventfd(ev[0]), 1u);
  CHECK_EQ(ReadEventfd(ev[1]), 0u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);
  // the kernel keeps its own reference: closing the user's eventfd does not detach the vector
  int extra = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int keep = dup(extra);
  int32_t one[1] = {extra};
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 3, 1, one), 0);
  k->Close(extra);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 3, 1), 0);
  CHECK_EQ(ReadEventfd(keep), 1u);
  // negative fds de-assign (any negative value)
  int32_t neg[1] = {-7};
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 1, 1, neg), 0);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 4), 0);
  CHECK_EQ(ReadEventfd(ev[1]), 0u);
  CHECK_EQ(ReadEventfd(ev[0]), 1u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);
  CHECK_EQ(ReadEventfd(keep), 1u);
  // a failure at vector k de-assigns [start..k], keeps the rest
  int32_t bad[3] = {ev[0], 999, ev[2]};  // 999: not an open fd → EBADF
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 3, bad), -EBADF);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 4), 0);
  CHECK_EQ(ReadEventfd(ev[0]), 0u);
  CHECK_EQ(ReadEventfd(ev[2]), 1u);  // vector 2 untouched
  CHECK_EQ(ReadEventfd(keep), 1u);   // vector 3 untouched
  int32_t notev[1] = {l.container};  // open, but not an eventfd → EINVAL
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 2, 1, notev), -EINVAL);
  CHECK(k->Status(kDev0).msi_enabled);  // MSI was enabled before this call: stays enabled
  // the device raises MSIs: through the control side and through the model's doorbell register
  CHECK_EQ(k->RaiseMsi(kDev0, 3), 0);
  CHECK_EQ(ReadEventfd(keep), 1u);
  CHECK_EQ(k->RaiseMsi(kDev0, 2), -EAGAIN);  // vector 2 lost its trigger in the failed call above
  CHECK_EQ(k->RaiseMsi(kDev0, 1), -EAGAIN);  // no trigger on vector 1 (de-assigned above)
  CHECK_EQ(k->RaiseMsi(kDev0, 4), -EINVAL);
  CHECK_EQ(k->RaiseMsi("cdx-09:09", 0), -ENODEV);
  void* regs = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l.device, 0, &regs), 0);
  uint32_t fired_before = Reg(*k, kDev0, kRegMsiFired);
  auto* doorbell = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(regs) + kRegMsiDoorbell);
  __atomic_store_n(doorbell, 3u + 1, __ATOMIC_SEQ_CST);  // vector v + 1: raise vector 3
  struct pollfd pfd = {keep, POLLIN, 0};
  CHECK_EQ(poll(&pfd, 1, 5000), 1);  // a functional check, not a latency one
  CHECK_EQ(ReadEventfd(keep), 1u);
  CHECK_EQ(__atomic_load_n(doorbell, __ATOMIC_SEQ_CST), 0u);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiFired), fired_before + 1);
  CHECK_EQ(k->Munmap(regs, 4096), 0);
  // full disable, then: a failing call that enabled MSI disables it again
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), 0);
  CHECK(!k->Status(kDev0).msi_enabled);
  CHECK_EQ(Reg(*k, kDev0, kRegMsiEnable), 0u);
  int32_t bad1[1] = {999};
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 1, bad1), -EBADF);
  CHECK(!k->Status(kDev0).msi_enabled);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 1), -EINVAL);  // not configured again
  // EVENTFD with count 0 enables MSI with no triggers
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 0, ev), 0);
  CHECK(k->Status(kDev0).msi_enabled);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 4), 0);  // nothing attached: silently skipped
  // TRIGGER|MASK is accepted as TRIGGER
  CHECK_EQ(SetIrqs(*k, l.device, kEv | VFIO_IRQ_SET_ACTION_MASK, 0, 1, ev), 0);
  // a controller error on MSI enable comes back as is
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), 0);
  Fault fault;
  fault.op = Fault::Op::kController;
  fault.match = "msi_enable";
  fault.err = ENOSPC;
  k->InjectFault(fault);
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 1, ev), -ENOSPC);
  CHECK(!k->Status(kDev0).msi_enabled);
  // last close tears MSI down and releases the kernel's eventfd references
  CHECK_EQ(SetIrqs(*k, l.device, kEv, 0, 4, ev), 0);
  size_t objects = k->OpenObjectCount();
  CHECK(objects >= 7);  // 3 fds + 4 triggers
  CloseLegacy(*k, &l);
  CHECK(!k->Status(kDev0).msi_enabled);
  CHECK_EQ(k->OpenObjectCount(), 0u);
  // a device without MSI: every SET_IRQS fails in validation
  CHECK_EQ(OpenLegacy(*k, kDev1, &l), 0);
  CHECK_EQ(SetIrqs(*k, l.device, kNone, 0, 0), -EINVAL);
  CloseLegacy(*k, &l);
  for (int e : ev) close(e);
  close(keep);
}

}  // namespace
}  // namespace selftest
