// napi_mock_control.cc — see napi_mock_control.h.
#include "napi_mock_control.h"

#include <cerrno>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mock/uaccess.h"
#include "mock_schema.h"
#include "napi_kernel.h"
#include "napi_util.h"

namespace vfiocdx {

const napi_type_tag NativeMockControl::kTypeTag = {0x5e1f0a9d37c24b86ULL, 0xa4c9137e0b2d6f58ULL};

namespace {

// Mock kernels by token, so a worker thread can attach to a mock made by
// another thread. Process-wide on purpose: a mock kernel is, like the real
// one, shared by every thread of the process. Weak: the registry never keeps
// a mock alive.
std::mutex g_mock_mutex;
std::map<std::string, std::weak_ptr<mock::MockKernel>> g_mocks;
uint64_t g_mock_counter = 0;

std::string RegisterMock(const std::shared_ptr<mock::MockKernel>& m) {
  std::lock_guard<std::mutex> lock(g_mock_mutex);
  for (auto it = g_mocks.begin(); it != g_mocks.end();) it = it->second.expired() ? g_mocks.erase(it) : ++it;
  std::string token = "mock-" + std::to_string(++g_mock_counter);
  g_mocks[token] = m;
  return token;
}

std::string TokenOf(const mock::MockKernel* m) {
  std::lock_guard<std::mutex> lock(g_mock_mutex);
  for (auto& [token, weak] : g_mocks) {
    if (weak.lock().get() == m) return token;
  }
  return "";
}

Napi::Number Num(Napi::Env env, double v) { return Napi::Number::New(env, v); }

}  // namespace

Napi::Function NativeMockControl::Define(Napi::Env env) {
  using C = NativeMockControl;
  return DefineWithMethods<NativeMockControl>(env,
                     {
                         Method<C, &C::Token>(env, "token"),
                         Method<C, &C::AddDevice>(env, "addDevice"),
                         Method<C, &C::Region>(env, "region"),
                         Method<C, &C::Status>(env, "status"),
                         Method<C, &C::DeviceNames>(env, "deviceNames"),
                         Method<C, &C::InjectFault>(env, "injectFault"),
                         Method<C, &C::ClearFaults>(env, "clearFaults"),
                         Method<C, &C::SetCapSysRawio>(env, "setCapSysRawio"),
                         Method<C, &C::SetTracing>(env, "setTracing"),
                         Method<C, &C::TakeTrace>(env, "takeTrace"),
                         Method<C, &C::OpenObjects>(env, "openObjects"),
                         Method<C, &C::Config>(env, "config"),
                         Method<C, &C::RaiseMsi>(env, "raiseMsi"),
                         Method<C, &C::DmaRead>(env, "dmaRead"),
                         Method<C, &C::DmaWrite>(env, "dmaWrite"),
                     });
}

Napi::Object NativeMockControl::Create(Napi::Env env, std::shared_ptr<mock::MockKernel> mock) {
  return GetData(env)->mock_control_ctor.New({ConstructToken(env, &mock)});
}

NativeMockControl::NativeMockControl(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeMockControl>(info) {
  CheckConstructToken(info, kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  mock_ = *static_cast<std::shared_ptr<mock::MockKernel>*>(info[0].As<Napi::External<void>>().Data());
}

Napi::Value NativeMockControl::Token(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TokenOf(mock_.get()));
}

Napi::Value NativeMockControl::AddDevice(const Napi::CallbackInfo& info) {
  mock::MockKernel& m = *mock_;
  std::string error;
  int rc = m.AddDevice(ParseMockDevice(info.Env(), info[0], "spec"), &error);
  if (rc < 0) ThrowTypeError(info.Env(), "ERR_INVALID_ARG_VALUE", "mock device rejected: " + error);
  return info.Env().Undefined();
}

// A view of the device's own memory, for tests: the bytes the device sees.
Napi::Value NativeMockControl::Region(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "device");
  uint64_t instance = ArgU64(info, 1, "instance");
  uint32_t index = ArgU32(info, 2, "index");
  uint8_t* data = nullptr;
  size_t size = 0;
  int rc = mock_->DeviceRegion(name, instance, index, &data, &size);
  if (rc == -ESTALE || rc == -ENODEV) {
    throw UsageError("ERR_VFIO_MOCK_DEVICE_GONE", name + " was removed" +
                                                      (rc == -ESTALE ? " (a rescan made a new device of that name: "
                                                                       "call kernel.device(name) again)"
                                                                     : ""));
  }
  if (rc < 0) ThrowRangeError(env, "ERR_OUT_OF_RANGE", "no region " + std::to_string(index) + " on " + name);
  // The buffer holds a share of the mock, so the memory outlives every view.
  auto* keep = new std::shared_ptr<mock::MockKernel>(mock_);
  return Napi::ArrayBuffer::New(env, data, size, [](Napi::Env, void*, std::shared_ptr<mock::MockKernel>* k) { delete k; },
                                keep);
}

Napi::Value NativeMockControl::Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mock::DeviceStatus s = mock_->Status(ArgString(info, 0, "device"));
  Napi::Object o = Napi::Object::New(env);
  o.Set("exists", Napi::Boolean::New(env, s.exists));
  o.Set("instance", Num(env, static_cast<double>(s.instance)));
  o.Set("busMaster", Napi::Boolean::New(env, s.bus_master));
  o.Set("resets", Num(env, static_cast<double>(s.resets)));
  o.Set("driver", s.driver);
  o.Set("openCount", Num(env, s.open_count));
  o.Set("msiEnabled", Napi::Boolean::New(env, s.msi_enabled));
  o.Set("numRegions", Num(env, s.num_regions));
  o.Set("dmaErrors", Num(env, static_cast<double>(s.dma_errors)));
  return o;
}

