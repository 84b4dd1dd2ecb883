// napi_lnic.h — JavaScript's handle on an lnic device model (vfio-cdx/mock: MockDevice.lnic).
//
// lnicControl(mockControl, device) returns a plain object of functions bound to one LnicPort (a share
// of the model, mock/lnic_model.h) and to the MockKernel it belongs to, so the model's mutex
// outlives every function. Each function holds its own share (freed by its finalizer), so any
// of them may be kept alone. step() is a raw N-API callback: the stepped benchmark calls it once
// per burst. Thread: the JS thread of the environment that made it.
#pragma once

#include <napi.h>

namespace vfiocdx {

// lnicControl(mockControl, device) → { setScheduler(mode, cpu), scheduler(), step(budget?, advanceNs?),
//   counters(), setResetDelay(ns), setCapture(frames), takeCapture(), hooks() }
Napi::Value LnicControl(const Napi::CallbackInfo& info);

// _hooks.kernel(kernel) → External<VfioCdxKernelHooks> (bench_hooks.h)
Napi::Value KernelHooks(const Napi::CallbackInfo& info);

}  // namespace vfiocdx
