// napi_kernel.h — the JS handle on a kernel: the real one or a MockKernel.
//
// Owns: a share of the Kernel (a MockKernel is shared by every environment
// that attached to it and by the ArrayBuffers of its device-side views).
// Offers the raw seam operations (vfio-cdx/raw), device open and the CDX bus.
// A mock's control side is NativeMockControl (napi_mock_control.h).
// Thread: the JS thread of its environment.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "cdx_sysfs.h"
#include "kernel.h"

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

  const std::shared_ptr<Kernel>& kernel() const { return kernel_; }

 private:
  std::vector<std::string> OpenHereNames(Napi::Env env) const;
  CdxSysfs Sysfs(Napi::Env env) const;
  std::shared_ptr<Kernel> kernel_;
};

// Module function systemKernel(): this environment's handle on the real kernel.
Napi::Value SystemKernel(const Napi::CallbackInfo& info);

}  // namespace vfiocdx
