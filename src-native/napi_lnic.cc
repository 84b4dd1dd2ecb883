// napi_lnic.cc — see napi_lnic.h.
#include "napi_lnic.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "bench_hooks.h"
#include "mock/lnic_model.h"
#include "mock/mock_kernel.h"
#include "napi_kernel.h"
#include "napi_mock_control.h"
#include "napi_util.h"

namespace vfiocdx {

namespace {

// What every function of one lnicControl() object shares.
struct LnicHolder {
  std::shared_ptr<mock::MockKernel> kernel;  // keeps the model's mutex alive
  std::shared_ptr<mock::LnicPort> port;
  std::string device;
};
using HolderRef = std::shared_ptr<LnicHolder>;

const std::shared_ptr<Kernel>& KernelOf(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsObject() || !info[i].As<Napi::Object>().CheckTypeTag(&NativeKernel::kTypeTag)) {
    ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a kernel handle");
  }
  return NativeKernel::Unwrap(info[i].As<Napi::Object>())->kernel();
}

const std::shared_ptr<mock::MockKernel>& MockOf(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsObject() || !info[i].As<Napi::Object>().CheckTypeTag(&NativeMockControl::kTypeTag)) {
    ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a mock control handle");
  }
  return NativeMockControl::Unwrap(info[i].As<Napi::Object>())->mock();
}

[[noreturn]] void Gone(const std::string& device) {
  throw UsageError("ERR_VFIO_MOCK_DEVICE_GONE", "mock device " + device + " was removed");
}

// The error of a port call that answered -errno.
void Check(const LnicHolder& h, long rc) {
  if (rc == -ENODEV) Gone(h.device);
  if (rc == -EBUSY) {
    throw UsageError("ERR_VFIO_LNIC_NOT_STEPPED",
                     "the lnic model of " + h.device + " runs on its own thread: setScheduler('stepped') before step()");
  }
}

const char* SchedulerName(mock::LnicScheduler s) {
  switch (s) {
    case mock::LnicScheduler::kStepped: return "stepped";
    case mock::LnicScheduler::kThreaded: return "threaded";
    case mock::LnicScheduler::kBusy: return "busy";
  }
  return "?";
}

// A function bound to a share of the holder, released by the function's finalizer.
Napi::Function Bound(Napi::Env env, const char* name, napi_callback cb, const HolderRef& h) {
  auto* share = new HolderRef(h);
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, share, &fn), Napi::Function());
  napi_add_finalizer(env, fn, share, [](napi_env, void* d, void*) { delete static_cast<HolderRef*>(d); }, nullptr,
                     nullptr);
  return Napi::Function(env, fn);
}

// Runs body(holder, info) with the usual translation of C++ failures into JS errors.
template <typename F>
napi_value Call(napi_env raw, napi_callback_info cbinfo, F body) {
  Napi::CallbackInfo info(raw, cbinfo);
  Napi::Env env(raw);
  try {
    const LnicHolder& h = **static_cast<HolderRef*>(info.Data());
    return Guard(env, [&]() -> Napi::Value { return body(h, info); });
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

// step(budget = 2^32 - 1, advanceNs = 0) → frames moved. The hot path of the stepped benchmark:
// no C++ wrappers unless something is wrong.
napi_value Step(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  void* data = nullptr;
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, &data);
  const LnicHolder& h = **static_cast<HolderRef*>(data);
  uint32_t budget = 0xffffffffu;
  int64_t advance = 0;
  bool ok = true;
  if (argc >= 1) {
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t != napi_undefined) ok = napi_get_value_uint32(env, argv[0], &budget) == napi_ok;
  }
  if (ok && argc >= 2) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined) ok = napi_get_value_int64(env, argv[1], &advance) == napi_ok && advance >= 0;
  }
  long rc = ok ? h.port->Step(budget, static_cast<uint64_t>(advance)) : -EINVAL;
  if (rc >= 0) {
    napi_value out;
    napi_create_uint32(env, static_cast<uint32_t>(rc), &out);
    return out;
  }
  return Call(env, cbinfo, [rc](const LnicHolder& hh, const Napi::CallbackInfo& info) -> Napi::Value {
    if (rc == -EINVAL) {
      ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE",
                     "step(budget, advanceNs) takes a budget (a uint32 number) and a number of ns >= 0");
    }
    Check(hh, rc);
    return info.Env().Undefined();
  });
}

