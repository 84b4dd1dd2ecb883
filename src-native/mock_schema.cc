// mock_schema.cc — see mock_schema.h.
#include "mock_schema.h"

#include <cmath>
#include <string>
#include <vector>

#include "cdx_sysfs.h"
#include "napi_util.h"
#include "vfio_device.h"

namespace vfiocdx {

namespace {

const std::vector<std::string> kConfigKeys = {
    "profile",       "devices",     "pageSize",    "capSysRawio",   "iommufd",       "iommu",
    "dtDmaRanges",   "vfioContainer", "vfioCdxDetachIoas", "noiommuConfig", "noiommuEnabled", "cdxBus", "vfioCdxLoaded",
    "dmaEntryLimit", "memlockLimit", "uid", "gid"};
const std::vector<std::string> kDeviceKeys = {
    "bus",       "dev",      "vendorId", "deviceId",   "subsystemVendorId", "subsystemDeviceId", "classCode",
    "revision",  "regions",  "msiCount", "model",      "iommuGroup",        "busMasterSupported", "bound"};
const std::vector<std::string> kRegionKeys = {"size", "readOnly", "addr", "init"};
// The calls a fault can hit: the JS key of each and the mock's op, in one table.
const std::vector<std::pair<std::string, mock::Fault::Op>> kFaultOpTable = {
    {"ioctl", mock::Fault::Op::kIoctl},         {"open", mock::Fault::Op::kOpen},
    {"mmap", mock::Fault::Op::kMmap},           {"eventfd", mock::Fault::Op::kEventfd},
    {"sysfsRead", mock::Fault::Op::kSysfsRead}, {"sysfsWrite", mock::Fault::Op::kSysfsWrite},
    {"readDir", mock::Fault::Op::kReadDir},     {"readLink", mock::Fault::Op::kReadLink},
    {"controller", mock::Fault::Op::kController}};
const std::vector<std::string> kFaultOps = [] {
  std::vector<std::string> names;
  for (const auto& entry : kFaultOpTable) names.push_back(entry.first);
  return names;
}();
const std::vector<std::string> kFaultKeys = {"errno", "times", "skip", "device"};

std::string List(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); i++) out += (i ? ", " : "") + ("'" + names[i] + "'");
  return out;
}

bool Contains(const std::vector<std::string>& names, const std::string& n) {
  for (const auto& x : names) {
    if (x == n) return true;
  }
  return false;
}

std::string Describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return std::string("type boolean (") + (v.As<Napi::Boolean>().Value() ? "true" : "false") + ")";
    case napi_number: return "type number (" + v.ToString().Utf8Value() + ")";
    case napi_string: {
      std::string s = v.As<Napi::String>().Utf8Value();
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return "type string ('" + s + "')";
    }
    case napi_bigint: return "type bigint (" + v.ToString().Utf8Value() + "n)";
    case napi_symbol: return "type symbol";
    case napi_function: return "function";
    default: return v.IsArray() ? "an Array" : "an instance of Object";
  }
}

