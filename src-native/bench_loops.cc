// bench_loops.cc — the C side of `npm run bench`: the same operations the
// JavaScript API performs, as tight C loops in the same process on the same
// mapping / the same kernel, so the benchmark can print honest ratios.
// Not part of the public API (exported under `_bench`).
#include <napi.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "abi.h"

#include "napi_kernel.h"
#include "napi_util.h"

namespace vfiocdx {

namespace {

volatile uint32_t g_sink;  // keeps the load loop from being optimised away

uint8_t* BufferData(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE", "expected an ArrayBuffer");
  return static_cast<uint8_t*>(info[0].As<Napi::ArrayBuffer>().Data());
}

// The Kernel behind a kernel handle passed as argument 0.
const std::shared_ptr<Kernel>& KernelArg(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&NativeKernel::kTypeTag)) {
    ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a kernel handle");
  }
  return NativeKernel::Unwrap(info[0].As<Napi::Object>())->kernel();
}

double Elapsed(std::chrono::steady_clock::time_point t0) {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
}

// read32Loop(buffer, offset, n) → ns for n volatile 32-bit loads.
Napi::Value Read32Loop(const Napi::CallbackInfo& info) {
  uint8_t* base = BufferData(info);
  uint32_t off = ArgU32(info, 1, "offset");
  uint32_t n = ArgU32(info, 2, "n");
  auto* p = reinterpret_cast<volatile uint32_t*>(base + off);
  uint32_t sink = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; i++) sink += *p;
  double ns = Elapsed(t0);
  g_sink = sink;
  return Napi::Number::New(info.Env(), ns);
}

// write32Loop(buffer, offset, n) → ns for n volatile 32-bit stores.
Napi::Value Write32Loop(const Napi::CallbackInfo& info) {
  uint8_t* base = BufferData(info);
  uint32_t off = ArgU32(info, 1, "offset");
  uint32_t n = ArgU32(info, 2, "n");
  auto* p = reinterpret_cast<volatile uint32_t*>(base + off);
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; i++) *p = i;
  return Napi::Number::New(info.Env(), Elapsed(t0));
}

// ioctlLoop(kernel, fd, request, argBuffer | null, n) → ns for n ioctls through
// the same Kernel object the API uses (the mock, or the real kernel).
Napi::Value IoctlLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& kernel = *KernelArg(info);
  int fd = ArgI32(info, 1, "fd");
  uint32_t request = ArgU32(info, 2, "request");
  uintptr_t arg = 0;
  std::vector<uint8_t> copy;
  if (info[3].IsTypedArray()) {
    auto ta = info[3].As<Napi::Uint8Array>();
    copy.assign(ta.Data(), ta.Data() + ta.ByteLength());
  }
  uint32_t n = ArgU32(info, 4, "n");
  long last = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; i++) {
    arg = copy.empty() ? 0 : reinterpret_cast<uintptr_t>(copy.data());
    last = kernel.Ioctl(fd, request, arg);
  }
  double ns = Elapsed(t0);
  if (last < 0) ThrowRangeError(env, "ERR_OUT_OF_RANGE", "the ioctl failed: " + std::to_string(last));
  return Napi::Number::New(env, ns);
}

std::shared_ptr<mock::MockKernel> MockOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = std::dynamic_pointer_cast<mock::MockKernel>(KernelArg(info));
  if (!m) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "the MSI benches need a mock kernel (a device model raises the MSI)");
  return m;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// msiRaiseSeries(kernel, device, vector, n, intervalUs) → Float64Array of the
