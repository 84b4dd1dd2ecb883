// napi_dma_buffer.cc — see napi_dma_buffer.h.
#include "napi_dma_buffer.h"

#include <string>

#include "napi_util.h"

namespace vfiocdx {

namespace {

// What a buffer's free() function holds: a share of the buffer and a weak
// reference to its ArrayBuffer (detached when the buffer is freed).
struct DmaHolder {
  std::shared_ptr<DmaBufferCore> core;
  Napi::Reference<Napi::ArrayBuffer> buffer;
};

napi_value FreeDma(napi_env env, napi_callback_info cbinfo) {
  void* data = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, cbinfo, &argc, nullptr, nullptr, &data);
  static_cast<DmaHolder*>(data)->core->Free(true);
  return nullptr;
}

}  // namespace

Napi::Object DmaBufferObject(Napi::Env env, std::shared_ptr<DmaBufferCore> core) {
  // The ArrayBuffer first, before anything that would need undoing. The runtime may refuse it:
  // with napi_no_external_buffers_allowed (a sandboxed runtime) the buffer is simply null; with an
  // exception (a buffer larger than this runtime allows) every later N-API call would fail, so the
  // memory is freed at once and the caller gets a RangeError. Found by the fuzzer: the exception
  // used to stay pending while the free() function's holder was made and never finalized, which
  // kept the kernel alive.
  napi_value ab = nullptr;
  napi_status st = napi_create_external_arraybuffer(env, core->data(), core->size(), nullptr, nullptr, &ab);
  bool pending = false;
  if (st != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    const uint64_t size = core->size();
    core->Free(false);
    ThrowRangeError(env, "ERR_OUT_OF_RANGE",
                    "a DMA buffer of " + std::to_string(size) +
                        " bytes is larger than this runtime's largest ArrayBuffer (buffer.constants.MAX_LENGTH)");
  }
  if (st != napi_ok) ab = nullptr;
  auto* holder = new DmaHolder{core, {}};
  Napi::Object out = Napi::Object::New(env);
  if (ab != nullptr) {
    holder->buffer = Napi::Reference<Napi::ArrayBuffer>::New(Napi::ArrayBuffer(env, ab), 0);
    out.Set("buffer", Napi::Value(env, ab));
  } else {
    out.Set("buffer", env.Null());
  }
  core->before_free = [holder] {
    if (holder->buffer.IsEmpty()) return;
    Napi::HandleScope scope(holder->buffer.Env());
    Napi::ArrayBuffer b = holder->buffer.Value();
    if (!b.IsEmpty() && !b.IsDetached()) b.Detach();
  };
  napi_value fn;
  napi_create_function(env, "free", NAPI_AUTO_LENGTH, FreeDma, holder, &fn);
  napi_add_finalizer(env, fn, holder, [](napi_env, void* d, void*) {
    auto* h = static_cast<DmaHolder*>(d);
    h->core->before_free = nullptr;
    delete h;
  }, nullptr, nullptr);
  out.Set("free", Napi::Value(env, fn));
  out.Set("iova", Napi::BigInt::New(env, core->iova()));
  out.Set("size", Napi::Number::New(env, static_cast<double>(core->size())));
  return out;
}

Napi::Array IovaRangesArray(Napi::Env env, const std::vector<IovaRange>& ranges) {
  Napi::Array out = Napi::Array::New(env, ranges.size());
  for (size_t i = 0; i < ranges.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("start", Napi::BigInt::New(env, ranges[i].start));
    o.Set("last", Napi::BigInt::New(env, ranges[i].last));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace vfiocdx