// Reads one object strictly: every own enumerable key must be known, every value of its type.
class Reader {
 public:
  Reader(Napi::Env env, Napi::Value v, std::string what, const std::vector<std::string>& keys) : env_(env),
                                                                                             what_(std::move(what)) {
    if (!v.IsObject() || v.IsArray() || v.IsFunction()) {
      ThrowTypeError(env, "ERR_INVALID_ARG_TYPE",
                     "The \"" + what_ + "\" argument must be of type object. Received " + Describe(v));
    }
    o_ = v.As<Napi::Object>();
    Napi::Array names = o_.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string k = names.Get(i).ToString().Utf8Value();
      if (!Contains(keys, k)) {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE",
                       "Unknown key '" + k + "' in " + what_ + ". Valid keys: " + List(keys));
      }
    }
  }

  Napi::Object object() const { return o_; }
  bool Has(const char* key) const {
    Napi::Value v = o_.Get(key);
    return !v.IsUndefined();
  }
  Napi::Value Get(const char* key) const { return o_.Get(key); }
  std::string Name(const char* key) const { return what_ + "." + key; }

  bool Bool(const char* key, bool fallback) const {
    Napi::Value v = o_.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsBoolean()) BadType(key, "boolean", v);
    return v.As<Napi::Boolean>().Value();
  }

  // A non-negative integer <= max from a number (a safe integer) or, when `bigint_ok`, a bigint.
  uint64_t Uint(const char* key, uint64_t max, uint64_t fallback, bool bigint_ok = false) const {
    Napi::Value v = o_.Get(key);
    if (v.IsUndefined()) return fallback;
    uint64_t out = 0;
    if (bigint_ok && v.IsBigInt()) {
      bool lossless = false;
      out = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) OutOfRange(key, max, v);
    } else if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) OutOfRange(key, max, v);
      out = static_cast<uint64_t>(d);
    } else {
      BadType(key, bigint_ok ? "number or bigint" : "number", v);
    }
    if (out > max) OutOfRange(key, max, v);
    return out;
  }

  int64_t Int(const char* key, int64_t min, int64_t max, int64_t fallback) const {
    Napi::Value v = o_.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsNumber()) BadType(key, "number", v);
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || std::floor(d) != d) {
      ThrowRangeError(env_, "ERR_OUT_OF_RANGE", "The value of \"" + Name(key) + "\" is out of range. It must be an integer >= " +
                                                    std::to_string(min) + " and <= " + std::to_string(max) +
                                                    ". Received " + Describe(v));
    }
    return static_cast<int64_t>(d);
  }

  std::string String(const char* key, const std::string& fallback) const {
    Napi::Value v = o_.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsString()) BadType(key, "string", v);
    return v.As<Napi::String>().Utf8Value();
  }

  std::string OneOf(const char* key, const std::vector<std::string>& valid, const std::string& fallback) const {
    std::string s = String(key, fallback);
    if (!Has(key) || Contains(valid, s)) return s;
    ThrowTypeError(env_, "ERR_INVALID_ARG_VALUE",
                   "Unknown " + Name(key) + " '" + s + "'. Valid values: " + List(valid));
  }

  [[noreturn]] void BadType(const char* key, const char* type, const Napi::Value& v) const {
    ThrowTypeError(env_, "ERR_INVALID_ARG_TYPE",
                   "The \"" + Name(key) + "\" property must be of type " + type + ". Received " + Describe(v));
  }

  [[noreturn]] void OutOfRange(const char* key, uint64_t max, const Napi::Value& v) const {
    ThrowRangeError(env_, "ERR_OUT_OF_RANGE", "The value of \"" + Name(key) + "\" is out of range. It must be an integer >= 0 and <= " +
                                                  std::to_string(max) + ". Received " + Describe(v));
  }

 private:
  Napi::Env env_;
  std::string what_;
  Napi::Object o_;
};

std::vector<uint8_t> ParseInit(Napi::Env env, Napi::Value v, const std::string& what) {
  std::vector<uint8_t> out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto ta = v.As<Napi::Uint8Array>();
    out.assign(ta.Data(), ta.Data() + ta.ByteLength());
    return out;
  }
  if (!v.IsArray()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE",
                   "The \"" + what + "\" property must be a Uint8Array or an array of bytes. Received " + Describe(v));
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value b = a.Get(i);
    double d = b.IsNumber() ? b.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 255) || std::floor(d) != d) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE",
                      "The value of \"" + what + "[" + std::to_string(i) + "]\" is out of range. It must be an integer >= 0 and <= 255. Received " +
                          Describe(b));
    }
    out.push_back(static_cast<uint8_t>(d));
  }
  return out;
}

}  // namespace

