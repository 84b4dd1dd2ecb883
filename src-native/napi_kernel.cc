// napi_kernel.cc — see napi_kernel.h.
#include "napi_kernel.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "mock_schema.h"
#include "napi_device.h"
#include "napi_util.h"
#include "mock/uaccess.h"

namespace vfiocdx {

const napi_type_tag NativeKernel::kTypeTag = {0x8c27d4f1b3e05a69ULL, 0x17b9e2c46d0f83a4ULL};

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

// The pointer a raw ioctl passes: a buffer's bytes, a bigint/number as a raw
// value (an address or an integer argument), or 0 for null/undefined.
uintptr_t IoctlArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (v.IsUndefined() || v.IsNull()) return 0;
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    return reinterpret_cast<uintptr_t>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  }
  if (v.IsDataView()) {
    auto dv = v.As<Napi::DataView>();
    return reinterpret_cast<uintptr_t>(static_cast<uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset());
  }
  if (v.IsArrayBuffer()) return reinterpret_cast<uintptr_t>(v.As<Napi::ArrayBuffer>().Data());
  return static_cast<uintptr_t>(ArgU64(info, i, "arg"));
}

std::pair<uint8_t*, size_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray()) {
    ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE",
                   std::string("The \"") + name + "\" argument must be a TypedArray or Buffer");
  }
  auto ta = info[i].As<Napi::TypedArray>();
  return {static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ByteLength()};
}

}  // namespace

Napi::Function NativeKernel::Define(Napi::Env env) {
  using K = NativeKernel;
  return DefineWithMethods<NativeKernel>(env,
                     {
                         Method<K, &K::Open>(env, "open"),
                         Method<K, &K::Close>(env, "close"),
                         Method<K, &K::Ioctl>(env, "ioctl"),
                         Method<K, &K::Mmap>(env, "mmap"),
                         Method<K, &K::Munmap>(env, "munmap"),
                         Method<K, &K::Read>(env, "read"),
                         Method<K, &K::Write>(env, "write"),
                         Method<K, &K::Eventfd>(env, "eventfd"),
                         Method<K, &K::PageSize>(env, "pageSize"),
                         Method<K, &K::ReadDir>(env, "readDir"),
                         Method<K, &K::ReadLink>(env, "readLink"),
                         Method<K, &K::ReadFile>(env, "readFile"),
                         Method<K, &K::WriteFile>(env, "writeFile"),
                         Method<K, &K::Stat>(env, "stat"),
                         Method<K, &K::Name>(env, "name"),
                         Method<K, &K::OpenDevice>(env, "openDevice"),
                         Method<K, &K::OpenHere>(env, "openHere"),
                         Method<K, &K::BusPresent>(env, "busPresent"),
                         Method<K, &K::BusList>(env, "busList"),
                         Method<K, &K::BusDevice>(env, "busDevice"),
                         Method<K, &K::BusWrite<&CdxSysfs::Bind>>(env, "busBind"),
                         Method<K, &K::BusWrite<&CdxSysfs::Unbind>>(env, "busUnbind"),
                         Method<K, &K::BusWrite<&CdxSysfs::Reset>>(env, "busReset"),
                         Method<K, &K::BusWrite<&CdxSysfs::Remove>>(env, "busRemove"),
                         Method<K, &K::BusRescan>(env, "busRescan"),
                         Method<K, &K::MockToken>(env, "mockToken"),
                         Method<K, &K::MockAddDevice>(env, "mockAddDevice"),
                         Method<K, &K::MockRegion>(env, "mockRegion"),
                         Method<K, &K::MockStatus>(env, "mockStatus"),
                         Method<K, &K::MockDeviceNames>(env, "mockDeviceNames"),
                         Method<K, &K::MockInjectFault>(env, "mockInjectFault"),
                         Method<K, &K::MockClearFaults>(env, "mockClearFaults"),
                         Method<K, &K::MockSetCapSysRawio>(env, "mockSetCapSysRawio"),
                         Method<K, &K::MockSetTracing>(env, "mockSetTracing"),
                         Method<K, &K::MockTakeTrace>(env, "mockTakeTrace"),
                         Method<K, &K::MockOpenObjects>(env, "mockOpenObjects"),
                         Method<K, &K::MockConfig>(env, "mockConfig"),
                         Method<K, &K::MockRaiseMsi>(env, "mockRaiseMsi"),
                         Method<K, &K::MockDmaRead>(env, "mockDmaRead"),
                         Method<K, &K::MockDmaWrite>(env, "mockDmaWrite"),
                     });
}