Napi::Value NativeMockControl::DeviceNames(const Napi::CallbackInfo& info) {
  auto names = mock_->DeviceNames();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

Napi::Value NativeMockControl::InjectFault(const Napi::CallbackInfo& info) {
  mock::MockKernel& m = *mock_;
  m.InjectFault(ParseMockFault(info.Env(), info[0], m));
  return info.Env().Undefined();
}

Napi::Value NativeMockControl::ClearFaults(const Napi::CallbackInfo& info) {
  mock_->ClearFaults();
  return info.Env().Undefined();
}

Napi::Value NativeMockControl::SetCapSysRawio(const Napi::CallbackInfo& info) {
  mock_->SetCapSysRawio(ArgBool(info, 0, "on"));
  return info.Env().Undefined();
}

Napi::Value NativeMockControl::SetTracing(const Napi::CallbackInfo& info) {
  mock_->SetTracing(ArgBool(info, 0, "on"));
  return info.Env().Undefined();
}

Napi::Value NativeMockControl::TakeTrace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto records = mock_->TakeTrace();
  Napi::Array out = Napi::Array::New(env, records.size());
  for (size_t i = 0; i < records.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("op", records[i].op);
    o.Set("name", records[i].name);
    o.Set("fd", Num(env, records[i].fd));
    o.Set("result", Num(env, static_cast<double>(records[i].result)));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value NativeMockControl::OpenObjects(const Napi::CallbackInfo& info) {
  return Num(info.Env(), static_cast<double>(mock_->OpenObjectCount()));
}

Napi::Value NativeMockControl::Config(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const mock::KernelConfig& c = mock_->config();
  Napi::Object o = Napi::Object::New(env);
  o.Set("profile", c.profile);
  o.Set("iommu", Napi::Boolean::New(env, c.iommu));
  o.Set("dtDmaRanges", Napi::Boolean::New(env, c.dt_dma_ranges));
  o.Set("iommufd", Napi::Boolean::New(env, c.iommufd));
  o.Set("vfioContainer", Napi::Boolean::New(env, c.vfio_container));
  o.Set("vfioCdxDetachIoas", Napi::Boolean::New(env, c.vfio_cdx_detach_ioas));
  o.Set("noiommuConfig", Napi::Boolean::New(env, c.noiommu_config));
  o.Set("noiommuEnabled", Napi::Boolean::New(env, c.noiommu_enabled));
  o.Set("cdxBus", Napi::Boolean::New(env, c.cdx_bus));
  o.Set("uid", Num(env, c.uid));
  o.Set("gid", Num(env, c.gid));
  o.Set("vfioCdxLoaded", Napi::Boolean::New(env, c.vfio_cdx_loaded));
  o.Set("capSysRawio", Napi::Boolean::New(env, c.cap_sys_rawio));
  o.Set("pageSize", Num(env, static_cast<double>(c.page_size)));
  o.Set("dmaEntryLimit", Num(env, c.dma_entry_limit));
  o.Set("memlockLimit", Num(env, static_cast<double>(c.memlock_limit)));
  o.Set("userAccess", mock::UserAccessMethod());
  return o;
}

// raiseMsi(device, vector) → 0, or -errno (-EAGAIN: lost, MSI off or no trigger)
Napi::Value NativeMockControl::RaiseMsi(const Napi::CallbackInfo& info) {
  std::string device = ArgString(info, 0, "device");
  uint32_t vector = ArgU32(info, 1, "vector");
  return Num(info.Env(), mock_->RaiseMsi(device, vector));
}

// dmaRead(device, iova, buffer) / dmaWrite(device, iova, buffer) → 0 or -errno:
// DMA as the device does it, through the device's IOMMU domain.
Napi::Value NativeMockControl::DmaRead(const Napi::CallbackInfo& info) {
  std::string device = ArgString(info, 0, "device");
  uint64_t iova = ArgU64(info, 1, "iova");
  auto [data, size] = BufferArg(info, 2, "buffer");
  return Num(info.Env(), mock_->DmaRead(device, iova, data, size));
}

Napi::Value NativeMockControl::DmaWrite(const Napi::CallbackInfo& info) {
  std::string device = ArgString(info, 0, "device");
  uint64_t iova = ArgU64(info, 1, "iova");
  auto [data, size] = BufferArg(info, 2, "buffer");
  return Num(info.Env(), mock_->DmaWrite(device, iova, data, size));
}

// ---- module functions

Napi::Value CreateMockKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject() || info[0].IsArray()) {
      ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"options\" argument must be of type object");
    }
    mock::KernelConfig config = ParseMockConfig(env, info[0].As<Napi::Object>());
    // Every device is checked before the kernel exists, so a bad spec creates nothing.
    std::vector<mock::DeviceSpec> specs;
    Napi::Value devices = info[0].As<Napi::Object>().Get("devices");
    if (!devices.IsUndefined()) {
      if (!devices.IsArray()) {
        ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"options.devices\" property must be an Array");
      }
      Napi::Array arr = devices.As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); i++) {
        specs.push_back(ParseMockDevice(env, arr.Get(i), "options.devices[" + std::to_string(i) + "]"));
      }
    }
    std::string error;
    // The mock reads every ioctl argument through an emulated copy_from_user; without a way to
    // do that which reports bad pointers as EFAULT it cannot answer like the kernel at all.
    if (*mock::UserAccessMethod(&error) == '\0') throw UsageError("ERR_VFIO_MOCK_NO_USER_ACCESS", error);
    auto m = mock::MockKernel::Create(config, &error);
    if (!m) ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "mock kernel rejected its configuration: " + error);
    for (const auto& spec : specs) {
      if (m->AddDevice(spec, &error) < 0) ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "mock device rejected: " + error);
    }
    RegisterMock(m);
    return NativeKernel::Create(env, m);
  });
}

Napi::Value AttachMockKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string token = ArgString(info, 0, "token");
  std::shared_ptr<mock::MockKernel> m;
  {
    std::lock_guard<std::mutex> lock(g_mock_mutex);
    auto it = g_mocks.find(token);
    if (it != g_mocks.end()) m = it->second.lock();
  }
  if (!m) ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "no live mock kernel '" + token + "'");
  return NativeKernel::Create(env, m);
}

Napi::Value MockControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&NativeKernel::kTypeTag)) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "The \"kernel\" argument must be a kernel handle");
  }
  auto m = std::dynamic_pointer_cast<mock::MockKernel>(NativeKernel::Unwrap(info[0].As<Napi::Object>())->kernel());
  if (!m) ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "the system kernel has no mock control side");
  return NativeMockControl::Create(env, std::move(m));
}

}  // namespace vfiocdx
