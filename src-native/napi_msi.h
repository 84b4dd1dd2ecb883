// napi_msi.h — MsiDelivery: a device's MSI vectors delivered on the JS event loop.
//
// Each enabled vector has an eventfd (owned by the Device) and a uv_poll on
// the environment's own loop (never uv_default_loop: workers have their own).
// Polling starts when JavaScript listens and stops when it stops listening;
// an unref'd vector does not keep the loop alive. On readable, the eventfd is
// read once, which drains it (the kernel adds 1 per interrupt, so the value read
// is the number of interrupts since the last read: they coalesce), and the count
// is delivered to the listener callback. Before an eventfd is closed its poll
// handle is uv_close()d, which removes the fd from epoll at once.
//
// Owns: the listener callback (weak unless a watched, ref'd vector makes it
// strong), its async context, and a pointer to each vector's VectorPoll. A
// VectorPoll is freed by its uv_close callback, never here: between Stop() and
// that callback it points at no MsiDelivery, and the environment's teardown
// waits for it (AddonData::pending_closes).
// Held by NativeDevice (one per device). Thread: the JS thread of its environment.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernel.h"

namespace vfiocdx {

struct AddonData;

class MsiDelivery {
 public:
  MsiDelivery() = default;
  // The device name its errors give.
  void set_name(std::string name) { name_ = std::move(name); }
  // The owner has stopped it (Device::Close runs before_msi_close): no poll can still point here.
  ~MsiDelivery();
  MsiDelivery(const MsiDelivery&) = delete;
  MsiDelivery& operator=(const MsiDelivery&) = delete;

  // Sets up one (stopped) poll per eventfd and takes `callback(vector, count)` as the listener.
  // On failure nothing is left polling; the caller then disables MSI on the device.
  void Start(Napi::Env env, AddonData* data, std::shared_ptr<Kernel> kernel, const std::vector<int>& fds,
             Napi::Function callback);
  size_t vectors() const { return polls_.size(); }
  // Start or stop watching a vector's eventfd; whether a watched vector keeps the loop alive.
  void Poll(Napi::Env env, uint32_t vector, bool on);
  void Ref(Napi::Env env, uint32_t vector, bool on);
  // uv_close every poll handle: runs before the eventfds close (Device::before_msi_close).
  void Stop();
  // Drops the listener and its async context (MSI disabled or device closed).
  void Release();

  struct VectorPoll;  // public for the uv callbacks in napi_msi.cc
  // Called from a vector's uv_poll callback on the JS thread.
  void Deliver(uint32_t vector, uint64_t count);

 private:
  VectorPoll* Vector(Napi::Env env, uint32_t vector);
  // The callback is held strongly only while some vector is watched and ref'd: like a libuv
  // handle, an active ref'd poll keeps its owner alive; otherwise the JS Device holds the callback
  // and the whole device stays collectable.
  void UpdateCallbackStrength();

  std::string name_;
  napi_env env_ = nullptr;
  std::vector<VectorPoll*> polls_;
  Napi::FunctionReference callback_;
  bool callback_strong_ = false;
  std::unique_ptr<Napi::AsyncContext> async_;
};

}  // namespace vfiocdx
