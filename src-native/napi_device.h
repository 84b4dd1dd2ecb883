// napi_device.h — the JS face of an open vfio-cdx Device.
//
// Owns: the Device (and through it the device fd, its mappings and its group /
// container / iommufd shares). close() and the environment's teardown both go
// through CloseHandles(); a device only reclaimed by GC is closed by the
// TypeScript layer's FinalizationRegistry (with a warning) or, last, here in
// the destructor. close() frees the Device object itself, so a closed device holds only its
// name until it is collected. Thread: the JS thread of its environment.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "mapping.h"
#include "vfio_device.h"

namespace vfiocdx {

struct AddonData;

class NativeDevice : public Napi::ObjectWrap<NativeDevice> {
 public:
  static constexpr const char* kClassName = "NativeDevice";
  static const napi_type_tag kTypeTag;
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Create(Napi::Env env, std::unique_ptr<Device> device);

  explicit NativeDevice(const Napi::CallbackInfo& info);
  ~NativeDevice() override;

  Napi::Value Describe(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Regions(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value BusMasterSupported(const Napi::CallbackInfo& info);
  Napi::Value SetBusMaster(const Napi::CallbackInfo& info);
  Napi::Value Map(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value DmaAlloc(const Napi::CallbackInfo& info);
  Napi::Value DmaRanges(const Napi::CallbackInfo& info);
  Napi::Value MsiInfo(const Napi::CallbackInfo& info);
  Napi::Value MsiEnable(const Napi::CallbackInfo& info);
  Napi::Value MsiPoll(const Napi::CallbackInfo& info);
  Napi::Value MsiRef(const Napi::CallbackInfo& info);
  Napi::Value MsiTrigger(const Napi::CallbackInfo& info);
  Napi::Value MsiDisable(const Napi::CallbackInfo& info);

  void UnmapChild(const std::shared_ptr<MappingCore>& core);
  // Whether this device is open on `kernel` under `name` (for CdxBus's "open here" checks).
  const std::string& name() const { return name_; }
  bool OpenOn(const Kernel* kernel) const { return device_ && !device_->closed() && device_->shared_kernel().get() == kernel; }
  // Called from a vector's uv_poll callback on the JS thread.
  void DeliverMsi(uint32_t vector, uint64_t count);
  // Closes everything; `notify` detaches JS buffers (JS thread only, never at teardown).
  void CloseHandles(bool notify);

 public:
  struct VectorPoll;  // public for the uv callbacks in napi_device.cc

 private:
  Device& device(const char* what);
  VectorPoll* Vector(const Napi::CallbackInfo& info);
  void StopPolls();  // uv_close every vector's poll handle (before its eventfd closes)
  // The MSI callback is held strongly only while some vector is watched and ref'd: like a libuv
  // handle, an active ref'd poll keeps its owner alive; otherwise the JS Device holds the callback
  // and the whole device stays collectable.
  void UpdateCallbackStrength();

  std::string name_;
  // Null once closed: close() frees the Device and everything it owned, not the GC.
  std::unique_ptr<Device> device_;
  // MSI delivery: one uv_poll per vector on this environment's loop. Each
  // VectorPoll is freed by its uv_close callback; `polls_` only points at them.
  std::vector<VectorPoll*> polls_;
  Napi::FunctionReference msi_callback_;  // weak unless UpdateCallbackStrength() made it strong
  bool callback_strong_ = false;
  std::unique_ptr<Napi::AsyncContext> msi_async_;
  AddonData* data_ = nullptr;  // null once unregistered (closed or environment torn down)
};

}  // namespace vfiocdx