Napi::Object NativeKernel::Create(Napi::Env env, std::shared_ptr<Kernel> kernel) {
  return GetData(env)->kernel_ctor.New({ConstructToken(env, &kernel)});
}

NativeKernel::NativeKernel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeKernel>(info) {
  CheckConstructToken(info, kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  kernel_ = *static_cast<std::shared_ptr<Kernel>*>(info[0].As<Napi::External<void>>().Data());
  mock_ = std::dynamic_pointer_cast<mock::MockKernel>(kernel_);
}

mock::MockKernel& NativeKernel::Mock(const Napi::CallbackInfo& info) {
  if (!mock_) ThrowTypeError(info.Env(), "ERR_INVALID_THIS", "this is the system kernel, not a MockKernel");
  return *mock_;
}

// ---- raw seam operations

Napi::Value NativeKernel::Open(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  int flags = ArgI32(info, 1, "flags");
  return Num(info.Env(), kernel_->Open(path, flags));
}

Napi::Value NativeKernel::Close(const Napi::CallbackInfo& info) {
  return Num(info.Env(), kernel_->Close(ArgI32(info, 0, "fd")));
}

Napi::Value NativeKernel::Ioctl(const Napi::CallbackInfo& info) {
  int fd = ArgI32(info, 0, "fd");
  uint32_t request = ArgU32(info, 1, "request");
  uintptr_t arg = IoctlArg(info, 2);
  return Num(info.Env(), static_cast<double>(kernel_->Ioctl(fd, request, arg)));
}

// mmap(fd, offset, length, prot, flags) → { result, address }
Napi::Value NativeKernel::Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgI32(info, 0, "fd");
  uint64_t offset = ArgU64(info, 1, "offset");
  uint64_t length = ArgU64(info, 2, "length");
  int prot = ArgI32(info, 3, "prot");
  int flags = ArgI32(info, 4, "flags");
  void* addr = nullptr;
  int rc = kernel_->Mmap(nullptr, static_cast<size_t>(length), prot, flags, fd, static_cast<int64_t>(offset), &addr);
  Napi::Object o = Napi::Object::New(env);
  o.Set("result", Num(env, rc));
  o.Set("address", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(rc == 0 ? addr : nullptr))));
  return o;
}

Napi::Value NativeKernel::Munmap(const Napi::CallbackInfo& info) {
  uint64_t addr = ArgU64(info, 0, "address");
  uint64_t length = ArgU64(info, 1, "length");
  return Num(info.Env(), kernel_->Munmap(reinterpret_cast<void*>(static_cast<uintptr_t>(addr)), length));
}

Napi::Value NativeKernel::Read(const Napi::CallbackInfo& info) {
  int fd = ArgI32(info, 0, "fd");
  auto [data, size] = BufferArg(info, 1, "buffer");
  return Num(info.Env(), static_cast<double>(kernel_->Read(fd, data, size)));
}

Napi::Value NativeKernel::Write(const Napi::CallbackInfo& info) {
  int fd = ArgI32(info, 0, "fd");
  auto [data, size] = BufferArg(info, 1, "buffer");
  return Num(info.Env(), static_cast<double>(kernel_->Write(fd, data, size)));
}

Napi::Value NativeKernel::PageSize(const Napi::CallbackInfo& info) {
  return Num(info.Env(), static_cast<double>(kernel_->PageSize()));
}

Napi::Value NativeKernel::Eventfd(const Napi::CallbackInfo& info) {
  return Num(info.Env(), kernel_->Eventfd(ArgU32(info, 0, "initval"), ArgI32(info, 1, "flags")));
}

Napi::Value NativeKernel::ReadDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> names;
  int rc = kernel_->ReadDir(ArgString(info, 0, "path"), &names);
  if (rc < 0) return Num(env, rc);
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

Napi::Value NativeKernel::ReadLink(const Napi::CallbackInfo& info) {
  std::string target;
  int rc = kernel_->ReadLink(ArgString(info, 0, "path"), &target);
  if (rc < 0) return Num(info.Env(), rc);
  return Napi::String::New(info.Env(), target);
}

Napi::Value NativeKernel::ReadFile(const Napi::CallbackInfo& info) {
  std::string contents;
  int rc = kernel_->ReadFile(ArgString(info, 0, "path"), &contents);
  if (rc < 0) return Num(info.Env(), rc);
  return Napi::String::New(info.Env(), contents);
}

