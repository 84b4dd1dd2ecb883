// bench_loops.cc — the C side of `npm run bench`: the same operations the JavaScript API
// performs, as tight C loops in the same process on the same mapping / the same kernel, so the
// benchmark can print honest ratios. The kernel is reached through the library's C hooks
// (src-native/bench_hooks.h): the loops run on the very MockKernel object the API uses.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <thread>
#include <vector>

#include "abi.h"
#include "bench_util.h"

namespace bench {

namespace {

using vfiocdx::abi::vfio_iommu_type1_dma_map;
using vfiocdx::abi::vfio_iommu_type1_dma_unmap;

volatile uint32_t g_sink;  // keeps the load loop from being optimised away

double Elapsed(int64_t t0) { return static_cast<double>(NowNs() - t0); }

// read32Loop(buffer, offset, n) → ns for n volatile 32-bit loads.
Napi::Value Read32Loop(const Napi::CallbackInfo& info) {
  size_t len = 0;
  uint8_t* base = Bytes(info[0], &len, "buffer");
  uint32_t off = static_cast<uint32_t>(Num(info, 1, "offset"));
  uint32_t n = static_cast<uint32_t>(Num(info, 2, "n"));
  if (off % 4 || off + 4 > len) Fail(info.Env(), "offset outside the buffer");
  auto* p = reinterpret_cast<volatile uint32_t*>(base + off);
  uint32_t sink = 0;
  int64_t t0 = NowNs();
  for (uint32_t i = 0; i < n; i++) sink += *p;
  double ns = Elapsed(t0);
  g_sink = sink;
  return Napi::Number::New(info.Env(), ns);
}

// write32Loop(buffer, offset, n) → ns for n volatile 32-bit stores.
Napi::Value Write32Loop(const Napi::CallbackInfo& info) {
  size_t len = 0;
  uint8_t* base = Bytes(info[0], &len, "buffer");
  uint32_t off = static_cast<uint32_t>(Num(info, 1, "offset"));
  uint32_t n = static_cast<uint32_t>(Num(info, 2, "n"));
  if (off % 4 || off + 4 > len) Fail(info.Env(), "offset outside the buffer");
  auto* p = reinterpret_cast<volatile uint32_t*>(base + off);
  int64_t t0 = NowNs();
  for (uint32_t i = 0; i < n; i++) *p = i;
  return Napi::Number::New(info.Env(), Elapsed(t0));
}

// ioctlLoop(kernelHooks, fd, request, argBuffer | null, n) → ns for n ioctls through the same
// Kernel object the API uses (the mock, or the real kernel).
Napi::Value IoctlLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const VfioCdxKernelHooks* k = KernelHooks(info[0]);
  int fd = static_cast<int>(Num(info, 1, "fd"));
  unsigned long request = static_cast<unsigned long>(Num(info, 2, "request"));
  std::vector<uint8_t> copy;
  if (info[3].IsTypedArray()) {
    size_t len = 0;
    uint8_t* p = Bytes(info[3], &len, "arg");
    copy.assign(p, p + len);
  }
  uint32_t n = static_cast<uint32_t>(Num(info, 4, "n"));
  long last = 0;
  int64_t t0 = NowNs();
  for (uint32_t i = 0; i < n; i++) {
    uintptr_t arg = copy.empty() ? 0 : reinterpret_cast<uintptr_t>(copy.data());
    last = k->ioctl(k->ctx, fd, request, arg);
  }
  double ns = Elapsed(t0);
  if (last < 0) Fail(env, "the ioctl failed: " + std::to_string(last));
  return Napi::Number::New(env, ns);
}

// msiRaiseSeries(kernelHooks, device, vector, n, intervalUs) → Float64Array of the
// CLOCK_MONOTONIC ns at which a device-model-like thread raised each MSI. Returns at once; the
// thread fills the array as it goes (a JS handler takes its own timestamps with
// process.hrtime.bigint(), the same clock). The thread holds its own reference to the kernel.
Napi::Value MsiRaiseSeries(const Napi::CallbackInfo& info) {
  const VfioCdxKernelHooks* k = KernelHooks(info[0]);
  std::string device = info[1].ToString().Utf8Value();
  uint32_t vector = static_cast<uint32_t>(Num(info, 2, "vector"));
  uint32_t n = static_cast<uint32_t>(Num(info, 3, "n"));
  uint32_t interval = static_cast<uint32_t>(Num(info, 4, "intervalUs"));
  auto times = std::make_shared<std::vector<double>>(n, 0.0);
  auto* keep = new std::shared_ptr<std::vector<double>>(times);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      info.Env(), times->data(), n * sizeof(double),
      [](Napi::Env, void*, std::shared_ptr<std::vector<double>>* p) { delete p; }, keep);
  void* ctx = k->retain(k->ctx);
  auto raise = k->raise_msi;
  auto release = k->release;
  std::thread([ctx, raise, release, device, vector, n, interval, times] {
    for (uint32_t i = 0; i < n; i++) {
      std::this_thread::sleep_for(std::chrono::microseconds(interval));
      (*times)[i] = static_cast<double>(NowNs());
      raise(ctx, device.c_str(), vector);
    }
    release(ctx);
  }).detach();
  return Napi::Float64Array::New(info.Env(), n, ab, 0);
}

