// lnic_model_test.cc — the "lnic" device model (mock/lnic_model.cc, docs/lnic.md; simulated hardware
// invented for this project) and the direct DMA it uses (mock/dma_direct.cc): its own thread against
// a driver thread and a caller that unmaps, resets and switches schedulers under it (run it under
// TSan too).
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "mock/lnic_model.h"
#include "mock/lnic_regs.h"

#include "selftest.h"

namespace selftest {
namespace {

namespace L = vfiocdx::lnic;

DeviceSpec LnicSpec(uint8_t dev) {
  DeviceSpec s;
  s.dev = dev;
  s.vendor = L::kVendor;
  s.device = L::kDevice;
  s.num_msi = 2;
  s.model = "lnic";
  RegionSpec regs;
  regs.size = 0x10000;
  s.regions = {regs};
  return s;
}

struct LnicRig {
  std::shared_ptr<MockKernel> k;
  Legacy l;
  void* user_regs = nullptr;
  uint32_t* regs = nullptr;
  uint8_t* mem = nullptr;  // rings at 0 / 0x1000, write-back slots at 0x2000 / 0x2040
  uint8_t* pool = nullptr;
  const uint64_t kMem = 0x100000, kPool = 0x200000;
  static constexpr uint32_t kSize = 64;
  static constexpr size_t kPoolLen = 128 * 2048;
  uint32_t Get(uint32_t off) { return __atomic_load_n(regs + off / 4, __ATOMIC_SEQ_CST); }
  void Set(uint32_t off, uint32_t v) { __atomic_store_n(regs + off / 4, v, __ATOMIC_SEQ_CST); }
  uint32_t* Desc(bool rx, uint32_t n) { return reinterpret_cast<uint32_t*>(mem + (rx ? 0x1000 : 0) + (n % kSize) * 16); }
};

// `seam`: the DMA memory is mapped through MockKernel::Mmap (the model reaches it directly);
// otherwise with mmap(2) behind the mock's back (the model copies through uaccess).
void OpenLnic(LnicRig* r, bool seam) {
  r->k = Boot("linux-6.12");
  std::string err;
  CHECK_EQ(r->k->AddDevice(LnicSpec(4), &err), 0);
  CHECK_EQ(BindVfio(*r->k, "cdx-00:04"), 9);
  CHECK_EQ(OpenLegacy(*r->k, "cdx-00:04", &r->l), 0);
  void* p = nullptr;
  CHECK_EQ(r->k->Mmap(nullptr, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, r->l.device, 0, &p), 0);
  r->user_regs = p;
  // The registers are reached through the device-side view, the very addresses the model uses:
  // the user's mapping is a second mapping of the same memfd, and ThreadSanitizer, which tracks
  // addresses, would not see a doorbell store there synchronise with the model's load.
  uint8_t* view = nullptr;
  size_t size = 0;
  CHECK_EQ(r->k->DeviceRegion("cdx-00:04", 0, 0, &view, &size), 0);
  r->regs = reinterpret_cast<uint32_t*>(view);
  if (seam) {
    void* m = nullptr;
    CHECK_EQ(r->k->Mmap(nullptr, 0x3000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, &m), 0);
    r->mem = static_cast<uint8_t*>(m);
    CHECK_EQ(r->k->Mmap(nullptr, LnicRig::kPoolLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, &m), 0);
    r->pool = static_cast<uint8_t*>(m);
  } else {
    r->mem = MapBuffer(0x3000);
    r->pool = MapBuffer(LnicRig::kPoolLen);
  }
  uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  CHECK_EQ(MapDma(*r->k, r->l.container, r->mem, r->kMem, 0x3000, rw), 0);
  CHECK_EQ(MapDma(*r->k, r->l.container, r->pool, r->kPool, LnicRig::kPoolLen, rw), 0);
  CHECK_EQ(SetMaster(*r->k, r->l.device, VFIO_DEVICE_FEATURE_SET_MASTER), 0);
}

// After a reset: both rings set up again, the device enabled (loopback).
void ProgramLnic(LnicRig* r) {
  CHECK(WaitFor([&] { return r->Get(L::kStatus) == L::kStatusReady; }));
  for (auto [block, off] : {std::pair<uint32_t, uint64_t>{L::kTxq, 0}, {L::kRxq, 0x1000}}) {
    r->Set(block + L::kQBaseLo, static_cast<uint32_t>(r->kMem + off));
    r->Set(block + L::kQBaseHi, 0);
    r->Set(block + L::kQSize, LnicRig::kSize);
    r->Set(block + L::kQHwbLo, static_cast<uint32_t>(r->kMem + 0x2000 + off / 0x40));
    r->Set(block + L::kQHwbHi, 0);
    r->Set(block + L::kQCtrl, L::kQCtrlEnable | L::kQCtrlHwb);
  }
  r->Set(L::kCtrl, L::kCtrlEnable);
}

void CloseLnic(LnicRig* r, bool seam) {
  r->k->Munmap(r->user_regs, 0x10000);
  if (seam) {
    r->k->Munmap(r->mem, 0x3000);
    r->k->Munmap(r->pool, LnicRig::kPoolLen);
  } else {
    munmap(r->mem, 0x3000);
    munmap(r->pool, LnicRig::kPoolLen);
  }
  CloseLegacy(*r->k, &r->l);
  CHECK_EQ(r->k->OpenObjectCount(), 0u);
}

// A loopback driver on freshly programmed rings: 32 frames in flight, buffer i carries its frame
// number; returns the frames that came back intact, stopping after `frames`, at `stop`, or when
// the device halts.
uint32_t LnicLoop(LnicRig* r, uint32_t frames, const std::atomic<bool>* stop) {
  uint32_t tx = 0, rx = 0, ok = 0;
  for (uint32_t i = 0; i < LnicRig::kSize; i++) {  // post every RX slot: buffers 64..127
    uint32_t* d = r->Desc(true, i);
    d[0] = static_cast<uint32_t>(r->kPool + (64 + i) * 2048);
    d[1] = 0;
    d[2] = 2048;
    __atomic_store_n(&d[3], 64 + i, __ATOMIC_RELAXED);
  }
  r->Set(L::kRxq + L::kQPidx, LnicRig::kSize);
  uint32_t rx_posted = LnicRig::kSize;
  while (ok < frames && !(r->Get(L::kStatus) & L::kStatusHalted) && !(stop && *stop)) {
    while (tx - rx < 32 && tx < frames) {  // TX buffer = tx % 32, holding its number
      uint32_t b = tx % 32;
      memcpy(r->pool + b * 2048, &tx, 4);
      uint32_t* d = r->Desc(false, tx);
      d[0] = static_cast<uint32_t>(r->kPool + b * 2048);
      d[1] = 0;
      d[2] = 60;
      d[3] = b;
      tx++;
    }
    r->Set(L::kTxq + L::kQPidx, tx);
    uint32_t* d = r->Desc(true, rx);
    if (!(__atomic_load_n(&d[3], __ATOMIC_ACQUIRE) >> 16 & L::kFlagDd)) {
      std::this_thread::yield();
      continue;
    }
    uint32_t got = 0;
    memcpy(&got, r->pool + (d[3] & 0xffff) * 2048, 4);
    ok += got == rx && d[2] == 60;
    __atomic_store_n(&d[3], d[3] & 0xffff, __ATOMIC_RELAXED);  // re-post the same buffer
    rx++;
    r->Set(L::kRxq + L::kQPidx, ++rx_posted);
  }
  return ok;
}

// Traffic through the rings under every scheduler, a fault latched when the pool is unmapped
// under it, recovery by reset, and the port of a device whose kernel is gone.
SELFTEST(Lnic) {
  for (bool seam : {true, false}) {
    LnicRig r;
    OpenLnic(&r, seam);
    std::shared_ptr<vfiocdx::mock::LnicPort> port;
    CHECK_EQ(r.k->Lnic("cdx-00:04", &port), 0);
    CHECK_EQ(r.k->Lnic("cdx-00:00", &port), -EINVAL);  // the cdx-test model
    CHECK_EQ(r.k->Lnic("cdx-00:04", &port), 0);
    CHECK_EQ(port->SetScheduler(vfiocdx::mock::LnicScheduler::kBusy, -1), 0);
    ProgramLnic(&r);
    // Traffic on a driver thread while this thread switches schedulers and steps when stepped.
    std::atomic<bool> done(false);
    uint32_t ok = 0;
    std::thread driver([&] {
      ok = LnicLoop(&r, 3000, nullptr);
      done = true;
    });
    int round = 0;
    while (!done) {
      auto s = static_cast<vfiocdx::mock::LnicScheduler>(round++ % 3);
      CHECK_EQ(port->SetScheduler(s, -1), 0);
      for (int i = 0; i < 200 && !done; i++) {
        if (s == vfiocdx::mock::LnicScheduler::kStepped) {
          CHECK(port->Step(16, 1000) >= 0);
        } else {
          CHECK_EQ(port->Step(16, 0), -EBUSY);
          std::this_thread::yield();
        }
      }
    }
    driver.join();
    CHECK_EQ(ok, 3000u);
    CHECK_EQ(r.Get(L::kErr), 0u);
    CHECK_EQ(r.k->Status("cdx-00:04").dma_errors, 0u);
    // The pool unmapped under running traffic: a fault, latched and counted; never a crash.
    CHECK_EQ(port->SetScheduler(vfiocdx::mock::LnicScheduler::kBusy, -1), 0);
    r.Set(L::kCtrl, L::kCtrlReset);
    CHECK(WaitFor([&] { return r.Get(L::kCtrl) == 0; }));
    ProgramLnic(&r);
    std::atomic<bool> stop(false);
    std::thread driver2([&] { LnicLoop(&r, 1u << 30, &stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK_EQ(UnmapDma(*r.k, r.l.container, r.kPool, LnicRig::kPoolLen), 0);
    CHECK(WaitFor([&] { return (r.Get(L::kStatus) & L::kStatusHalted) != 0; }));
    stop = true;
    driver2.join();
    CHECK((r.Get(L::kErr) & (L::kErrTxBufFault | L::kErrRxBufFault)) != 0);
    uint64_t at = r.Get(L::kErrIovaLo) | static_cast<uint64_t>(r.Get(L::kErrIovaHi)) << 32;
    CHECK(at >= r.kPool && at < r.kPool + LnicRig::kPoolLen);
    CHECK(r.k->Status("cdx-00:04").dma_errors > 0);
    // A reset (CTRL.RESET) brings it back.
    r.Set(L::kCtrl, L::kCtrlReset);
    CHECK(WaitFor([&] { return r.Get(L::kCtrl) == 0 && r.Get(L::kStatus) == L::kStatusReady; }));
    CHECK_EQ(r.Get(L::kErr), 0u);
    CloseLnic(&r, seam);
    // The device is gone with its kernel: the port answers -ENODEV, never touches freed memory.
    r.k.reset();
    CHECK_EQ(port->Step(1, 0), -ENODEV);
    CHECK_EQ(port->SetScheduler(vfiocdx::mock::LnicScheduler::kStepped, -1), -ENODEV);
  }
}

}  // namespace
}  // namespace selftest