Napi::Value NativeKernel::WriteFile(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  std::string data = ArgString(info, 1, "data");
  return Num(info.Env(), static_cast<double>(kernel_->WriteFile(path, data)));
}

Napi::Value NativeKernel::Stat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct stat st;
  int rc = kernel_->Stat(ArgString(info, 0, "path"), &st);
  if (rc < 0) return Num(env, rc);
  Napi::Object o = Napi::Object::New(env);
  o.Set("mode", Num(env, st.st_mode));
  o.Set("uid", Num(env, st.st_uid));
  o.Set("gid", Num(env, st.st_gid));
  o.Set("rdev", Num(env, static_cast<double>(st.st_rdev)));
  o.Set("size", Num(env, static_cast<double>(st.st_size)));
  return o;
}

Napi::Value NativeKernel::Name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), kernel_->Name());
}

Napi::Value NativeKernel::OpenDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  std::string path = ArgString(info, 1, "path");
  OpenPath p = OpenPath::kAuto;
  if (path == "group") {
    p = OpenPath::kGroup;
  } else if (path == "cdev") {
    p = OpenPath::kCdev;
  } else if (path != "auto") {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "The \"path\" option must be 'auto', 'group' or 'cdev'");
  }
  auto ctx = GetData(env)->ContextFor(kernel_);
  return NativeDevice::Create(env, Device::Open(std::move(ctx), name, p));
}

std::vector<std::string> NativeKernel::OpenHereNames(Napi::Env env) const {
  std::vector<std::string> names;
  for (NativeDevice* d : GetData(env)->devices) {
    if (d->OpenOn(kernel_.get())) names.push_back(d->name());
  }
  return names;
}

Napi::Value NativeKernel::OpenHere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> names = OpenHereNames(env);
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

// ---- the CDX bus through sysfs (cdx_sysfs.h): traced through this environment's Sys

CdxSysfs NativeKernel::Sysfs(Napi::Env env) const {
  std::vector<std::string> open = OpenHereNames(env);
  return CdxSysfs(GetData(env)->ContextFor(kernel_)->sys(), [open](const std::string& name) {
    return std::find(open.begin(), open.end(), name) != open.end();
  });
}

// A device name the bus API accepts: the TypeScript layer has already checked it (a TypeError
// there); this check keeps any other caller from building a path out of it.
static std::string BusName(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "name");
  if (!CdxSysfs::IsValidDeviceName(name)) {
    ThrowTypeError(info.Env(), "ERR_INVALID_ARG_VALUE", "not a CDX device name (cdx-XX:YY): '" + name + "'");
  }
  return name;
}

static Napi::Object EntryObject(Napi::Env env, const CdxEntry& e) {
  auto opt_string = [&](const std::optional<std::string>& s) -> Napi::Value {
    return s ? Napi::Value(Napi::String::New(env, *s)) : env.Null();
  };
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", e.name);
  o.Set("vendorId", Napi::Number::New(env, e.vendor_id));
  o.Set("deviceId", Napi::Number::New(env, e.device_id));
  o.Set("subsystemVendorId", Napi::Number::New(env, e.subsystem_vendor_id));
  o.Set("subsystemDeviceId", Napi::Number::New(env, e.subsystem_device_id));
  o.Set("classCode", Napi::Number::New(env, e.class_code));
  o.Set("revision", Napi::Number::New(env, e.revision));
  o.Set("driver", opt_string(e.driver));
  o.Set("driverOverride", opt_string(e.driver_override));
  o.Set("iommuGroup", e.iommu_group ? Napi::Value(Napi::Number::New(env, *e.iommu_group)) : env.Null());
  o.Set("vfioDevice", opt_string(e.vfio_device));
  o.Set("modalias", e.modalias);
  return o;
}

Napi::Value NativeKernel::BusPresent(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Sysfs(info.Env()).BusPresent());
}

Napi::Value NativeKernel::BusList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CdxSysfs sysfs = Sysfs(env);
  std::vector<std::string> names = sysfs.DeviceNames();
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), EntryObject(env, sysfs.Entry(names[i])));
  return out;
}

Napi::Value NativeKernel::BusDevice(const Napi::CallbackInfo& info) {
  std::string name = BusName(info);
  CdxSysfs sysfs = Sysfs(info.Env());
  sysfs.CheckExists(name);
  return EntryObject(info.Env(), sysfs.Entry(name));
}