mock::KernelConfig ParseMockConfig(Napi::Env env, Napi::Object options) {
  Reader r(env, options, "options", kConfigKeys);
  mock::KernelConfig c;
  std::string profile = r.OneOf("profile", mock::ProfileNames(), "linux-6.12");
  mock::ProfileConfig(profile, &c);
  c.iommu = r.Bool("iommu", c.iommu);
  c.iommufd = r.Bool("iommufd", c.iommufd);
  c.dt_dma_ranges = r.Bool("dtDmaRanges", c.dt_dma_ranges);
  c.vfio_container = r.Bool("vfioContainer", c.vfio_container);
  c.vfio_cdx_detach_ioas = r.Bool("vfioCdxDetachIoas", c.vfio_cdx_detach_ioas);
  c.noiommu_config = r.Bool("noiommuConfig", c.noiommu_config);
  c.noiommu_enabled = r.Bool("noiommuEnabled", c.noiommu_enabled);
  c.cdx_bus = r.Bool("cdxBus", c.cdx_bus);
  c.vfio_cdx_loaded = r.Bool("vfioCdxLoaded", c.vfio_cdx_loaded);
  c.uid = static_cast<uint32_t>(r.Uint("uid", 0xffffffffu, c.uid));
  c.gid = static_cast<uint32_t>(r.Uint("gid", 0xffffffffu, c.gid));
  c.cap_sys_rawio = r.Bool("capSysRawio", c.uid == 0 && c.cap_sys_rawio);  // a caller other than root: no caps
  c.page_size = static_cast<size_t>(r.Uint("pageSize", uint64_t{1} << 30, c.page_size));
  c.dma_entry_limit = static_cast<uint32_t>(r.Uint("dmaEntryLimit", 0xffffffffu, c.dma_entry_limit));
  c.memlock_limit = r.Uint("memlockLimit", ~uint64_t{0}, c.memlock_limit, true);
  return c;
}

mock::DeviceSpec ParseMockDevice(Napi::Env env, Napi::Value spec, const std::string& what) {
  Reader r(env, spec, what, kDeviceKeys);
  mock::DeviceSpec d;
  if (!r.Has("dev")) r.BadType("dev", "number", r.Get("dev"));
  if (!r.Has("deviceId")) r.BadType("deviceId", "number", r.Get("deviceId"));
  d.bus = static_cast<uint8_t>(r.Uint("bus", 0xf, 0));
  d.dev = static_cast<uint8_t>(r.Uint("dev", 0xff, 0));
  d.vendor = static_cast<uint16_t>(r.Uint("vendorId", 0xffff, d.vendor));
  d.device = static_cast<uint16_t>(r.Uint("deviceId", 0xffff, 0));
  d.subsystem_vendor = static_cast<uint16_t>(r.Uint("subsystemVendorId", 0xffff, 0));
  d.subsystem_device = static_cast<uint16_t>(r.Uint("subsystemDeviceId", 0xffff, 0));
  d.class_code = static_cast<uint32_t>(r.Uint("classCode", 0xffffff, 0));
  d.revision = static_cast<uint8_t>(r.Uint("revision", 0xff, 0));
  d.num_msi = static_cast<uint32_t>(r.Uint("msiCount", 2048, 0));
  d.model = r.OneOf("model", mock::ModelNames(), "");
  d.iommu_group = static_cast<int>(r.Int("iommuGroup", -1, 0x7fffffff, -1));
  d.bus_master_supported = r.Bool("busMasterSupported", true);
  d.bind = r.Bool("bound", false);
  Napi::Value regions = r.Get("regions");
  if (!regions.IsUndefined()) {
    if (!regions.IsArray()) r.BadType("regions", "Array", regions);
    Napi::Array arr = regions.As<Napi::Array>();
    if (arr.Length() > 4) {
      ThrowRangeError(env, "ERR_OUT_OF_RANGE", "A CDX device has at most 4 regions (MAX_CDX_DEV_RESOURCES); " +
                                                   r.Name("regions") + " has " + std::to_string(arr.Length()));
    }
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Reader rr(env, arr.Get(i), r.Name("regions") + "[" + std::to_string(i) + "]", kRegionKeys);
      mock::RegionSpec rs;
      if (!rr.Has("size")) rr.BadType("size", "number", rr.Get("size"));
      rs.size = rr.Uint("size", uint64_t{1} << 40, 0);  // 0 reaches the kernel's own check
      rs.addr = rr.Uint("addr", ~uint64_t{0}, 0, true);
      rs.read_only = rr.Bool("readOnly", false);
      if (rr.Has("init")) rs.init = ParseInit(env, rr.Get("init"), rr.Name("init"));
      d.regions.push_back(std::move(rs));
    }
  }
  return d;
}

