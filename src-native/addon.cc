// addon.cc — module initialisation: per-environment state, teardown, the exports.
//
// Everything the addon keeps lives in the environment's instance data
// (AddonData), so the main thread and every worker have their own state and
// their own event loop; nothing native is global except the registry that lets
// a worker find a mock kernel made by another thread (napi_mock_control.cc).
#include <napi.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi_table.h"
#include "cdx_sysfs.h"
#include "mock_schema.h"
#include "napi_device.h"
#include "napi_kernel.h"
#include "napi_lnic.h"
#include "napi_mock_control.h"
#include "napi_mapping.h"
#include "napi_util.h"

namespace vfiocdx {

namespace {

// setup({ sysError, usageError }): the JS error constructors, handed over once
// at load so that errors thrown by native code are `instanceof VfioError`.
Napi::Value Setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "setup() takes an object");
  Napi::Object o = info[0].As<Napi::Object>();
  AddonData* data = GetData(env);
  if (o.Get("sysError").IsFunction()) data->sys_error = Napi::Persistent(o.Get("sysError").As<Napi::Function>());
  if (o.Get("usageError").IsFunction()) {
    data->usage_error = Napi::Persistent(o.Get("usageError").As<Napi::Function>());
  }
  return env.Undefined();
}

// setTrace(fn | null): NODE_DEBUG=vfio-cdx tracing of every seam call.
Napi::Value SetTrace(const Napi::CallbackInfo& info) {
  AddonData* data = GetData(info.Env());
  if (info[0].IsFunction()) {
    data->trace = Napi::Persistent(info[0].As<Napi::Function>());
  } else {
    data->trace.Reset();
  }
  return info.Env().Undefined();
}

// Environment teardown: close every device still open, without touching JS
// (the heap is going away). Their mappings are unmapped, MSI poll handles
// closed and fds closed. Asynchronous because uv handles finish closing on a
// later loop turn: the hook is removed when the last one has.
void Teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  *data->alive = false;
  auto devices = data->devices;  // CloseHandles erases from the set
  for (NativeDevice* d : devices) d->CloseHandles(false);
  if (data->pending_closes == 0) {
    napi_remove_async_cleanup_hook(handle);
  } else {
    data->cleanup_handle = handle;
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->env = env;
  env.SetInstanceData<AddonData>(data);  // deleted by the environment at teardown
  napi_add_async_cleanup_hook(env, Teardown, data, nullptr);
  data->owner_key = Napi::Persistent(Napi::Symbol::New(env, "vfio-cdx mapping"));

  data->kernel_ctor = Napi::Persistent(NativeKernel::Define(env));
  data->device_ctor = Napi::Persistent(NativeDevice::Define(env));
  data->mapping_ctor = Napi::Persistent(NativeMapping::Define(env));
  data->mock_control_ctor = Napi::Persistent(NativeMockControl::Define(env));

  exports.Set("NativeKernel", data->kernel_ctor.Value());
  exports.Set("NativeDevice", data->device_ctor.Value());
  exports.Set("NativeMapping", data->mapping_ctor.Value());
  exports.Set("NativeMockControl", data->mock_control_ctor.Value());
  exports.Set("setup", Napi::Function::New(env, Setup, "setup"));
  exports.Set("setTrace", Napi::Function::New(env, SetTrace, "setTrace"));
  exports.Set("systemKernel", Napi::Function::New(env, SystemKernel, "systemKernel"));
  exports.Set("createMockKernel", Napi::Function::New(env, CreateMockKernel, "createMockKernel"));
  exports.Set("attachMockKernel", Napi::Function::New(env, AttachMockKernel, "attachMockKernel"));
  exports.Set("mockControl", Napi::Function::New(env, MockControl, "mockControl"));
  exports.Set("mockSchema", Napi::Function::New(
                                env, [](const Napi::CallbackInfo& info) -> Napi::Value { return MockSchema(info.Env()); },
                                "mockSchema"));
  exports.Set("isDeviceName", Napi::Function::New(
                                  env,
                                  [](const Napi::CallbackInfo& info) -> Napi::Value {
                                    bool ok = info[0].IsString() &&
                                              CdxSysfs::IsValidDeviceName(info[0].As<Napi::String>().Utf8Value());
                                    return Napi::Boolean::New(info.Env(), ok);
                                  },
                                  "isDeviceName"));
  // Live native devices and mapped (not yet unmapped) mappings in the process: the tests' way to see that close()
  // frees native state at once, not when the GC finalizes a wrapper.
  exports.Set("_live", Napi::Function::New(
                           env,
                           [](const Napi::CallbackInfo& info) -> Napi::Value {
                             Napi::Object o = Napi::Object::New(info.Env());
                             o.Set("devices", Napi::Number::New(info.Env(), double(LiveCount<Device>::Get())));
                             o.Set("mappings", Napi::Number::New(info.Env(), double(LiveCount<MappingCore>::Get())));
                             return o;
                           },
                           "_live"));
  exports.Set("abi", AbiTable(env));
  exports.Set("lnicControl", Napi::Function::New(env, LnicControl, "lnicControl"));
  // For native code of another addon in this process (bench_hooks.h): the benchmark's C loops.
  Napi::Object hooks = Napi::Object::New(env);
  hooks.Set("kernel", Napi::Function::New(env, KernelHooks, "kernel"));
  exports.Set("_hooks", hooks);
  return exports;
}

}  // namespace
}  // namespace vfiocdx

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return vfiocdx::Init(env, exports); }
NODE_API_MODULE(vfio_cdx, InitModule)
