// mock_schema.h — what the mock's control side accepts from JavaScript, checked in one place.
//
// MockKernel.create() options, device specs, region specs and injectFault() specs are read here,
// strictly: an unknown key, a value of the wrong type, an unknown profile, model, ioctl, controller
// operation or path, and an errno that is not a positive errno number each throw a TypeError or
// RangeError with an ERR_* code whose message lists what is valid. Nothing is coerced, so a typo
// never passes silently. The TypeScript layer passes the user's objects through unchanged.
#pragma once

#include <napi.h>

#include "mock/mock_kernel.h"

namespace vfiocdx {

mock::KernelConfig ParseMockConfig(Napi::Env env, Napi::Object options);
mock::DeviceSpec ParseMockDevice(Napi::Env env, Napi::Value spec, const std::string& what);
// `kernel` answers whether a path fragment can ever match (MockKernel::ServesPath).
mock::Fault ParseMockFault(Napi::Env env, Napi::Value spec, mock::MockKernel& kernel);
// An errno from JavaScript: a positive errno number (1..4095, the kernel's MAX_ERRNO) or a
// name ("EIO") resolved by the caller; anything else is a RangeError.
int ParseErrno(Napi::Env env, Napi::Value v, const char* what);

// { profiles, models, ioctls, controllerOps, faultOps, configKeys, deviceKeys, regionKeys, faultKeys }
Napi::Object MockSchema(Napi::Env env);

}  // namespace vfiocdx
