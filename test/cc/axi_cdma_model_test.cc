// axi_cdma_model_test.cc — the "axi-cdma" device model (mock/axi_cdma_model.cc, simulated hardware:
// docs/mock-device-models.md) and a device's DMA through the mock IOMMU (mock/device_model.cc):
// type1, iommufd (cdev and the compat IOAS) and noiommu, and unmaps racing a running copy.
#include <sys/eventfd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "selftest.h"

namespace selftest {
namespace {

// A copy with its completion MSI, the engine's error and reset behaviour, and DmaRead/DmaWrite, on
// a type1 container.
SELFTEST(CdmaType1) {
  auto k = BootCdma("linux-6.12");
  // the model is validated like the other specs
  std::string err;
  DeviceSpec small = CdmaSpec(3);
  small.regions[0].size = 32;
  CHECK_EQ(k->AddDevice(small, &err), -EINVAL);
  CHECK(err.find("axi-cdma") != std::string::npos);
  DeviceSpec unknown = CdmaSpec(3);
  unknown.model = "no-such-model";
  CHECK_EQ(k->AddDevice(unknown, &err), -EINVAL);
  int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Legacy l;
  CdmaRegs r;
  OpenCdmaLegacy(*k, &l, &r, ev);
  // reset values (the open reset them): CDMACR 0, CDMASR Idle (+ IRQThresholdSts 1), BTT taken
  CHECK_EQ(r.Get(kCdmaCr), 0u);
  CHECK_EQ(r.Get(kCdmaSr), kSrReset);
  CHECK_EQ(r.Get(kBtt), kBttTaken);
  CHECK_EQ(r.Get(kSa), 0u);
  // two buffers: the device reads src, writes dst
  const size_t kLen = 16 * 1024;
  uint8_t* src = MapBuffer(kLen);
  uint8_t* dst = MapBuffer(kLen);
  Fill(src, kLen, 1);
  memset(dst, 0, kLen);
  const uint64_t kSrc = 0x100000, kDst = 0x200000;
  CHECK_EQ(MapDma(*k, l.container, src, kSrc, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
  CHECK_EQ(MapDma(*k, l.container, dst, kDst, kLen, VFIO_DMA_MAP_FLAG_WRITE), 0);
  // the copy, completion by MSI vector 0
  r.Set(kCdmaCr, kCrIrqEn);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, kLen) == 0);
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrIocIrq);
  CHECK_EQ(r.Get(kBtt), kBttTaken | kLen);  // bits 25:0 read back, bit 31: taken
  CHECK_EQ(k->Status(kCdma).dma_errors, 0u);
  // the same BTT value again is a new transfer; acknowledging re-arms the interrupt
  CHECK(r.Ack());
  memset(dst, 0, kLen);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, kLen) == 0);
  // without an acknowledge the (level) interrupt stays asserted: the next completion sends no MSI
  memset(dst, 0, kLen);
  r.Program(kSrc, kDst, 4096);
  CHECK(WaitFor([&] { return memcmp(src, dst, 4096) == 0 && (r.Get(kCdmaSr) & kSrIdle); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK_EQ(ReadEventfd(ev), 0u);
  // enabling the interrupt while IOC_Irq is pending raises the line: one MSI
  CHECK(r.Ack());
  r.Set(kCdmaCr, 0);
  memset(dst, 0, kLen);
  r.Program(kSrc, kDst, 4096);
  CHECK(WaitFor([&] { return (r.Get(kCdmaSr) & kSrIocIrq) != 0; }));
  CHECK_EQ(ReadEventfd(ev), 0u);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(WaitEventfd(ev), 1u);
  // byte-exact unaligned copy; bytes around it untouched
  memset(dst, 0, kLen);
  CHECK_EQ(r.Copy(kSrc + 5, kDst + 3, 1001), kSrReset | kSrIocIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src + 5, dst + 3, 1001) == 0);
  CHECK(dst[2] == 0 && dst[3 + 1001] == 0);
  // a transfer spanning two adjacent mappings
  uint8_t* src2 = MapBuffer(kLen);
  Fill(src2, kLen, 2);
  CHECK_EQ(MapDma(*k, l.container, src2, kSrc + kLen, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
  CHECK_EQ(r.Copy(kSrc + kLen - 4096, kDst, 8192), kSrReset | kSrIocIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(dst, src + kLen - 4096, 4096) == 0 && memcmp(dst + 4096, src2, 4096) == 0);
  // unmapped source: DMADecErr + Err_Irq + MSI, Idle, nothing written
  memset(dst, 0, kLen);
  uint32_t sr = r.Copy(0x900000, kDst, 4096);
  CHECK_EQ(sr, kSrReset | kSrDmaDecErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(dst[0], 0);
  CHECK_EQ(k->Status(kCdma).dma_errors, 1u);
  // the error bits are sticky and halt the engine: Err_Irq clears, DMADecErr stays, BTT is ignored
  CHECK(r.Ack());
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrDmaDecErr);
  r.Program(kSrc, kDst, 4096);
  CHECK(WaitFor([&] { return (r.Get(kBtt) & kBttTaken) != 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrDmaDecErr);
  CHECK_EQ(dst[0], 0);
  CHECK_EQ(ReadEventfd(ev), 0u);
  // soft reset: the bit clears itself, every register back to its reset value
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  CHECK_EQ(r.Get(kCdmaSr), kSrReset);
  CHECK_EQ(r.Get(kSa), 0u);
  CHECK_EQ(r.Get(kDa), 0u);
  CHECK_EQ(r.Get(kBtt), kBttTaken);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrIocIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, 4096) == 0);
  // BTT 0: DMAIntErr
  CHECK_EQ(r.Copy(kSrc, kDst, 0), kSrReset | kSrDmaIntErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(k->Status(kCdma).dma_errors, 1u);  // not a DMA access
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  r.Set(kCdmaCr, kCrIrqEn);
  // permission faults are slave errors: writing a READ-only mapping, reading a WRITE-only one
  CHECK_EQ(r.Copy(kDst, kSrc, 4096), kSrReset | kSrDmaSlvErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(k->Status(kCdma).dma_errors, 2u);
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  r.Set(kCdmaCr, kCrIrqEn);
  // bus mastering off: the engine's requests are refused (slave error), nothing moves
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_CLEAR_MASTER), 0);
  memset(dst, 0, kLen);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrDmaSlvErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(dst[0], 0);
  CHECK_EQ(k->Status(kCdma).dma_errors, 3u);
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  // DmaRead/DmaWrite: the device's DMA from the control side, all or nothing
  uint8_t buf[64];
  CHECK_EQ(k->DmaRead(kCdma, kSrc + 100, buf, sizeof(buf)), 0);
  CHECK(memcmp(buf, src + 100, sizeof(buf)) == 0);
  memset(buf, 0x5a, sizeof(buf));
  CHECK_EQ(k->DmaWrite(kCdma, kDst + 8, buf, sizeof(buf)), 0);
  CHECK(dst[8] == 0x5a && dst[8 + 63] == 0x5a && dst[7] == 0 && dst[8 + 64] == 0);
  CHECK_EQ(k->DmaWrite(kCdma, kSrc, buf, sizeof(buf)), -EACCES);
  CHECK_EQ(k->DmaRead(kCdma, kDst, buf, sizeof(buf)), -EACCES);
  CHECK_EQ(k->DmaRead(kCdma, 0x900000, buf, sizeof(buf)), -EFAULT);
  CHECK_EQ(k->DmaRead(kCdma, kSrc + 2 * kLen - 8, buf, 16), -EFAULT);  // runs off the end of src2
  CHECK_EQ(k->DmaRead(kCdma, UINT64_MAX - 3, buf, 16), -EFAULT);       // wraps
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, 0), 0);
  CHECK_EQ(k->DmaRead("cdx-09:09", kSrc, buf, 1), -ENODEV);
  CHECK_EQ(k->Status(kCdma).dma_errors, 8u);
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_CLEAR_MASTER), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, 1), -EPERM);
  CHECK_EQ(SetMaster(*k, l.device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  // UNMAP: the translation is gone at once
  CHECK_EQ(UnmapDma(*k, l.container, kSrc + kLen, kLen), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc + kLen, buf, 1), -EFAULT);
  // process memory gone behind a live mapping (the mock cannot pin): -EIO, a slave error
  CHECK_EQ(mprotect(src, kLen, PROT_NONE), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, 1), -EIO);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrDmaSlvErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(mprotect(src, kLen, PROT_READ | PROT_WRITE), 0);
  // the last close resets the engine; the registers read their reset values again
  CHECK_EQ(k->Munmap(r.base, 4096), 0);
  CloseLegacy(*k, &l);
  uint8_t* view = nullptr;
  size_t size = 0;
  CHECK_EQ(k->DeviceRegion(kCdma, 0, 0, &view, &size), 0);
  CHECK_EQ(__atomic_load_n(reinterpret_cast<uint32_t*>(view + kCdmaSr), __ATOMIC_SEQ_CST), kSrReset);
  CHECK_EQ(__atomic_load_n(reinterpret_cast<uint32_t*>(view + kCdmaCr), __ATOMIC_SEQ_CST), 0u);
  CHECK_EQ(k->DmaRead(kCdma, kDst, buf, 1), -EPERM);  // closed: reset cleared bus mastering
  CHECK_EQ(k->OpenObjectCount(), 0u);
  close(ev);
  munmap(src, kLen);
  munmap(src2, kLen);
  munmap(dst, kLen);
}

