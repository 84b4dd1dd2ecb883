// napi_device.cc — see napi_device.h.
#include "napi_device.h"

#include "napi_mapping.h"
#include "napi_util.h"

namespace vfiocdx {

const napi_type_tag NativeDevice::kTypeTag = {0x5d0a93e17c4b28f6ULL, 0x3e7f1b9c20d46a85ULL};

Napi::Function NativeDevice::Define(Napi::Env env) {
  return DefineWithMethods<NativeDevice>(env,
                     {
                         Method<NativeDevice, &NativeDevice::Describe>(env, "describe"),
                         Method<NativeDevice, &NativeDevice::Info>(env, "info"),
                         Method<NativeDevice, &NativeDevice::Regions>(env, "regions"),
                         Method<NativeDevice, &NativeDevice::Fd>(env, "fd"),
                         Method<NativeDevice, &NativeDevice::Closed>(env, "closed"),
                         Method<NativeDevice, &NativeDevice::Reset>(env, "reset"),
                         Method<NativeDevice, &NativeDevice::BusMasterSupported>(env, "busMasterSupported"),
                         Method<NativeDevice, &NativeDevice::SetBusMaster>(env, "setBusMaster"),
                         Method<NativeDevice, &NativeDevice::Map>(env, "map"),
                         Method<NativeDevice, &NativeDevice::Close>(env, "close"),
                     });
}

Napi::Object NativeDevice::Create(Napi::Env env, std::unique_ptr<Device> device) {
  return GetData(env)->device_ctor.New({ConstructToken(env, &device)});
}

NativeDevice::NativeDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeDevice>(info) {
  CheckConstructToken(info, kClassName);
  auto* device = static_cast<std::unique_ptr<Device>*>(info[0].As<Napi::External<void>>().Data());
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  device_ = std::move(*device);
  data_ = GetData(info.Env());
  data_->devices.insert(this);
}

NativeDevice::~NativeDevice() { CloseHandles(false); }

void NativeDevice::CloseHandles(bool notify) {
  if (data_ != nullptr) {
    data_->devices.erase(this);
    data_ = nullptr;
  }
  if (device_) device_->Close(notify);
}

Device& NativeDevice::device(const char* what) {
  if (device_->closed()) {
    throw UsageError("ERR_VFIO_CLOSED", std::string("device ") + device_->name() + " is closed (" + what + ")");
  }
  return *device_;
}

Napi::Value NativeDevice::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", device_->name());
  o.Set("path", device_->path() == OpenPath::kCdev ? "cdev" : "group");
  o.Set("group", Napi::Number::New(env, device_->group_number()));
  o.Set("noiommu", Napi::Boolean::New(env, device_->noiommu()));
  o.Set("node", device_->node());
  return o;
}

Napi::Value NativeDevice::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& di = device("info").info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("flags", Napi::Number::New(env, di.flags));
  o.Set("numRegions", Napi::Number::New(env, di.num_regions));
  o.Set("numIrqs", Napi::Number::New(env, di.num_irqs));
  return o;
}

Napi::Value NativeDevice::Regions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& regions = device("regions").regions();
  Napi::Array out = Napi::Array::New(env, regions.size());
  for (size_t i = 0; i < regions.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", Napi::Number::New(env, regions[i].index));
    o.Set("flags", Napi::Number::New(env, regions[i].flags));
    o.Set("size", Napi::BigInt::New(env, regions[i].size));
    o.Set("offset", Napi::BigInt::New(env, regions[i].offset));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value NativeDevice::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), device("fd").fd());
}

Napi::Value NativeDevice::Closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), device_->closed());
}

Napi::Value NativeDevice::Reset(const Napi::CallbackInfo& info) {
  device("reset").Reset();
  return info.Env().Undefined();
}

Napi::Value NativeDevice::BusMasterSupported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), device("busMaster.supported").BusMasterSupported());
}

Napi::Value NativeDevice::SetBusMaster(const Napi::CallbackInfo& info) {
  bool enable = ArgBool(info, 0, "enable");
  device("busMaster.set").SetBusMaster(enable);
  return info.Env().Undefined();
}

// map(index, offset, length) → [NativeMapping, ArrayBuffer | null]
Napi::Value NativeDevice::Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index = ArgU32(info, 0, "index");
  uint64_t offset = ArgU64(info, 1, "offset");
  uint64_t length = ArgU64(info, 2, "length");
  auto core = device("map").Map(index, offset, length);
  Napi::Value buffer;
  Napi::Object mapping = NativeMapping::Create(env, info.This().As<Napi::Object>(), this, std::move(core), &buffer);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, mapping);
  out.Set(1u, buffer);
  return out;
}

Napi::Value NativeDevice::Close(const Napi::CallbackInfo& info) {
  CloseHandles(true);
  return info.Env().Undefined();
}

}  // namespace vfiocdx