// CLOCK_MONOTONIC ns at which a device-model-like thread raised each MSI.
// Returns at once; the thread fills the array as it goes (a JS handler takes
// its own timestamps with process.hrtime.bigint(), the same clock).
Napi::Value MsiRaiseSeries(const Napi::CallbackInfo& info) {
  auto kernel = MockOf(info);
  std::string device = ArgString(info, 1, "device");
  uint32_t vector = ArgU32(info, 2, "vector");
  uint32_t n = ArgU32(info, 3, "n");
  uint32_t interval = ArgU32(info, 4, "intervalUs");
  auto times = std::make_shared<std::vector<double>>(n, 0.0);
  auto* keep = new std::shared_ptr<std::vector<double>>(times);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), times->data(), n * sizeof(double),
                                                [](Napi::Env, void*, std::shared_ptr<std::vector<double>>* k) { delete k; },
                                                keep);
  std::thread([kernel, device, vector, n, interval, times] {
    for (uint32_t i = 0; i < n; i++) {
      std::this_thread::sleep_for(std::chrono::microseconds(interval));
      (*times)[i] = static_cast<double>(NowNs());
      kernel->RaiseMsi(device, vector);
    }
  }).detach();
  return Napi::Float64Array::New(info.Env(), n, ab, 0);
}

// msiLatencyC(kernel, device, vector, eventfd, n, intervalUs) → Float64Array of
// latencies (ns): a raiser thread as above, and a C waiter blocked in
// epoll_wait on the vector's eventfd, reading it when it fires.
Napi::Value MsiLatencyC(const Napi::CallbackInfo& info) {
  auto kernel = MockOf(info);
  std::string device = ArgString(info, 1, "device");
  uint32_t vector = ArgU32(info, 2, "vector");
  int efd = ArgI32(info, 3, "eventfd");
  uint32_t n = ArgU32(info, 4, "n");
  uint32_t interval = ArgU32(info, 5, "intervalUs");
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
      kernel->RaiseMsi(device, vector);
    }
  });
  uint32_t got = 0;
  while (got < n) {
    epoll_event e{};
    if (::epoll_wait(ep, &e, 1, 2000) <= 0) break;
    double now = static_cast<double>(NowNs());
    uint64_t count = 0;
    if (::read(efd, &count, sizeof count) != sizeof count) continue;
    for (uint64_t k = 0; k < count && got < n; k++, got++) out[got] = now - raised[got];
  }
  raiser.join();
  ::close(ep);
  return out;
}

// dmaMapLoop(kernel, containerFd, n, size) → ns for n × (mmap, VFIO_IOMMU_MAP_DMA,
// VFIO_IOMMU_UNMAP_DMA, munmap) through the same Kernel the API uses.
Napi::Value DmaMapLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& kernel = *KernelArg(info);
  int cfd = ArgI32(info, 1, "containerFd");
  uint32_t n = ArgU32(info, 2, "n");
  uint64_t size = ArgU64(info, 3, "size");
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; i++) {
    void* p = nullptr;
    if (kernel.Mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, &p) < 0) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "mmap failed");
    }
    abi::vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = abi::VFIO_DMA_MAP_FLAG_READ | abi::VFIO_DMA_MAP_FLAG_WRITE;
    map.vaddr = reinterpret_cast<uintptr_t>(p);
    map.iova = 0x100000;
    map.size = size;
    long rc = kernel.Ioctl(cfd, abi::VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map));
    abi::vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof unmap;
    unmap.iova = 0x100000;
    unmap.size = size;
    long rc2 = kernel.Ioctl(cfd, abi::VFIO_IOMMU_UNMAP_DMA, reinterpret_cast<uintptr_t>(&unmap));
    kernel.Munmap(p, size);
    if (rc < 0 || rc2 < 0) ThrowRangeError(env, "ERR_OUT_OF_RANGE", "MAP/UNMAP_DMA failed: " + std::to_string(rc));
  }
  return Napi::Number::New(env, Elapsed(t0));
}

}  // namespace

Napi::Object BenchLoops(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("read32Loop", Napi::Function::New(env, Read32Loop, "read32Loop"));
  o.Set("write32Loop", Napi::Function::New(env, Write32Loop, "write32Loop"));
  o.Set("ioctlLoop", Napi::Function::New(env, IoctlLoop, "ioctlLoop"));
  o.Set("msiRaiseSeries", Napi::Function::New(env, MsiRaiseSeries, "msiRaiseSeries"));
  o.Set("msiLatencyC", Napi::Function::New(env, MsiLatencyC, "msiLatencyC"));
  o.Set("dmaMapLoop", Napi::Function::New(env, DmaMapLoop, "dmaMapLoop"));
  return o;
}

}  // namespace vfiocdx
