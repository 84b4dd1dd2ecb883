// napi_kernel.cc — see napi_kernel.h.
#include "napi_kernel.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "napi_device.h"
#include "napi_util.h"

namespace vfiocdx {

const napi_type_tag NativeKernel::kTypeTag = {0x8c27d4f1b3e05a69ULL, 0x17b9e2c46d0f83a4ULL};

namespace {

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
                     });
}

Napi::Object NativeKernel::Create(Napi::Env env, std::shared_ptr<Kernel> kernel) {
  return GetData(env)->kernel_ctor.New({ConstructToken(env, &kernel)});
}

NativeKernel::NativeKernel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeKernel>(info) {
  CheckConstructToken(info, kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  kernel_ = *static_cast<std::shared_ptr<Kernel>*>(info[0].As<Napi::External<void>>().Data());
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

// ---- module functions

Napi::Value SystemKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = GetData(env);
  if (data->system_kernel.IsEmpty()) {
    data->system_kernel = Napi::Persistent(NativeKernel::Create(env, MakeLinuxKernel()));
  }
  return data->system_kernel.Value();
}

}  // namespace vfiocdx