int ParseErrno(Napi::Env env, Napi::Value v, const char* what) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
  if (!(d >= 1 && d <= 4095) || std::floor(d) != d) {
    ThrowRangeError(env, "ERR_OUT_OF_RANGE",
                    std::string("The value of \"") + what +
                        "\" is out of range. It must be an errno name such as 'EIO' or a positive errno number "
                        "1..4095. Received " + Describe(v));
  }
  return static_cast<int>(d);
}

mock::Fault ParseMockFault(Napi::Env env, Napi::Value spec, mock::MockKernel& kernel) {
  std::vector<std::string> keys = kFaultKeys;
  keys.insert(keys.end(), kFaultOps.begin(), kFaultOps.end());
  Reader r(env, spec, "fault", keys);
  std::vector<std::string> ops;
  for (const auto& op : kFaultOps) {
    if (r.Has(op.c_str())) ops.push_back(op);
  }
  if (ops.size() != 1) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE",
                   "A fault names exactly one call to fail, one of " + List(kFaultOps) + "; this one names " +
                       (ops.empty() ? std::string("none") : List(ops)));
  }
  const std::string op = ops[0];
  mock::Fault f;
  for (const auto& [name, value] : kFaultOpTable) {
    if (name == op) f.op = value;
  }
  f.match = r.String(op.c_str(), "*");
  f.device = r.String("device", "");
  if (!f.device.empty() && !CdxSysfs::IsValidDeviceName(f.device)) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE",
                   "The \"fault.device\" property must be a CDX device name such as 'cdx-00:00'. Received '" + f.device +
                       "'");
  }
  switch (f.op) {
    case mock::Fault::Op::kIoctl:
      if (f.match != "*" && !Contains(mock::IoctlNames(), f.match)) {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE",
                       "Unknown ioctl '" + f.match + "' in fault.ioctl. Valid values: '*', " + List(mock::IoctlNames()));
      }
      break;
    case mock::Fault::Op::kController:
      if (!Contains(mock::ControllerOpNames(), f.match)) {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "Unknown controller operation '" + f.match +
                                                         "' in fault.controller. Valid values: " +
                                                         List(mock::ControllerOpNames()));
      }
      break;
    case mock::Fault::Op::kMmap:
    case mock::Fault::Op::kEventfd:
      if (f.match != "*" && !CdxSysfs::IsValidDeviceName(f.match)) {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "fault." + op + " takes '*' or a CDX device name such as 'cdx-00:00'. Received '" +
                                                         f.match + "'");
      }
      break;
    default: {  // a path fragment
      std::vector<std::string> examples;
      if (f.match.empty()) {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "fault." + op + " must be '*' or part of a path; received ''");
      }
      if (f.match != "*" && !kernel.ServesPath(f.match, &examples)) {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE",
                       "No path this mock kernel serves, now or once its devices are bound, contains '" + f.match +
                           "' (fault." + op + "). It serves, for example: " + List(examples));
      }
    }
  }
  if (!r.Has("errno")) r.BadType("errno", "number", r.Get("errno"));
  f.err = ParseErrno(env, r.Get("errno"), "fault.errno");
  f.times = static_cast<int>(r.Int("times", -1, 0x7fffffff, 1));
  f.skip = static_cast<int>(r.Int("skip", 0, 0x7fffffff, 0));
  return f;
}

Napi::Object MockSchema(Napi::Env env) {
  auto array = [env](const std::vector<std::string>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
    return a;
  };
  Napi::Object o = Napi::Object::New(env);
  o.Set("profiles", array(mock::ProfileNames()));
  o.Set("models", array(mock::ModelNames()));
  o.Set("ioctls", array(mock::IoctlNames()));
  o.Set("controllerOps", array(mock::ControllerOpNames()));
  o.Set("faultOps", array(kFaultOps));
  o.Set("configKeys", array(kConfigKeys));
  o.Set("deviceKeys", array(kDeviceKeys));
  o.Set("regionKeys", array(kRegionKeys));
  o.Set("faultKeys", array(kFaultKeys));
  return o;
}

}  // namespace vfiocdx