napi_value SetScheduler(napi_env env, napi_callback_info cbinfo) {
  return Call(env, cbinfo, [](const LnicHolder& h, const Napi::CallbackInfo& info) -> Napi::Value {
    std::string mode = ArgString(info, 0, "mode");
    int cpu = ArgI32(info, 1, "cpu");
    mock::LnicScheduler s;
    if (mode == "stepped") {
      s = mock::LnicScheduler::kStepped;
    } else if (mode == "threaded") {
      s = mock::LnicScheduler::kThreaded;
    } else if (mode == "busy") {
      s = mock::LnicScheduler::kBusy;
    } else {
      ThrowTypeError(info.Env(), "ERR_INVALID_ARG_VALUE",
                     "The scheduler must be 'stepped', 'threaded' or 'busy'. Received '" + mode + "'");
    }
    Check(h, h.port->SetScheduler(s, cpu));
    return info.Env().Undefined();
  });
}

napi_value GetScheduler(napi_env env, napi_callback_info cbinfo) {
  return Call(env, cbinfo, [](const LnicHolder& h, const Napi::CallbackInfo& info) -> Napi::Value {
    mock::LnicScheduler s = mock::LnicScheduler::kStepped;
    Check(h, h.port->Scheduler(&s));
    return Napi::String::New(info.Env(), SchedulerName(s));
  });
}

napi_value Counters(napi_env env, napi_callback_info cbinfo) {
  return Call(env, cbinfo, [](const LnicHolder& h, const Napi::CallbackInfo& info) -> Napi::Value {
    mock::LnicCounters c;
    Check(h, h.port->Counters(&c));
    Napi::Env e = info.Env();
    Napi::Object o = Napi::Object::New(e);
    o.Set("steps", Napi::Number::New(e, static_cast<double>(c.steps)));
    o.Set("passes", Napi::Number::New(e, static_cast<double>(c.passes)));
    o.Set("packets", Napi::Number::New(e, static_cast<double>(c.packets)));
    o.Set("stepNs", Napi::Number::New(e, c.step_ns));
    o.Set("busyNs", Napi::Number::New(e, c.busy_ns));
    o.Set("threadNs", Napi::Number::New(e, c.thread_ns));
    o.Set("msis", Napi::Number::New(e, static_cast<double>(c.msis)));
    o.Set("msisLost", Napi::Number::New(e, static_cast<double>(c.msis_lost)));
    return o;
  });
}

napi_value SetResetDelay(napi_env env, napi_callback_info cbinfo) {
  return Call(env, cbinfo, [](const LnicHolder& h, const Napi::CallbackInfo& info) -> Napi::Value {
    Check(h, h.port->SetResetDelay(ArgU64(info, 0, "ns")));
    return info.Env().Undefined();
  });
}

napi_value SetCapture(napi_env env, napi_callback_info cbinfo) {
  return Call(env, cbinfo, [](const LnicHolder& h, const Napi::CallbackInfo& info) -> Napi::Value {
    Check(h, h.port->SetCapture(ArgU32(info, 0, "frames")));
    return info.Env().Undefined();
  });
}

// takeCapture() → [Uint8Array]: the frames recorded since setCapture(), oldest first.
napi_value TakeCapture(napi_env env, napi_callback_info cbinfo) {
  return Call(env, cbinfo, [](const LnicHolder& h, const Napi::CallbackInfo& info) -> Napi::Value {
    std::vector<std::vector<uint8_t>> frames;
    Check(h, h.port->TakeCapture(&frames));
    Napi::Array out = Napi::Array::New(info.Env(), frames.size());
    for (size_t i = 0; i < frames.size(); i++) {
      out.Set(static_cast<uint32_t>(i), Napi::Uint8Array::New(info.Env(), frames[i].size()));
      Napi::Uint8Array a = out.Get(static_cast<uint32_t>(i)).As<Napi::Uint8Array>();
      memcpy(a.Data(), frames[i].data(), frames[i].size());
    }
    return out;
  });
}

// ---- C hooks (bench_hooks.h)

struct LnicHookBox {
  VfioCdxLnicHooks hooks;
  HolderRef* ctx;
};

long HookStep(void* ctx, uint32_t budget, uint64_t advance_ns) {
  return (*static_cast<HolderRef*>(ctx))->port->Step(budget, advance_ns);
}

int HookCounters(void* ctx, VfioCdxLnicCounters* out) {
  mock::LnicCounters c;
  int rc = (*static_cast<HolderRef*>(ctx))->port->Counters(&c);
  if (rc == 0) *out = {c.steps, c.passes, c.packets, c.step_ns, c.busy_ns, c.thread_ns};
  return rc;
}