template <void (CdxSysfs::*Op)(const std::string&) const>
Napi::Value NativeKernel::BusWrite(const Napi::CallbackInfo& info) {
  std::string name = BusName(info);
  (Sysfs(info.Env()).*Op)(name);
  return info.Env().Undefined();
}

Napi::Value NativeKernel::BusRescan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sysfs(env).Rescan(OpenHereNames(env));
  return env.Undefined();
}

// ---- mock control side

Napi::Value NativeKernel::MockToken(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TokenOf(&Mock(info)));
}

Napi::Value NativeKernel::MockAddDevice(const Napi::CallbackInfo& info) {
  mock::MockKernel& m = Mock(info);
  std::string error;
  int rc = m.AddDevice(ParseMockDevice(info.Env(), info[0], "spec"), &error);
  if (rc < 0) ThrowTypeError(info.Env(), "ERR_INVALID_ARG_VALUE", "mock device rejected: " + error);
  return info.Env().Undefined();
}

// A view of the device's own memory, for tests: the bytes the device sees.
Napi::Value NativeKernel::MockRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "device");
  uint64_t instance = ArgU64(info, 1, "instance");
  uint32_t index = ArgU32(info, 2, "index");
  uint8_t* data = nullptr;
  size_t size = 0;
  int rc = Mock(info).DeviceRegion(name, instance, index, &data, &size);
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

Napi::Value NativeKernel::MockStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mock::DeviceStatus s = Mock(info).Status(ArgString(info, 0, "device"));
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

Napi::Value NativeKernel::MockDeviceNames(const Napi::CallbackInfo& info) {
  auto names = Mock(info).DeviceNames();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

Napi::Value NativeKernel::MockInjectFault(const Napi::CallbackInfo& info) {
  mock::MockKernel& m = Mock(info);
  m.InjectFault(ParseMockFault(info.Env(), info[0], m));
  return info.Env().Undefined();
}

Napi::Value NativeKernel::MockClearFaults(const Napi::CallbackInfo& info) {
  Mock(info).ClearFaults();
  return info.Env().Undefined();
}

Napi::Value NativeKernel::MockSetCapSysRawio(const Napi::CallbackInfo& info) {
  Mock(info).SetCapSysRawio(ArgBool(info, 0, "on"));
  return info.Env().Undefined();
}

Napi::Value NativeKernel::MockSetTracing(const Napi::CallbackInfo& info) {
  Mock(info).SetTracing(ArgBool(info, 0, "on"));
  return info.Env().Undefined();
}

Napi::Value NativeKernel::MockTakeTrace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto records = Mock(info).TakeTrace();
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

Napi::Value NativeKernel::MockOpenObjects(const Napi::CallbackInfo& info) {
  return Num(info.Env(), static_cast<double>(Mock(info).OpenObjectCount()));
}

Napi::Value NativeKernel::MockConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const mock::KernelConfig& c = Mock(info).config();
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

// mockRaiseMsi(device, vector) → 0, or -errno (-EAGAIN: lost, MSI off or no trigger)
Napi::Value NativeKernel::MockRaiseMsi(const Napi::CallbackInfo& info) {
  std::string device = ArgString(info, 0, "device");
  uint32_t vector = ArgU32(info, 1, "vector");
  return Num(info.Env(), Mock(info).RaiseMsi(device, vector));
}

// mockDmaRead(device, iova, buffer) / mockDmaWrite(device, iova, buffer) → 0 or -errno:
// DMA as the device does it, through the device's IOMMU domain.
Napi::Value NativeKernel::MockDmaRead(const Napi::CallbackInfo& info) {
  std::string device = ArgString(info, 0, "device");
  uint64_t iova = ArgU64(info, 1, "iova");
  auto [data, size] = BufferArg(info, 2, "buffer");
  return Num(info.Env(), Mock(info).DmaRead(device, iova, data, size));
}

Napi::Value NativeKernel::MockDmaWrite(const Napi::CallbackInfo& info) {
  std::string device = ArgString(info, 0, "device");
  uint64_t iova = ArgU64(info, 1, "iova");
  auto [data, size] = BufferArg(info, 2, "buffer");
  return Num(info.Env(), Mock(info).DmaWrite(device, iova, data, size));
}

// ---- module functions

Napi::Value SystemKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = GetData(env);
  if (data->system_kernel.IsEmpty()) {
    data->system_kernel = Napi::Persistent(NativeKernel::Create(env, MakeLinuxKernel()));
  }
  return data->system_kernel.Value();
}

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

}  // namespace vfiocdx
