// napi_device.h — the JS face of an open vfio-cdx Device.
//
// Owns: the Device (and through it the device fd, its mappings and its IOMMU
// backend) and the MsiDelivery of its interrupts (napi_msi.h). DMA buffers reach JS
// through napi_dma_buffer.h. close() and the environment's teardown both go
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
#include "napi_msi.h"
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
  // Closes everything; `notify` detaches JS buffers (JS thread only, never at teardown).
  void CloseHandles(bool notify);

 private:
  Device& device(const char* what);
  uint32_t MsiVector(const Napi::CallbackInfo& info);

  std::string name_;
  // Null once closed: close() frees the Device and everything it owned, not the GC.
  std::unique_ptr<Device> device_;
  MsiDelivery msi_;
  AddonData* data_ = nullptr;  // null once unregistered (closed or environment torn down)
};

}  // namespace vfiocdx
