// napi_dma_buffer.cc — see napi_dma_buffer.h.
#include "napi_dma_buffer.h"

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
  auto* holder = new DmaHolder{core, {}};
  Napi::Object out = Napi::Object::New(env);
  napi_value ab = nullptr;
  if (napi_create_external_arraybuffer(env, core->data(), core->size(), nullptr, nullptr, &ab) == napi_ok) {
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