// msiLatencyC(kernelHooks, device, vector, eventfd, n, intervalUs) → Float64Array of latencies
// (ns): a raiser thread as above, and a C waiter blocked in epoll_wait on the vector's eventfd,
// reading it when it fires.
Napi::Value MsiLatencyC(const Napi::CallbackInfo& info) {
  const VfioCdxKernelHooks* k = KernelHooks(info[0]);
  std::string device = info[1].ToString().Utf8Value();
  uint32_t vector = static_cast<uint32_t>(Num(info, 2, "vector"));
  int efd = static_cast<int>(Num(info, 3, "eventfd"));
  uint32_t n = static_cast<uint32_t>(Num(info, 4, "n"));
  uint32_t interval = static_cast<uint32_t>(Num(info, 5, "intervalUs"));
  std::vector<double> raised(n, 0.0);
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), n);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
  std::thread raiser([&] {
    for (uint32_t i = 0; i < n; i++) {
      std::this_thread::sleep_for(std::chrono::microseconds(interval));
      raised[i] = static_cast<double>(NowNs());
      k->raise_msi(k->ctx, device.c_str(), vector);
    }
  });
  uint32_t got = 0;
  while (got < n) {
    epoll_event e{};
    if (::epoll_wait(ep, &e, 1, 2000) <= 0) break;
    double now = static_cast<double>(NowNs());
    uint64_t count = 0;
    if (::read(efd, &count, sizeof count) != sizeof count) continue;
    for (uint64_t c = 0; c < count && got < n; c++, got++) out[got] = now - raised[got];
  }
  raiser.join();
  ::close(ep);
  return out;
}

// dmaMapLoop(kernelHooks, containerFd, n, size) → ns for n × (mmap, VFIO_IOMMU_MAP_DMA,
// VFIO_IOMMU_UNMAP_DMA, munmap) through the same Kernel the API uses.
Napi::Value DmaMapLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const VfioCdxKernelHooks* k = KernelHooks(info[0]);
  int cfd = static_cast<int>(Num(info, 1, "containerFd"));
  uint32_t n = static_cast<uint32_t>(Num(info, 2, "n"));
  size_t size = static_cast<size_t>(Num(info, 3, "size"));
  int64_t t0 = NowNs();
  for (uint32_t i = 0; i < n; i++) {
    void* p = nullptr;
    if (k->mmap(k->ctx, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, &p) < 0) Fail(env, "mmap failed");
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = vfiocdx::abi::VFIO_DMA_MAP_FLAG_READ | vfiocdx::abi::VFIO_DMA_MAP_FLAG_WRITE;
    map.vaddr = reinterpret_cast<uintptr_t>(p);
    map.iova = 0x100000;
    map.size = size;
    long rc = k->ioctl(k->ctx, cfd, vfiocdx::abi::VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map));
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof unmap;
    unmap.iova = 0x100000;
    unmap.size = size;
    long rc2 = k->ioctl(k->ctx, cfd, vfiocdx::abi::VFIO_IOMMU_UNMAP_DMA, reinterpret_cast<uintptr_t>(&unmap));
    k->munmap(k->ctx, p, size);
    if (rc < 0 || rc2 < 0) Fail(env, "MAP/UNMAP_DMA failed: " + std::to_string(rc));
  }
  return Napi::Number::New(env, Elapsed(t0));
}

}  // namespace

void AddLoops(Napi::Env env, Napi::Object exports) {
  exports.Set("read32Loop", Napi::Function::New(env, Read32Loop, "read32Loop"));
  exports.Set("write32Loop", Napi::Function::New(env, Write32Loop, "write32Loop"));
  exports.Set("ioctlLoop", Napi::Function::New(env, IoctlLoop, "ioctlLoop"));
  exports.Set("msiRaiseSeries", Napi::Function::New(env, MsiRaiseSeries, "msiRaiseSeries"));
  exports.Set("msiLatencyC", Napi::Function::New(env, MsiLatencyC, "msiLatencyC"));
  exports.Set("dmaMapLoop", Napi::Function::New(env, DmaMapLoop, "dmaMapLoop"));
}

}  // namespace bench
