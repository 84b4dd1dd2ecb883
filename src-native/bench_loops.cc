// bench_loops.cc — the C side of `npm run bench`: the same operations the
// JavaScript API performs, as tight C loops in the same process on the same
// mapping / the same kernel, so the benchmark can print honest ratios.
// Not part of the public API (exported under `_bench`).
#include <napi.h>

#include <chrono>
#include <cstdint>

#include "napi_kernel.h"
#include "napi_util.h"

namespace vfiocdx {

namespace {

volatile uint32_t g_sink;  // keeps the load loop from being optimised away

uint8_t* BufferData(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE", "expected an ArrayBuffer");
  return static_cast<uint8_t*>(info[0].As<Napi::ArrayBuffer>().Data());
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
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&NativeKernel::kTypeTag)) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "expected a kernel handle");
  }
  auto& kernel = *NativeKernel::Unwrap(info[0].As<Napi::Object>())->kernel();
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

}  // namespace

Napi::Object BenchLoops(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("read32Loop", Napi::Function::New(env, Read32Loop, "read32Loop"));
  o.Set("write32Loop", Napi::Function::New(env, Write32Loop, "write32Loop"));
  o.Set("ioctlLoop", Napi::Function::New(env, IoctlLoop, "ioctlLoop"));
  return o;
}

}  // namespace vfiocdx
