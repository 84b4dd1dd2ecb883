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
  data_ = GetData(info.Env());
  data_->devices.insert(this);
  device_->before_msi_close = [this] { StopPolls(); };
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
  msi_callback_.Reset();
  callback_strong_ = false;
  msi_async_.reset();
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

}  // namespace vfiocdx

// ---- MSI delivery ----------------------------------------------------------
//
// Each enabled vector has an eventfd (owned by the Device) and a uv_poll on
// this environment's own loop (never uv_default_loop: workers have their own).
// Polling starts when JavaScript listens and stops when it stops listening;
// an unref'd vector does not keep the loop alive. On readable, the eventfd is
// read once, which drains it (the kernel adds 1 per interrupt, so the value read
// is the number of interrupts since the last read: they coalesce), and the count
// is delivered. Before an eventfd is closed its poll handle is uv_close()d, which
// removes the fd from epoll at once; the struct is freed by the close callback.

namespace vfiocdx {

struct NativeDevice::VectorPoll {
  uv_poll_t handle;
  NativeDevice* owner;  // null once closing
  AddonData* data;
  std::shared_ptr<Kernel> kernel;
  uint32_t vector;
  int fd;
  bool active = false;
  bool refed = true;
};

namespace {

void OnPollClosed(uv_handle_t* h) {
  auto* vp = static_cast<NativeDevice::VectorPoll*>(h->data);
  AddonData* data = vp->data;
  delete vp;
  data->PollClosed();
}

}  // namespace

void NativeDevice::StopPolls() {
  for (VectorPoll* vp : polls_) {
    vp->owner = nullptr;
    vp->data->pending_closes++;
    uv_close(reinterpret_cast<uv_handle_t*>(&vp->handle), OnPollClosed);
  }
  polls_.clear();
  UpdateCallbackStrength();
}

void NativeDevice::UpdateCallbackStrength() {
  bool strong = false;
  for (VectorPoll* vp : polls_) strong |= vp->active && vp->refed;
  if (msi_callback_.IsEmpty() || strong == callback_strong_) return;
  if (strong) {
    msi_callback_.Ref();
  } else {
    msi_callback_.Unref();
  }
  callback_strong_ = strong;
}

void NativeDevice::DeliverMsi(uint32_t vector, uint64_t count) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  // Weak and collected: nobody can observe the interrupt (the JS Device is garbage and about
  // to be closed by its finalizer).
  if (msi_callback_.IsEmpty() || msi_callback_.Value().IsEmpty() || !msi_async_) return;
  try {
    msi_callback_.MakeCallback(env.Global(), {Napi::Number::New(env, vector),
                                              Napi::Number::New(env, static_cast<double>(count))},
                               *msi_async_);
  } catch (const Napi::Error& e) {
    // An exception from a listener is an uncaught exception of the process,
    // as for any event emitter driven by the loop.
    napi_fatal_exception(env, e.Value());
  }
}

namespace {

void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  auto* vp = static_cast<NativeDevice::VectorPoll*>(handle->data);
  if (vp->owner == nullptr) return;
  // One read returns the eventfd's whole count and resets it to 0 (these eventfds are not
  // EFD_SEMAPHORE), so it drains the eventfd: a second read could only answer EAGAIN, and would
  // cost a system call (and, on the mock, its mutex) per interrupt.
  uint64_t total = 0;
  if (vp->kernel->Read(vp->fd, &total, sizeof total) != static_cast<long>(sizeof total)) total = 0;
  if (total > 0 || status < 0) vp->owner->DeliverMsi(vp->vector, total);
}

}  // namespace

Napi::Value NativeDevice::MsiInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  bool open = device_ && !device_->closed();
  o.Set("count", Napi::Number::New(env, open ? device_->msi_count() : 0));
  o.Set("enabled", Napi::Boolean::New(env, open && device_->msi_enabled()));
  o.Set("vectors", Napi::Number::New(env, static_cast<double>(polls_.size())));
  return o;
}

