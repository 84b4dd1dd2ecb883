// napi_mapping.h — the JS face of one MappingCore: an external ArrayBuffer over
// the mapped bytes and exact-width native accessors.
//
// Owns: a share of the MappingCore (the Device owns the mmap itself), a weak
// reference to its ArrayBuffer (detached before any unmap) and a strong
// reference to its parent NativeDevice's JS object, so the parent cannot be
// collected while a mapping of it is reachable. Thread: its environment's.
#pragma once

#include <napi.h>

#include <memory>

#include "mapping.h"

namespace vfiocdx {

class NativeDevice;

class NativeMapping : public Napi::ObjectWrap<NativeMapping> {
 public:
  static constexpr const char* kClassName = "NativeMapping";
  static const napi_type_tag kTypeTag;
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Create(Napi::Env env, Napi::Object device, NativeDevice* owner,
                             std::shared_ptr<MappingCore> core, Napi::Value* buffer);

  explicit NativeMapping(const Napi::CallbackInfo& info);
  ~NativeMapping() override;

  Napi::Value Mapped(const Napi::CallbackInfo& info);
  Napi::Value Unmap(const Napi::CallbackInfo& info);
  // The exact-width accessors, as plain functions bound to this mapping.
  Napi::Value Accessors(const Napi::CallbackInfo& info);
  // Called by the parent device when it unmaps us during close().
  void DetachBuffer();

 private:
  std::shared_ptr<MappingCore> core_;
  NativeDevice* owner_ = nullptr;
  Napi::ObjectReference device_;
  Napi::Reference<Napi::ArrayBuffer> buffer_;  // weak
};

}  // namespace vfiocdx
