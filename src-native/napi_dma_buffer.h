// napi_dma_buffer.h — the JS face of a DMA buffer and of a device's IOVA windows.
//
// A DMA buffer reaches JavaScript as a plain object { buffer, iova, size, free() }: `buffer` is an
// external ArrayBuffer over the buffer's memory (null where the runtime refuses external
// buffers), `free()` frees it at once (the Device frees the rest at close). The free function
// holds a share of the DmaBufferCore and a weak reference to the ArrayBuffer, which Free()
// detaches before the memory goes; the function's finalizer drops both.
// Thread: the JS thread of the environment that allocated the buffer.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "dma_buffer.h"
#include "dma_space.h"

namespace vfiocdx {

Napi::Object DmaBufferObject(Napi::Env env, std::shared_ptr<DmaBufferCore> core);
// [{ start, last }] as bigints.
Napi::Array IovaRangesArray(Napi::Env env, const std::vector<IovaRange>& ranges);

}  // namespace vfiocdx
