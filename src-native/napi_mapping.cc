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
                         Method<NativeMapping, &NativeMapping::Accessors>(env, "accessors"),
                     });
}

Napi::Object NativeMapping::Create(Napi::Env env, Napi::Object device, NativeDevice* owner,
                                   std::shared_ptr<MappingCore> core, Napi::Value* buffer) {
  MappingInit init{owner, std::move(core)};
  Napi::Object obj = GetData(env)->mapping_ctor.New({ConstructToken(env, &init)});
  NativeMapping* self = Unwrap(obj);
  self->device_ = Napi::Persistent(device);
  *buffer = env.Null();
  // An external ArrayBuffer over the mapping, made here in the caller's handle
  // scope (a handle made inside the constructor would die with its scope).
  // Refused where external buffers are not allowed (V8 sandbox builds such as
  // Electron): the mapping then has only the native accessors — never a copy
  // of device memory.
  napi_value ab = nullptr;
  if (napi_create_external_arraybuffer(env, self->core_->data(), self->core_->length(), nullptr, nullptr, &ab) ==
      napi_ok) {
    Napi::ArrayBuffer array_buffer(env, ab);
    // The buffer keeps this mapping (and through it the device) reachable:
    // while any view of device memory is alive, nothing may unmap it by GC.
    array_buffer.DefineProperty(Napi::PropertyDescriptor::Value(GetData(env)->owner_key.Value(), obj, napi_default));
    // Weak: a strong reference would be a GC root keeping the whole graph alive.
    self->buffer_ = Napi::Reference<Napi::ArrayBuffer>::New(array_buffer, 0);
    *buffer = array_buffer;
  }
  return obj;
}

NativeMapping::NativeMapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeMapping>(info) {
  CheckConstructToken(info, kClassName);
  auto* init = static_cast<MappingInit*>(info[0].As<Napi::External<void>>().Data());
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  owner_ = init->owner;
  core_ = std::move(init->core);
  core_->before_unmap = [this] { DetachBuffer(); };
}

NativeMapping::~NativeMapping() {
  // The MappingCore may outlive us in the device's list: it must not call back.
  if (core_) core_->before_unmap = nullptr;
}

void NativeMapping::DetachBuffer() {
  if (!buffer_.IsEmpty()) {
    Napi::HandleScope scope(Env());
    Napi::ArrayBuffer ab = buffer_.Value();
    if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
    buffer_.Reset();
  }
  // Unmapped: nothing here will reach the device again (Unmap() checks mapped() before it
  // touches owner_), so the parent need not be kept alive any longer.
  device_.Reset();
}

Napi::Value NativeMapping::Mapped(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core_->mapped());
}

Napi::Value NativeMapping::Unmap(const Napi::CallbackInfo& info) {
  if (core_->mapped()) owner_->UnmapChild(core_);
  return info.Env().Undefined();
}

// ---- accessors
//
// The hot path. Each mapping hands out eight plain functions whose N-API
// `data` is (a share of) its MappingCore: the function itself identifies the
// mapping, so no receiver unwrap or type-tag lookup is needed, whatever
// `this` is. A call costs napi_get_cb_info, one argument conversion, the
// volatile access and the result conversion. Every failure takes the slow path,
// which re-derives the precise error.

namespace {

std::string Num(double d) {
  std::string s = std::to_string(d);
  if (std::floor(d) == d && std::fabs(d) < 1e15) s = std::to_string(static_cast<long long>(d));
  return s;
}

// Throws the error a bad access deserves; returns nullptr for N-API.
napi_value ThrowAccessError(napi_env raw_env, const MappingCore& core, napi_value offset, size_t width, bool write,
                            napi_value value) {
  Napi::Env env(raw_env);
  try {
    if (!core.mapped()) throw UsageError("ERR_VFIO_CLOSED", "the mapping is unmapped (its device may be closed)");
    Napi::Value v(env, offset);
    if (!v.IsNumber()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"offset\" argument must be of type number");
    double d = v.As<Napi::Number>().DoubleValue();
    double max = static_cast<double>(core.length()) - static_cast<double>(width);
    if (!(d >= 0) || std::floor(d) != d || d > max) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be an integer >= 0 and <= " +
                                                   Num(max) + ". Received " + Num(d));
    }
    if (static_cast<size_t>(d) % width != 0) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be a multiple of " +
                                                   std::to_string(width) +
                                                   " (device memory takes naturally aligned accesses only). Received " +
                                                   Num(d));
    }
    if (write && !core.writable()) {
      // The same words as lib/mapping.ts's check for the 'js' accessors.
      throw UsageError("ERR_VFIO_READ_ONLY", core.what() + " is read-only (mapped without PROT_WRITE)");
    }
    if (write) {
      Napi::Value val(env, value);
      if (width == 8) {
        if (!val.IsBigInt() && !val.IsNumber()) {
          ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"value\" argument must be of type bigint or number");
        }
        ThrowRangeError(env, "ERR_OUT_OF_RANGE",
                        "The value of \"value\" is out of range. It must be >= 0n and < 2n ** 64n (or a safe integer)");
      }
      if (!val.IsNumber()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"value\" argument must be of type number");
      double max_value = std::ldexp(1.0, static_cast<int>(8 * width)) - 1;
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be an integer >= 0 and <= " +
                                                   Num(max_value) + ". Received " + val.ToString().Utf8Value());
    }
    ThrowRangeError(env, "ERR_OUT_OF_RANGE", "invalid access");
  } catch (const UsageError& e) {
    try {
      ThrowUsageError(env, e);
    } catch (const Napi::Error& err) {
      err.ThrowAsJavaScriptException();
    }
  } catch (const Napi::Error& err) {
    err.ThrowAsJavaScriptException();
  }
  return nullptr;
}