// msiEnable(vectors, callback(vector, count))
Napi::Value NativeDevice::MsiEnable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t vectors = ArgU32(info, 0, "vectors");
  if (!info[1].IsFunction()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"callback\" argument must be a function");
  std::vector<int> fds = device("msi.enable").EnableMsi(vectors);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  msi_callback_ = Napi::Weak(info[1].As<Napi::Function>());
  callback_strong_ = false;
  msi_async_ = std::make_unique<Napi::AsyncContext>(env, "vfio-cdx:msi");
  for (uint32_t v = 0; v < fds.size(); v++) {
    auto* vp = new VectorPoll{};
    vp->owner = this;
    vp->data = data_;
    vp->kernel = GetData(env)->ContextFor(device_->shared_kernel())->sys()->shared_kernel();
    vp->vector = v;
    vp->fd = fds[v];
    int rc = uv_poll_init(loop, &vp->handle, vp->fd);
    if (rc != 0) {
      delete vp;
      device_->DisableMsi();
      throw SysError(-rc, "uv_poll_init", "", device_->name());
    }
    vp->handle.data = vp;
    polls_.push_back(vp);
  }
  return env.Undefined();
}

NativeDevice::VectorPoll* NativeDevice::Vector(const Napi::CallbackInfo& info) {
  uint32_t v = ArgU32(info, 0, "vector");
  if (!device_ || device_->closed() || polls_.empty()) {
    throw UsageError("ERR_VFIO_CLOSED", "MSI of " + name_ + " is disabled");
  }
  if (v >= polls_.size()) ThrowRangeError(info.Env(), "ERR_OUT_OF_RANGE", "no MSI vector " + std::to_string(v));
  return polls_[v];
}

// msiPoll(vector, on): start or stop watching the vector's eventfd.
Napi::Value NativeDevice::MsiPoll(const Napi::CallbackInfo& info) {
  VectorPoll* vp = Vector(info);
  bool on = ArgBool(info, 1, "on");
  if (on && !vp->active) {
    int rc = uv_poll_start(&vp->handle, UV_READABLE, OnReadable);
    if (rc != 0) throw SysError(-rc, "uv_poll_start", "", name_);
    if (!vp->refed) uv_unref(reinterpret_cast<uv_handle_t*>(&vp->handle));
  } else if (!on && vp->active) {
    uv_poll_stop(&vp->handle);
  }
  vp->active = on;
  UpdateCallbackStrength();
  return info.Env().Undefined();
}

// msiRef(vector, on): whether a polling vector keeps the event loop alive.
Napi::Value NativeDevice::MsiRef(const Napi::CallbackInfo& info) {
  VectorPoll* vp = Vector(info);
  vp->refed = ArgBool(info, 1, "on");
  auto* h = reinterpret_cast<uv_handle_t*>(&vp->handle);
  if (vp->refed) uv_ref(h); else uv_unref(h);
  UpdateCallbackStrength();
  return info.Env().Undefined();
}

Napi::Value NativeDevice::MsiTrigger(const Napi::CallbackInfo& info) {
  uint32_t v = ArgU32(info, 0, "vector");
  device("msi.trigger").TriggerMsi(v);
  return info.Env().Undefined();
}

Napi::Value NativeDevice::MsiDisable(const Napi::CallbackInfo& info) {
  if (device_ && !device_->closed()) device_->DisableMsi();
  msi_callback_.Reset();
  callback_strong_ = false;
  msi_async_.reset();
  return info.Env().Undefined();
}

}  // namespace vfiocdx

// ---- DMA buffers -------------------------------------------------------------

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

// dmaAlloc(size, hugepages) → { buffer: ArrayBuffer | null, iova: bigint, size, free() }
Napi::Value NativeDevice::DmaAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t size = ArgU64(info, 0, "size");
  bool huge = ArgBool(info, 1, "hugepages");
  std::shared_ptr<DmaBufferCore> core = device("dma.alloc").AllocDma(size, huge);
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

// dmaRanges() → [{ start, last }] the IOVA windows of the device's DMA space
Napi::Value NativeDevice::DmaRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& ranges = device("dma.ranges").dma_space()->ranges();
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