void* HookRetain(void* ctx) { return new HolderRef(*static_cast<HolderRef*>(ctx)); }
void HookRelease(void* ctx) { delete static_cast<HolderRef*>(ctx); }

napi_value Hooks(napi_env env, napi_callback_info cbinfo) {
  return Call(env, cbinfo, [](const LnicHolder&, const Napi::CallbackInfo& info) -> Napi::Value {
    auto* box = new LnicHookBox{};
    box->ctx = new HolderRef(*static_cast<HolderRef*>(info.Data()));
    box->hooks = {VFIO_CDX_HOOKS_ABI, sizeof(VfioCdxLnicHooks), box->ctx, HookStep, HookCounters, HookRetain,
                  HookRelease};
    auto ext = Napi::External<VfioCdxLnicHooks>::New(info.Env(), &box->hooks, [box](Napi::Env, VfioCdxLnicHooks*) {
      delete box->ctx;
      delete box;
    });
    static const napi_type_tag kTag = VFIO_CDX_LNIC_HOOKS_TAG;
    NAPI_THROW_IF_FAILED(info.Env(), napi_type_tag_object(info.Env(), ext, &kTag), Napi::Value());
    return ext;
  });
}

// ---- kernel hooks

using KernelRef = std::shared_ptr<Kernel>;

struct KernelHookBox {
  VfioCdxKernelHooks hooks;
  KernelRef* ctx;
};

long KIoctl(void* ctx, int fd, unsigned long request, uintptr_t arg) {
  return (*static_cast<KernelRef*>(ctx))->Ioctl(fd, request, arg);
}
int KMmap(void* ctx, size_t length, int prot, int flags, int fd, int64_t offset, void** out) {
  return (*static_cast<KernelRef*>(ctx))->Mmap(nullptr, length, prot, flags, fd, offset, out);
}
int KMunmap(void* ctx, void* addr, size_t length) { return (*static_cast<KernelRef*>(ctx))->Munmap(addr, length); }
long KRead(void* ctx, int fd, void* buf, size_t count) { return (*static_cast<KernelRef*>(ctx))->Read(fd, buf, count); }
int KRaiseMsi(void* ctx, const char* device, uint32_t vector) {
  auto m = std::dynamic_pointer_cast<mock::MockKernel>(*static_cast<KernelRef*>(ctx));
  return m ? m->RaiseMsi(device, vector) : -ENOTSUP;
}
void* KRetain(void* ctx) { return new KernelRef(*static_cast<KernelRef*>(ctx)); }
void KRelease(void* ctx) { delete static_cast<KernelRef*>(ctx); }

}  // namespace

Napi::Value LnicControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::shared_ptr<mock::MockKernel> m = MockOf(info, 0);
    std::string device = ArgString(info, 1, "device");
    auto h = std::make_shared<LnicHolder>();
    h->kernel = m;
    h->device = device;
    int rc = m->Lnic(device, &h->port);
    if (rc == -ENODEV) Gone(device);
    if (rc < 0) {
      throw UsageError("ERR_VFIO_MOCK_NOT_LNIC", "mock device " + device + " does not run the 'lnic' model");
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", Bound(env, "step", Step, h));
    o.Set("setScheduler", Bound(env, "setScheduler", SetScheduler, h));
    o.Set("scheduler", Bound(env, "scheduler", GetScheduler, h));
    o.Set("counters", Bound(env, "counters", Counters, h));
    o.Set("setResetDelay", Bound(env, "setResetDelay", SetResetDelay, h));
    o.Set("setCapture", Bound(env, "setCapture", SetCapture, h));
    o.Set("takeCapture", Bound(env, "takeCapture", TakeCapture, h));
    o.Set("hooks", Bound(env, "hooks", Hooks, h));
    return o;
  });
}

Napi::Value KernelHooks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto* box = new KernelHookBox{};
    box->ctx = new KernelRef(KernelOf(info, 0));
    box->hooks = {VFIO_CDX_HOOKS_ABI, sizeof(VfioCdxKernelHooks), box->ctx, KIoctl, KMmap, KMunmap, KRead,
                  KRaiseMsi, KRetain, KRelease};
    auto ext = Napi::External<VfioCdxKernelHooks>::New(env, &box->hooks, [box](Napi::Env, VfioCdxKernelHooks*) {
      delete box->ctx;
      delete box;
    });
    static const napi_type_tag kTag = VFIO_CDX_KERNEL_HOOKS_TAG;
    NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &kTag), Napi::Value());
    return ext;
  });
}

}  // namespace vfiocdx
