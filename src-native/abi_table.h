// abi_table.h — the ABI as data for JavaScript, generated from abi.h.
#pragma once

#include <napi.h>

namespace vfiocdx {

// { constants: {NAME: value}, structs: {name: {size, fields: {f: [offset, size]}}},
//   minsz: {NAME: bytes}, sys: {O_*/PROT_*/MAP_*/EFD_*: value} }: JavaScript never restates a
// number or an offset (lib/native.ts AbiTable, vfio-cdx/raw).
Napi::Object AbiTable(Napi::Env env);

}  // namespace vfiocdx
