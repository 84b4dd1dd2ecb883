// napi_util.cc — see napi_util.h.
#include "napi_util.h"

#include <cmath>

namespace vfiocdx {

// Random-looking constants; they only need to differ from every other tag in
// the process (better-sqlite3 does the same).
const napi_type_tag kConstructTag = {0x6b3c1f0e9a2d4c57ULL, 0xa1d7e03b5f9c8e21ULL};

std::shared_ptr<VfioContext> AddonData::ContextFor(const std::shared_ptr<Kernel>& kernel) {
  auto& slot = contexts[kernel.get()];
  if (auto ctx = slot.lock()) return ctx;
  // The trace hook checks, on each call, whether tracing is on in this
  // environment and whether the environment is still alive.
  AddonData* data = this;
  std::shared_ptr<bool> alive = this->alive;
  TraceFn trace = [data, alive](const TraceRecord& r) {
    if (!*alive || data->trace.IsEmpty()) return;
    Napi::Env env(data->env);
    Napi::HandleScope scope(env);
    try {
      data->trace.Call({Napi::String::New(env, r.syscall), Napi::String::New(env, r.request),
                        Napi::String::New(env, *r.path), Napi::Number::New(env, r.fd),
                        Napi::Number::New(env, static_cast<double>(r.result))});
    } catch (const Napi::Error&) {
      // A throwing trace function must not abort the traced operation.
    }
  };
  auto ctx = std::make_shared<VfioContext>(std::make_shared<const Sys>(kernel, std::move(trace)));
  slot = ctx;
  return ctx;
}

namespace {

[[noreturn]] void ThrowWithCode(Napi::Error error, const char* code) {
  error.Set("code", Napi::String::New(error.Env(), code));
  throw error;
}

}  // namespace

void ThrowTypeError(Napi::Env env, const char* code, const std::string& message) {
  ThrowWithCode(Napi::TypeError::New(env, message), code);
}

void ThrowRangeError(Napi::Env env, const char* code, const std::string& message) {
  ThrowWithCode(Napi::RangeError::New(env, message), code);
}

void ThrowSysError(Napi::Env env, const SysError& e) {
  AddonData* data = GetData(env);
  if (data == nullptr || data->sys_error.IsEmpty()) {
    Napi::Error err = Napi::Error::New(env, e.syscall + " " + e.request + " " + e.path + " failed: errno " +
                                                std::to_string(e.err));
    err.Set("errno", Napi::Number::New(env, -e.err));
    throw err;
  }
  Napi::Value v = data->sys_error.Call({Napi::Number::New(env, e.err), Napi::String::New(env, e.syscall),
                                        Napi::String::New(env, e.request), Napi::String::New(env, e.path)});
  throw Napi::Error(env, v);
}

void ThrowUsageError(Napi::Env env, const UsageError& e) {
  AddonData* data = GetData(env);
  if (e.code == "ERR_OUT_OF_RANGE") ThrowRangeError(env, "ERR_OUT_OF_RANGE", e.what());
  if (e.code == "ERR_INVALID_ARG_VALUE") ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", e.what());
  if (data == nullptr || data->usage_error.IsEmpty()) ThrowWithCode(Napi::Error::New(env, e.what()), e.code.c_str());
  Napi::Value v = data->usage_error.Call({Napi::String::New(env, e.code), Napi::String::New(env, e.what())});
  throw Napi::Error(env, v);
}

void CheckConstructToken(const Napi::CallbackInfo& info, const char* class_name) {
  if (info.Length() != 1 || !info[0].IsExternal() || !info[0].As<Napi::External<void>>().CheckTypeTag(&kConstructTag)) {
    ThrowTypeError(info.Env(), "ERR_ILLEGAL_CONSTRUCTOR", std::string("Illegal constructor: ") + class_name +
                                                              " objects are made by the library");
  }
}

Napi::External<void> ConstructToken(Napi::Env env, void* payload) {
  auto ext = Napi::External<void>::New(env, payload);
  ext.TypeTag(&kConstructTag);
  return ext;
}

namespace {

std::string Received(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "type boolean";
    case napi_number: return "type number";
    case napi_string: return "type string";
    case napi_bigint: return "type bigint";
    case napi_symbol: return "type symbol";
    case napi_function: return "function";
    default: return "an instance of Object";
  }
}

[[noreturn]] void BadType(const Napi::CallbackInfo& info, size_t i, const char* name, const char* type) {
  ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE",
                 std::string("The \"") + name + "\" argument must be of type " + type + ". Received " +
                     Received(info[i]));
}

[[noreturn]] void OutOfRange(const Napi::CallbackInfo& info, const char* name, const std::string& range,
                             const std::string& got) {
  ThrowRangeError(info.Env(), "ERR_OUT_OF_RANGE",
                  std::string("The value of \"") + name + "\" is out of range. It must be " + range +
                      ". Received " + got);
}

double ArgInteger(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi,
                  const char* range) {
  if (!info[i].IsNumber()) BadType(info, i, name, "number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || std::floor(d) != d) OutOfRange(info, name, range, info[i].ToString().Utf8Value());
  return d;
}

}  // namespace

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return static_cast<uint32_t>(ArgInteger(info, i, name, 0, 4294967295.0, "an integer >= 0 and <= 4294967295"));
}

int32_t ArgI32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return static_cast<int32_t>(
      ArgInteger(info, i, name, -2147483648.0, 2147483647.0, "an integer >= -2147483648 and <= 2147483647"));
}

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info[i].IsBigInt()) {
    bool lossless = false;
    uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) OutOfRange(info, name, ">= 0n and < 2n ** 64n", info[i].ToString().Utf8Value() + "n");
    return v;
  }
  if (!info[i].IsNumber()) BadType(info, i, name, "number or bigint");
  return static_cast<uint64_t>(
      ArgInteger(info, i, name, 0, 9007199254740991.0, "an integer >= 0 and <= 2 ** 53 - 1"));
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) BadType(info, i, name, "boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsString()) BadType(info, i, name, "string");
  return info[i].As<Napi::String>().Utf8Value();
}

// The bytes of a TypedArray or Buffer argument.
std::pair<uint8_t*, size_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray()) {
    ThrowTypeError(info.Env(), "ERR_INVALID_ARG_TYPE",
                   std::string("The \"") + name + "\" argument must be a TypedArray or Buffer");
  }
  auto ta = info[i].As<Napi::TypedArray>();
  return {static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ByteLength()};
}

}  // namespace vfiocdx
