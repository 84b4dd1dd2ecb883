// bench_util.h — argument helpers of the bench-only addon (vfio_cdx_bench.node). This addon is
// built from the repository only (binding.gyp's second target), never shipped. It shares no C++
// object with the library's addon: it reaches the kernel and the lnic model through the C hooks
// of src-native/bench_hooks.h, handed over as tagged Externals.
#pragma once

#include <napi.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "bench_hooks.h"

namespace bench {

[[noreturn]] inline void Fail(Napi::Env env, const std::string& message) {
  Napi::TypeError e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  throw e;
}

inline double Num(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) Fail(info.Env(), std::string("\"") + name + "\" must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline double Field(Napi::Object o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber()) Fail(o.Env(), std::string("option \"") + name + "\" must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// The bytes of an ArrayBuffer or of a TypedArray's window; *len gets their size.
inline uint8_t* Bytes(Napi::Value v, size_t* len, const char* name) {
  if (v.IsArrayBuffer()) {
    auto ab = v.As<Napi::ArrayBuffer>();
    *len = ab.ByteLength();
    return static_cast<uint8_t*>(ab.Data());
  }
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    *len = ta.ByteLength();
    return static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  }
  Fail(v.Env(), std::string("\"") + name + "\" must be an ArrayBuffer or a TypedArray");
}

template <typename T>
const T* Hooks(Napi::Value v, const napi_type_tag& tag, const char* what) {
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(v.Env(), v, &tag, &ok);
  if (!ok) Fail(v.Env(), std::string("expected the library's ") + what + " hooks");
  const T* h = static_cast<const T*>(v.As<Napi::External<void>>().Data());
  if (h->abi != VFIO_CDX_HOOKS_ABI || h->size != sizeof(T)) Fail(v.Env(), std::string(what) + " hooks of another ABI");
  return h;
}

inline const VfioCdxKernelHooks* KernelHooks(Napi::Value v) {
  static const napi_type_tag kTag = VFIO_CDX_KERNEL_HOOKS_TAG;
  return Hooks<VfioCdxKernelHooks>(v, kTag, "kernel");
}

inline const VfioCdxLnicHooks* LnicHooks(Napi::Value v) {
  static const napi_type_tag kTag = VFIO_CDX_LNIC_HOOKS_TAG;
  return Hooks<VfioCdxLnicHooks>(v, kTag, "lnic");
}

// CLOCK_MONOTONIC in ns: the clock of process.hrtime.bigint() too.
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace bench
