// napi_util.h — per-environment addon state, receiver checks, argument parsing
// and the translation of C++ failures into the JS errors users see.
#pragma once

#include <napi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "sys.h"
#include "vfio_context.h"

namespace vfiocdx {

class NativeDevice;

// Per-environment state (main thread and each worker have their own), owned by
// the environment's instance data and freed when it is torn down.
struct AddonData {
  Napi::FunctionReference kernel_ctor;
  Napi::FunctionReference device_ctor;
  Napi::FunctionReference mapping_ctor;
  Napi::FunctionReference mock_control_ctor;
  Napi::FunctionReference sys_error;    // (errno, syscall, request, path) => VfioError
  Napi::FunctionReference usage_error;  // (code, message) => Error
  Napi::FunctionReference trace;        // NODE_DEBUG=vfio-cdx: (syscall, request, path, fd, result) => void
  std::set<NativeDevice*> devices;      // open devices, closed at environment teardown
  std::map<const Kernel*, std::weak_ptr<VfioContext>> contexts;
  Napi::ObjectReference system_kernel;
  Napi::Reference<Napi::Symbol> owner_key;  // property linking a mapping's ArrayBuffer to its mapping  // this environment's handle on the real kernel
  // uv handles being closed (their close callbacks free them); environment
  // teardown waits for them through the async cleanup hook.
  int pending_closes = 0;
  napi_async_cleanup_hook_handle cleanup_handle = nullptr;
  void PollClosed() {
    if (--pending_closes == 0 && cleanup_handle != nullptr) {
      napi_remove_async_cleanup_hook(cleanup_handle);
      cleanup_handle = nullptr;
    }
  }
  // Shared with trace hooks, which may outlive this struct: false once torn down.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  napi_env env = nullptr;

  // The context of `kernel` in this environment (one per kernel: it holds the
  // environment's open groups, which the kernel lets only one opener hold).
  std::shared_ptr<VfioContext> ContextFor(const std::shared_ptr<Kernel>& kernel);
};

inline AddonData* GetData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// Errors ---------------------------------------------------------------------
[[noreturn]] void ThrowTypeError(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void ThrowSysError(Napi::Env env, const SysError& e);
[[noreturn]] void ThrowUsageError(Napi::Env env, const UsageError& e);

// Runs `body`, turning SysError / UsageError into their JS errors.
template <typename F>
Napi::Value Guard(Napi::Env env, F body) {
  try {
    return body();
  } catch (const SysError& e) {
    ThrowSysError(env, e);
  } catch (const UsageError& e) {
    ThrowUsageError(env, e);
  } catch (const std::bad_alloc&) {
    ThrowRangeError(env, "ERR_MEMORY_ALLOCATION_FAILED", "out of memory");
  }
}

// Receiver checks ------------------------------------------------------------
// Each wrapped class has a type tag; every method checks `this` against it
// before unwrapping, so a method called on a wrong object is a TypeError,
// never a reinterpretation of someone else's native pointer.
template <typename T, Napi::Value (T::*M)(const Napi::CallbackInfo&)>
Napi::Value Checked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value self = info.This();
  if (!self.IsObject() || !self.As<Napi::Object>().CheckTypeTag(&T::kTypeTag)) {
    ThrowTypeError(env, "ERR_INVALID_THIS", std::string("Value of \"this\" must be of type ") + T::kClassName);
  }
  T* obj = T::Unwrap(self.As<Napi::Object>());
  return Guard(env, [&] { return (obj->*M)(info); });
}

// A prototype method that checks its receiver (V8 class templates cannot hold
// function values, so these are set on the prototype after DefineClass).
template <typename T, Napi::Value (T::*M)(const Napi::CallbackInfo&)>
Napi::PropertyDescriptor Method(Napi::Env env, const char* name) {
  return Napi::PropertyDescriptor::Value(name, Napi::Function::New(env, Checked<T, M>, name),
                                         static_cast<napi_property_attributes>(napi_writable | napi_configurable));
}

// DefineClass with no instance properties, then the checked methods on its prototype.
template <typename T>
Napi::Function DefineWithMethods(Napi::Env env, const std::initializer_list<Napi::PropertyDescriptor>& methods) {
  Napi::Function ctor = T::DefineClass(env, T::kClassName, {});
  ctor.Get("prototype").template As<Napi::Object>().DefineProperties(methods);
  return ctor;
}

// Constructors of wrapped classes are not for users: native code passes an
// External tagged with this tag as the only argument.
extern const napi_type_tag kConstructTag;
void CheckConstructToken(const Napi::CallbackInfo& info, const char* class_name);
Napi::External<void> ConstructToken(Napi::Env env, void* payload);

// Arguments --------------------------------------------------------------------
uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* name);
int32_t ArgI32(const Napi::CallbackInfo& info, size_t i, const char* name);
// A non-negative integer from a number (<= 2^53 - 1) or a bigint (< 2^64).
uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i, const char* name);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
// The bytes of a TypedArray or Buffer (ERR_INVALID_ARG_TYPE otherwise).
std::pair<uint8_t*, size_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* name);

}  // namespace vfiocdx
