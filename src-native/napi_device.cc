// napi_device.cc — see napi_device.h.
#include "napi_device.h"

#include "napi_dma_buffer.h"
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
                         Method<NativeDevice, &NativeDevice::DmaAlloc>(env, "dmaAlloc"),
                         Method<NativeDevice, &NativeDevice::DmaRanges>(env, "dmaRanges"),
                         Method<NativeDevice, &NativeDevice::MsiInfo>(env, "msiInfo"),
                         Method<NativeDevice, &NativeDevice::MsiEnable>(env, "msiEnable"),
                         Method<NativeDevice, &NativeDevice::MsiPoll>(env, "msiPoll"),
                         Method<NativeDevice, &NativeDevice::MsiRef>(env, "msiRef"),
                         Method<NativeDevice, &NativeDevice::MsiTrigger>(env, "msiTrigger"),
                         Method<NativeDevice, &NativeDevice::MsiDisable>(env, "msiDisable"),
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
  name_ = device_->name();
  msi_.set_name(name_);
  data_ = GetData(info.Env());
  data_->devices.insert(this);
  device_->before_msi_close = [this] { msi_.Stop(); };
}

NativeDevice::~NativeDevice() { CloseHandles(false); }

void NativeDevice::CloseHandles(bool notify) {
  if (data_ != nullptr) {
    data_->devices.erase(this);
    data_ = nullptr;
  }
  if (device_) {
    device_->Close(notify);  // stops the polls (before_msi_close), unmaps, closes every fd
    device_.reset();
  }
  msi_.Release();
}

void NativeDevice::UnmapChild(const std::shared_ptr<MappingCore>& core) {
  if (device_) {
    device_->Unmap(core, true);
  } else {
    core->Unmap(true);  // already unmapped by close(); idempotent
  }
}

Device& NativeDevice::device(const char* what) {
  if (!device_ || device_->closed()) {
    throw UsageError("ERR_VFIO_CLOSED", "device " + name_ + " is closed (" + what + ")");
  }
  return *device_;
}

Napi::Value NativeDevice::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  device("describe");
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", device_->name());
  o.Set("path", device_->path() == OpenPath::kCdev ? "cdev" : "group");
  o.Set("group", Napi::Number::New(env, device_->group_number()));
  o.Set("noiommu", Napi::Boolean::New(env, device_->noiommu()));
  o.Set("node", device_->node());
  o.Set("pageSize", Napi::Number::New(env, static_cast<double>(device_->page_size())));
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
  return Napi::Boolean::New(info.Env(), !device_ || device_->closed());
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

Napi::Value NativeDevice::MsiInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  bool open = device_ && !device_->closed();
  o.Set("count", Napi::Number::New(env, open ? device_->msi_count() : 0));
  o.Set("enabled", Napi::Boolean::New(env, open && device_->msi_enabled()));
  o.Set("vectors", Napi::Number::New(env, static_cast<double>(msi_.vectors())));
  return o;
}

// msiEnable(vectors, callback(vector, count))
Napi::Value NativeDevice::MsiEnable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t vectors = ArgU32(info, 0, "vectors");
  if (!info[1].IsFunction()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"callback\" argument must be a function");
  Device& dev = device("msi.enable");
  std::vector<int> fds = dev.EnableMsi(vectors);
  try {
    msi_.Start(env, data_, GetData(env)->ContextFor(dev.shared_kernel())->sys()->shared_kernel(), fds,
               info[1].As<Napi::Function>());
  } catch (...) {
    dev.DisableMsi();
    throw;
  }
  return env.Undefined();
}

// The vector argument of msiPoll/msiRef, on an open device.
uint32_t NativeDevice::MsiVector(const Napi::CallbackInfo& info) {
  uint32_t v = ArgU32(info, 0, "vector");
  if (!device_ || device_->closed()) throw UsageError("ERR_VFIO_CLOSED", "MSI of " + name_ + " is disabled");
  return v;
}

// msiPoll(vector, on): start or stop watching the vector's eventfd.
Napi::Value NativeDevice::MsiPoll(const Napi::CallbackInfo& info) {
  uint32_t v = MsiVector(info);
  msi_.Poll(info.Env(), v, ArgBool(info, 1, "on"));
  return info.Env().Undefined();
}

// msiRef(vector, on): whether a polling vector keeps the event loop alive.
Napi::Value NativeDevice::MsiRef(const Napi::CallbackInfo& info) {
  uint32_t v = MsiVector(info);
  msi_.Ref(info.Env(), v, ArgBool(info, 1, "on"));
  return info.Env().Undefined();
}

Napi::Value NativeDevice::MsiTrigger(const Napi::CallbackInfo& info) {
  uint32_t v = ArgU32(info, 0, "vector");
  device("msi.trigger").TriggerMsi(v);
  return info.Env().Undefined();
}

Napi::Value NativeDevice::MsiDisable(const Napi::CallbackInfo& info) {
  if (device_ && !device_->closed()) device_->DisableMsi();  // stops the polls (before_msi_close)
  msi_.Release();
  return info.Env().Undefined();
}

// dmaAlloc(size, hugepages) → { buffer: ArrayBuffer | null, iova: bigint, size, free() }
Napi::Value NativeDevice::DmaAlloc(const Napi::CallbackInfo& info) {
  uint64_t size = ArgU64(info, 0, "size");
  bool huge = ArgBool(info, 1, "hugepages");
  return DmaBufferObject(info.Env(), device("dma.alloc").AllocDma(size, huge));
}

// dmaRanges() → [{ start, last }] the IOVA windows of the device's DMA space
Napi::Value NativeDevice::DmaRanges(const Napi::CallbackInfo& info) {
  return IovaRangesArray(info.Env(), device("dma.ranges").dma_space()->ranges());
}

}  // namespace vfiocdx
