// napi_mapping.cc — see napi_mapping.h.
#include "napi_mapping.h"

#include <cmath>
#include <string>

#include "napi_device.h"
#include "napi_util.h"

namespace vfiocdx {

const napi_type_tag NativeMapping::kTypeTag = {0x2f8e61c4d09b7a35ULL, 0x94c0e7b2a613f58dULL};

namespace {
struct MappingInit {
  NativeDevice* owner;
  std::shared_ptr<MappingCore> core;
};
}  // namespace

Napi::Function NativeMapping::Define(Napi::Env env) {
  return DefineWithMethods<NativeMapping>(env,
                     {
                         Method<NativeMapping, &NativeMapping::Mapped>(env, "mapped"),
                         Method<NativeMapping, &NativeMapping::Unmap>(env, "unmap"),
                         Method<NativeMapping, &NativeMapping::Read<uint8_t>>(env, "read8"),
                         Method<NativeMapping, &NativeMapping::Read<uint16_t>>(env, "read16"),
                         Method<NativeMapping, &NativeMapping::Read<uint32_t>>(env, "read32"),
                         Method<NativeMapping, &NativeMapping::Read<uint64_t>>(env, "read64"),
                         Method<NativeMapping, &NativeMapping::Write<uint8_t>>(env, "write8"),
                         Method<NativeMapping, &NativeMapping::Write<uint16_t>>(env, "write16"),
                         Method<NativeMapping, &NativeMapping::Write<uint32_t>>(env, "write32"),
                         Method<NativeMapping, &NativeMapping::Write<uint64_t>>(env, "write64"),
                     });
}

Napi::Object NativeMapping::Create(Napi::Env env, Napi::Object device, NativeDevice* owner,
                                   std::shared_ptr<MappingCore> core, Napi::Value* buffer) {
  MappingInit init{owner, std::move(core)};
  Napi::Object obj = GetData(env)->mapping_ctor.New({ConstructToken(env, &init)});
  NativeMapping* self = Unwrap(obj);
  self->device_ = Napi::Persistent(device);
  // The buffer is handed out once, here, while a local handle keeps it alive;
  // afterwards we hold it only weakly (a strong reference would be a GC root
  // and keep the whole mapping/device graph alive forever).
  *buffer = self->fresh_buffer_ ? Napi::Value(env, self->fresh_buffer_) : env.Null();
  self->fresh_buffer_ = nullptr;
  return obj;
}

NativeMapping::NativeMapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeMapping>(info) {
  CheckConstructToken(info, kClassName);
  auto* init = static_cast<MappingInit*>(info[0].As<Napi::External<void>>().Data());
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  owner_ = init->owner;
  core_ = std::move(init->core);
  Napi::Env env = info.Env();
  // An external ArrayBuffer over the mapping. Refused where external buffers
  // are not allowed (V8 sandbox builds such as Electron): the mapping then has
  // no buffer and only the native accessors — never a copy of device memory.
  napi_value ab = nullptr;
  if (napi_create_external_arraybuffer(env, core_->data(), core_->length(), nullptr, nullptr, &ab) == napi_ok) {
    Napi::ArrayBuffer buffer(env, ab);
    // The buffer keeps this mapping (and through it the device) reachable:
    // while any view of device memory is alive, nothing may unmap it by GC.
    buffer.DefineProperty(Napi::PropertyDescriptor::Value(GetData(env)->owner_key.Value(), info.This(), napi_default));
    buffer_ = Napi::Reference<Napi::ArrayBuffer>::New(buffer, 0);
    fresh_buffer_ = ab;
  }
  core_->before_unmap = [this] { DetachBuffer(); };
}

NativeMapping::~NativeMapping() {
  // The MappingCore may outlive us in the device's list: it must not call back.
  if (core_) core_->before_unmap = nullptr;
}

void NativeMapping::DetachBuffer() {
  if (buffer_.IsEmpty()) return;
  Napi::HandleScope scope(Env());
  Napi::ArrayBuffer ab = buffer_.Value();
  if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
  buffer_.Reset();
}

Napi::Value NativeMapping::Mapped(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core_->mapped());
}

Napi::Value NativeMapping::Unmap(const Napi::CallbackInfo& info) {
  if (core_->mapped()) owner_->UnmapChild(core_);
  return info.Env().Undefined();
}

size_t NativeMapping::CheckAccess(const Napi::CallbackInfo& info, size_t width) {
  if (!core_->mapped()) throw UsageError("ERR_VFIO_CLOSED", "the mapping is unmapped (its device may be closed)");
  Napi::Value v = info[0];
  if (!v.IsNumber()) {
    ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE", "The \"offset\" argument must be of type number");
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || std::floor(d) != d || d > static_cast<double>(core_->length()) - static_cast<double>(width)) {
    ThrowRangeError(info.Env(), "ERR_OUT_OF_RANGE",
                    "The value of \"offset\" is out of range. It must be an integer >= 0 and <= " +
                        std::to_string(static_cast<long long>(core_->length()) - static_cast<long long>(width)) +
                        ". Received " + v.ToString().Utf8Value());
  }
  size_t off = static_cast<size_t>(d);
  if (off % width != 0) {
    ThrowRangeError(info.Env(), "ERR_OUT_OF_RANGE",
                    "The value of \"offset\" is out of range. It must be a multiple of " + std::to_string(width) +
                        " (device memory takes naturally aligned accesses only). Received " + std::to_string(off));
  }
  return off;
}

template <typename T>
Napi::Value NativeMapping::Read(const Napi::CallbackInfo& info) {
  size_t off = CheckAccess(info, sizeof(T));
  T value = core_->Read<T>(off);
  if constexpr (sizeof(T) == 8) {
    return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(value));
  } else {
    return Napi::Number::New(info.Env(), static_cast<double>(value));
  }
}

template <typename T>
Napi::Value NativeMapping::Write(const Napi::CallbackInfo& info) {
  size_t off = CheckAccess(info, sizeof(T));
  if (!core_->writable()) {
    throw UsageError("ERR_VFIO_READ_ONLY", "region " + std::to_string(core_->region()) +
                                               " is read-only (mapped without PROT_WRITE)");
  }
  T value;
  if constexpr (sizeof(T) == 8) {
    value = ArgU64(info, 1, "value");
  } else {
    constexpr double kMax = static_cast<double>(static_cast<T>(~T{0}));
    if (!info[1].IsNumber()) {
      ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE", "The \"value\" argument must be of type number");
    }
    double d = info[1].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= kMax) || std::floor(d) != d) {
      ThrowRangeError(info.Env(), "ERR_OUT_OF_RANGE",
                      "The value of \"value\" is out of range. It must be an integer >= 0 and <= " +
                          std::to_string(static_cast<uint64_t>(kMax)) + ". Received " +
                          info[1].ToString().Utf8Value());
    }
    value = static_cast<T>(d);
  }
  core_->Write<T>(off, value);
  return info.Env().Undefined();
}

}  // namespace vfiocdx
