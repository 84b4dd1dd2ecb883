// napi_kernel.h — the JS handle on a kernel: the real one or a MockKernel.
//
// Owns: a share of the Kernel (a MockKernel is shared by every environment
// that attached to it and by the ArrayBuffers of its device-side views).
// Offers the raw seam operations (vfio-cdx/raw), device open, and, for a mock,
// its control side. Thread: the JS thread of its environment.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "cdx_sysfs.h"
#include "kernel.h"
#include "mock/mock_kernel.h"

namespace vfiocdx {

class NativeKernel : public Napi::ObjectWrap<NativeKernel> {
 public:
  static constexpr const char* kClassName = "NativeKernel";
  static const napi_type_tag kTypeTag;
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Create(Napi::Env env, std::shared_ptr<Kernel> kernel);

  explicit NativeKernel(const Napi::CallbackInfo& info);

  // raw seam operations: each returns the kernel's result (>= 0 or -errno)
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Ioctl(const Napi::CallbackInfo& info);
  Napi::Value Mmap(const Napi::CallbackInfo& info);
  Napi::Value Munmap(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Eventfd(const Napi::CallbackInfo& info);
  Napi::Value PageSize(const Napi::CallbackInfo& info);
  Napi::Value ReadDir(const Napi::CallbackInfo& info);
  Napi::Value ReadLink(const Napi::CallbackInfo& info);
  Napi::Value ReadFile(const Napi::CallbackInfo& info);
  Napi::Value WriteFile(const Napi::CallbackInfo& info);
  Napi::Value Stat(const Napi::CallbackInfo& info);
  Napi::Value Name(const Napi::CallbackInfo& info);

  Napi::Value OpenDevice(const Napi::CallbackInfo& info);
  // Names of the devices of this kernel that this environment holds open.
  Napi::Value OpenHere(const Napi::CallbackInfo& info);
  // The CDX bus (CdxBus in lib/bus.ts): list/device read sysfs, the rest write it.
  Napi::Value BusPresent(const Napi::CallbackInfo& info);
  Napi::Value BusList(const Napi::CallbackInfo& info);
  Napi::Value BusDevice(const Napi::CallbackInfo& info);
  // busBind / busUnbind / busReset / busRemove (name): one CdxSysfs write operation each.
  template <void (CdxSysfs::*Op)(const std::string&) const>
  Napi::Value BusWrite(const Napi::CallbackInfo& info);
  Napi::Value BusRescan(const Napi::CallbackInfo& info);

  // mock control side
  Napi::Value MockToken(const Napi::CallbackInfo& info);
  Napi::Value MockAddDevice(const Napi::CallbackInfo& info);
  Napi::Value MockRegion(const Napi::CallbackInfo& info);
  Napi::Value MockStatus(const Napi::CallbackInfo& info);
  Napi::Value MockDeviceNames(const Napi::CallbackInfo& info);
  Napi::Value MockInjectFault(const Napi::CallbackInfo& info);
  Napi::Value MockClearFaults(const Napi::CallbackInfo& info);
  Napi::Value MockSetCapSysRawio(const Napi::CallbackInfo& info);
  Napi::Value MockSetTracing(const Napi::CallbackInfo& info);
  Napi::Value MockTakeTrace(const Napi::CallbackInfo& info);
  Napi::Value MockOpenObjects(const Napi::CallbackInfo& info);
  Napi::Value MockConfig(const Napi::CallbackInfo& info);
  Napi::Value MockRaiseMsi(const Napi::CallbackInfo& info);
  Napi::Value MockDmaRead(const Napi::CallbackInfo& info);
  Napi::Value MockDmaWrite(const Napi::CallbackInfo& info);

  const std::shared_ptr<Kernel>& kernel() const { return kernel_; }

 private:
  mock::MockKernel& Mock(const Napi::CallbackInfo& info);
  std::vector<std::string> OpenHereNames(Napi::Env env) const;
  CdxSysfs Sysfs(Napi::Env env) const;
  std::shared_ptr<Kernel> kernel_;
  std::shared_ptr<mock::MockKernel> mock_;
};

// Module functions: systemKernel(), createMockKernel(config, devices), attachMockKernel(token).
Napi::Value SystemKernel(const Napi::CallbackInfo& info);
Napi::Value CreateMockKernel(const Napi::CallbackInfo& info);
Napi::Value AttachMockKernel(const Napi::CallbackInfo& info);

}  // namespace vfiocdx