// The same copy through the cdev: BIND_IOMMUFD, IOAS_MAP, ATTACH; then the group path with an
// iommufd (compat IOAS); then noiommu, where no translation exists.
SELFTEST(CdmaIommufd) {
  auto k = BootCdma("cdev");
  int d = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
  CHECK(d >= 0);
  int iommufd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, iommufd), 0);
  void* p = nullptr;
  CHECK_EQ(k->Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0, &p), 0);
  CdmaRegs r;
  r.base = static_cast<uint8_t*>(p);
  int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int32_t fds[1] = {ev};
  CHECK_EQ(SetIrqs(*k, d, kEvTrigger, 0, 1, fds), 0);
  CHECK_EQ(SetMaster(*k, d, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  iommu_ioas_alloc alloc = {12, 0, 0};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
  const size_t kLen = 8192;
  const uint64_t kSrc = 0x100000, kDst = 0x200000;
  uint8_t* src = MapBuffer(kLen);
  uint8_t* dst = MapBuffer(kLen);
  Fill(src, kLen, 3);
  memset(dst, 0, kLen);
  CHECK_EQ(IoasMap(*k, iommufd, alloc.out_ioas_id, src, kSrc, kLen, IOMMU_IOAS_MAP_READABLE), 0);
  CHECK_EQ(IoasMap(*k, iommufd, alloc.out_ioas_id, dst, kDst, kLen, IOMMU_IOAS_MAP_WRITEABLE), 0);
  // bound but not attached: a blocking domain
  uint8_t buf[16];
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, sizeof(buf)), -EFAULT);
  vfio_device_attach_iommufd_pt at = {12, 0, alloc.out_ioas_id};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
  CHECK_EQ(k->DmaRead(kCdma, kSrc, buf, sizeof(buf)), 0);
  CHECK(memcmp(buf, src, sizeof(buf)) == 0);
  CHECK_EQ(k->DmaWrite(kCdma, kSrc, buf, sizeof(buf)), -EACCES);
  r.Set(kCdmaCr, kCrIrqEn);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK(memcmp(src, dst, kLen) == 0);
  CHECK_EQ(r.Get(kCdmaSr), kSrReset | kSrIocIrq);
  // IOAS_UNMAP of the source: the next copy is a decode error
  iommu_ioas_unmap um = {24, alloc.out_ioas_id, kSrc, kLen};
  CHECK_EQ(Io(*k, iommufd, IOMMU_IOAS_UNMAP, &um), 0);
  CHECK_EQ(r.Copy(kSrc, kDst, 4096), kSrReset | kSrDmaDecErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  // detached: no domain any more
  vfio_device_detach_iommufd_pt dt = {8, 0};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), 0);
  CHECK_EQ(k->DmaRead(kCdma, kDst, buf, 1), -EFAULT);
  CHECK_EQ(k->Munmap(p, 4096), 0);
  k->Close(d);
  // the group path with an iommufd: the device is attached to the compat IOAS
  int g = k->Open(GroupNode(*k, kCdma), O_RDWR | O_CLOEXEC);
  CHECK(g >= 0);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_SET_CONTAINER, &iommufd), 0);
  d = static_cast<int>(Io(*k, g, VFIO_GROUP_GET_DEVICE_FD, kCdma.c_str()));
  CHECK(d >= 0);
  CHECK_EQ(SetMaster(*k, d, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
  uint32_t compat = 0;
  for (uint32_t id = 1; id < 8 && !compat; id++) {  // the compat IOAS is the one no map can reach yet
    if (IoasMap(*k, iommufd, id, src, kSrc, kLen, IOMMU_IOAS_MAP_READABLE) == 0) {
      if (k->DmaRead(kCdma, kSrc, buf, sizeof(buf)) == 0) {
        compat = id;
      } else {
        iommu_ioas_unmap u = {24, id, kSrc, kLen};
        Io(*k, iommufd, IOMMU_IOAS_UNMAP, &u);
      }
    }
  }
  CHECK(compat != 0);
  CHECK(memcmp(buf, src, sizeof(buf)) == 0);
  k->Close(d);
  CHECK_EQ(Io(*k, g, VFIO_GROUP_UNSET_CONTAINER, nullptr), 0);
  k->Close(g);
  k->Close(iommufd);
  CHECK_EQ(k->OpenObjectCount(), 0u);
  close(ev);
  // noiommu: IOVA = physical is meaningless here, so the device has no translation at all
  auto n = BootCdma("noiommu");
  ev = n->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Legacy l;
  OpenCdmaLegacy(*n, &l, &r, ev, VFIO_NOIOMMU_IOMMU);
  CHECK_EQ(n->DmaRead(kCdma, reinterpret_cast<uintptr_t>(src), buf, sizeof(buf)), -EFAULT);
  r.Set(kCdmaCr, kCrIrqEn);
  CHECK_EQ(r.Copy(reinterpret_cast<uintptr_t>(src), reinterpret_cast<uintptr_t>(dst), 4096),
           kSrReset | kSrDmaDecErr | kSrErrIrq);
  CHECK_EQ(WaitEventfd(ev), 1u);
  CHECK_EQ(n->Munmap(r.base, 4096), 0);
  CloseLegacy(*n, &l);
  close(ev);
  munmap(src, kLen);
  munmap(dst, kLen);
}

// UNMAP_DMA (and the user's memory going away) while the engine is copying: the copy either
// completes or ends in an error; nothing crashes (run it under ASan and TSan).
SELFTEST(CdmaConcurrentUnmap) {
  auto k = BootCdma("linux-6.12");
  int ev = k->Eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Legacy l;
  CdmaRegs r;
  OpenCdmaLegacy(*k, &l, &r, ev);
  const size_t kLen = 8 << 20;  // 128 chunks of 64 KiB
  const uint64_t kSrc = 0x10000000, kDst = 0x20000000;
  uint8_t* src = MapBuffer(kLen);
  uint8_t* dst = MapBuffer(kLen);
  Fill(src, kLen, 4);
  CHECK_EQ(MapDma(*k, l.container, dst, kDst, kLen, VFIO_DMA_MAP_FLAG_WRITE), 0);
  r.Set(kCdmaCr, kCrIrqEn);
  int completed = 0, faulted = 0, other = 0;
  uint64_t errors_before = k->Status(kCdma).dma_errors;
  for (int i = 0; i < 12; i++) {
    CHECK_EQ(MapDma(*k, l.container, src, kSrc, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
    CHECK(r.Ack());
    std::atomic<bool> go(false);
    std::thread unmapper([&] {
      while (!go) std::this_thread::yield();
      const int kDelayUs[4] = {0, 300, 2000, 40000};  // before the start, mid-copy, after the end
      std::this_thread::sleep_for(std::chrono::microseconds(kDelayUs[i % 4]));
      UnmapDma(*k, l.container, kSrc, kLen);
    });
    r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
    go = true;
    CHECK_EQ(WaitEventfd(ev), 1u);
    unmapper.join();
    uint32_t sr = r.Get(kCdmaSr);
    if (sr == (kSrReset | kSrIocIrq)) {
      completed++;
      CHECK(memcmp(src, dst, kLen) == 0);
    } else if (sr == (kSrReset | kSrDmaDecErr | kSrErrIrq)) {
      faulted++;
      r.Set(kCdmaCr, kCrReset | kCrIrqEn);
      CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
      r.Set(kCdmaCr, kCrIrqEn);
    } else {
      other++;
      fprintf(stderr, "iteration %d: CDMASR 0x%08x CDMACR 0x%08x BTT 0x%08x\n", i, sr, r.Get(kCdmaCr), r.Get(kBtt));
    }
  }
  CHECK_EQ(other, 0);
  CHECK_EQ(completed + faulted, 12);
  CHECK_EQ(k->Status(kCdma).dma_errors - errors_before, static_cast<uint64_t>(faulted));
  // the destination's memory disappears mid-copy (mprotect stands in for munmap, whose range
  // could be reused): a slave error or a completed copy, never a crash
  CHECK_EQ(MapDma(*k, l.container, src, kSrc, kLen, VFIO_DMA_MAP_FLAG_READ), 0);
  CHECK(r.Ack());
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(mprotect(dst, kLen, PROT_NONE), 0);
  CHECK_EQ(WaitEventfd(ev), 1u);
  uint32_t sr = r.Get(kCdmaSr);
  CHECK(sr == (kSrReset | kSrIocIrq) || sr == (kSrReset | kSrDmaSlvErr | kSrErrIrq));
  CHECK_EQ(mprotect(dst, kLen, PROT_READ | PROT_WRITE), 0);
  // closing the device in the middle of a copy resets the engine: no completion, no crash
  r.Set(kCdmaCr, kCrReset | kCrIrqEn);
  CHECK(WaitFor([&] { return r.Get(kCdmaCr) == 0; }));
  r.Set(kCdmaCr, kCrIrqEn);
  r.Program(kSrc, kDst, static_cast<uint32_t>(kLen));
  CHECK_EQ(k->Munmap(r.base, 4096), 0);
  CloseLegacy(*k, &l);
  CHECK_EQ(k->OpenObjectCount(), 0u);
  close(ev);
  munmap(src, kLen);
  munmap(dst, kLen);
}

}  // namespace
}  // namespace selftest