template <typename T>
bool FastOffset(napi_env env, const MappingCore& core, napi_value arg, size_t* off) {
  double d;
  if (!core.mapped() || napi_get_value_double(env, arg, &d) != napi_ok) return false;
  if (!(d >= 0) || d > static_cast<double>(core.length()) - sizeof(T) || std::floor(d) != d) return false;
  *off = static_cast<size_t>(d);
  return *off % sizeof(T) == 0;
}

template <typename T>
bool FastValue(napi_env env, napi_value arg, T* out) {
  if constexpr (sizeof(T) == 8) {
    bool lossless = false;
    uint64_t v;
    if (napi_get_value_bigint_uint64(env, arg, &v, &lossless) == napi_ok) {
      *out = v;
      return lossless;
    }
    double d;
    if (napi_get_value_double(env, arg, &d) != napi_ok) return false;
    if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) return false;
    *out = static_cast<uint64_t>(d);
    return true;
  } else {
    double d;
    if (napi_get_value_double(env, arg, &d) != napi_ok) return false;
    if (!(d >= 0 && d <= static_cast<double>(static_cast<T>(~T{0}))) || std::floor(d) != d) return false;
    *out = static_cast<T>(d);
    return true;
  }
}

template <typename T>
napi_value ReadAccessor(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = nullptr;
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, &data);
  const MappingCore& core = *static_cast<const MappingCore*>(data);
  size_t off;
  if (!FastOffset<T>(env, core, argv[0], &off)) return ThrowAccessError(env, core, argv[0], sizeof(T), false, nullptr);
  T value = core.Read<T>(off);
  napi_value out;
  if constexpr (sizeof(T) == 8) {
    napi_create_bigint_uint64(env, value, &out);
  } else {
    napi_create_uint32(env, value, &out);
  }
  return out;
}

template <typename T, bool kDoorbell = false>
napi_value WriteAccessor(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  void* data = nullptr;
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, &data);
  const MappingCore& core = *static_cast<const MappingCore*>(data);
  size_t off;
  T value;
  if (!FastOffset<T>(env, core, argv[0], &off) || !core.writable() || !FastValue<T>(env, argv[1], &value)) {
    return ThrowAccessError(env, core, argv[0], sizeof(T), true, argv[1]);
  }
  if constexpr (kDoorbell) {
    core.Doorbell<T>(off, value);
  } else {
    core.Write<T>(off, value);
  }
  return nullptr;  // undefined
}

// The function's data is the MappingCore itself, with no finalizer: the function holds its
// NativeMapping's JS object (a property under the owner key), so the NativeMapping — and with it
// the MappingCore it shares — lives at least as long as the function can be called. No per-function
// finalizer means nothing per mapping waits for the event loop to be freed.
void AddAccessor(Napi::Env env, Napi::Object target, const char* name, napi_callback cb, MappingCore* core,
                 Napi::Object owner) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, core, &fn);
  Napi::Function f(env, fn);
  f.DefineProperty(Napi::PropertyDescriptor::Value(GetData(env)->owner_key.Value(), owner, napi_default));
  target.Set(name, f);
}

}  // namespace

// accessors() → { read8, read16, read32, read64, write8, write16, write32, write64, doorbell32 }
Napi::Value NativeMapping::Accessors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Object self = info.This().As<Napi::Object>();
  MappingCore* core = core_.get();
  AddAccessor(env, o, "read8", ReadAccessor<uint8_t>, core, self);
  AddAccessor(env, o, "read16", ReadAccessor<uint16_t>, core, self);
  AddAccessor(env, o, "read32", ReadAccessor<uint32_t>, core, self);
  AddAccessor(env, o, "read64", ReadAccessor<uint64_t>, core, self);
  AddAccessor(env, o, "write8", WriteAccessor<uint8_t>, core, self);
  AddAccessor(env, o, "write16", WriteAccessor<uint16_t>, core, self);
  AddAccessor(env, o, "write32", WriteAccessor<uint32_t>, core, self);
  AddAccessor(env, o, "write64", WriteAccessor<uint64_t>, core, self);
  AddAccessor(env, o, "doorbell32", WriteAccessor<uint32_t, true>, core, self);
  return o;
}

}  // namespace vfiocdx
