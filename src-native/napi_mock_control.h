// napi_mock_control.h — the JS handle on a MockKernel's control side (vfio-cdx/mock).
//
// What a test does to the mock that a program cannot do to a real kernel: add devices, look at a
// device's own memory and state, raise MSI, do DMA as the device, inject faults, trace calls.
// mockControl(kernel) makes one for a mock kernel's NativeKernel; the system kernel has none.
// Also here: the module functions that create a mock kernel or attach to one by token, and the
// token registry behind them.
//
// Owns: a share of the MockKernel (the ArrayBuffers of region() views hold their own share).
// Thread: the JS thread of its environment; the MockKernel itself is thread-safe.
#pragma once

#include <napi.h>

#include <memory>

#include "mock/mock_kernel.h"

namespace vfiocdx {

class NativeMockControl : public Napi::ObjectWrap<NativeMockControl> {
 public:
  static constexpr const char* kClassName = "NativeMockControl";
  static const napi_type_tag kTypeTag;
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Create(Napi::Env env, std::shared_ptr<mock::MockKernel> mock);

  explicit NativeMockControl(const Napi::CallbackInfo& info);

  Napi::Value Token(const Napi::CallbackInfo& info);
  Napi::Value AddDevice(const Napi::CallbackInfo& info);
  Napi::Value Region(const Napi::CallbackInfo& info);
  Napi::Value Status(const Napi::CallbackInfo& info);
  Napi::Value DeviceNames(const Napi::CallbackInfo& info);
  Napi::Value InjectFault(const Napi::CallbackInfo& info);
  Napi::Value ClearFaults(const Napi::CallbackInfo& info);
  Napi::Value SetCapSysRawio(const Napi::CallbackInfo& info);
  Napi::Value SetTracing(const Napi::CallbackInfo& info);
  Napi::Value TakeTrace(const Napi::CallbackInfo& info);
  Napi::Value OpenObjects(const Napi::CallbackInfo& info);
  Napi::Value Config(const Napi::CallbackInfo& info);
  Napi::Value RaiseMsi(const Napi::CallbackInfo& info);
  Napi::Value DmaRead(const Napi::CallbackInfo& info);
  Napi::Value DmaWrite(const Napi::CallbackInfo& info);

  const std::shared_ptr<mock::MockKernel>& mock() const { return mock_; }

 private:
  std::shared_ptr<mock::MockKernel> mock_;
};

// Module functions: createMockKernel(options) and attachMockKernel(token) → a NativeKernel on a
// mock; mockControl(kernel) → its NativeMockControl (ERR_INVALID_ARG_VALUE for the system kernel).
Napi::Value CreateMockKernel(const Napi::CallbackInfo& info);
Napi::Value AttachMockKernel(const Napi::CallbackInfo& info);
Napi::Value MockControl(const Napi::CallbackInfo& info);

}  // namespace vfiocdx
