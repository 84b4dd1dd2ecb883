// napi_msi.cc — see napi_msi.h.
#include "napi_msi.h"

#include "napi_util.h"

namespace vfiocdx {

struct MsiDelivery::VectorPoll {
  uv_poll_t handle;
  MsiDelivery* owner;  // null once closing
  AddonData* data;
  std::shared_ptr<Kernel> kernel;
  uint32_t vector;
  int fd;
  bool active = false;
  bool refed = true;
};

namespace {

void OnPollClosed(uv_handle_t* h) {
  auto* vp = static_cast<MsiDelivery::VectorPoll*>(h->data);
  AddonData* data = vp->data;
  delete vp;
  data->PollClosed();
}

void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  auto* vp = static_cast<MsiDelivery::VectorPoll*>(handle->data);
  if (vp->owner == nullptr) return;
  // One read returns the eventfd's whole count and resets it to 0 (these eventfds are not
  // EFD_SEMAPHORE), so it drains the eventfd: a second read could only answer EAGAIN, and would
  // cost a system call (and, on the mock, its mutex) per interrupt. The read goes straight to the
  // Kernel, untraced: it is the hot path, and a trace record per interrupt would be most of it.
  uint64_t total = 0;
  if (vp->kernel->Read(vp->fd, &total, sizeof total) != static_cast<long>(sizeof total)) total = 0;
  if (total > 0 || status < 0) vp->owner->Deliver(vp->vector, total);
}

}  // namespace

MsiDelivery::~MsiDelivery() {
  for (VectorPoll* vp : polls_) vp->owner = nullptr;  // never reached: Stop() ran; a poll must not call back here
}

void MsiDelivery::Start(Napi::Env env, AddonData* data, std::shared_ptr<Kernel> kernel, const std::vector<int>& fds,
                        Napi::Function callback) {
  Stop();
  Release();
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  env_ = env;
  callback_ = Napi::Weak(callback);
  callback_strong_ = false;
  async_ = std::make_unique<Napi::AsyncContext>(env, "vfio-cdx:msi");
  for (uint32_t v = 0; v < fds.size(); v++) {
    auto* vp = new VectorPoll{};
    vp->owner = this;
    vp->data = data;
    vp->kernel = kernel;
    vp->vector = v;
    vp->fd = fds[v];
    int rc = uv_poll_init(loop, &vp->handle, vp->fd);
    if (rc != 0) {
      delete vp;
      Stop();
      Release();
      throw SysError(-rc, "uv_poll_init", "", name_);
    }
    vp->handle.data = vp;
    polls_.push_back(vp);
  }
}

MsiDelivery::VectorPoll* MsiDelivery::Vector(Napi::Env env, uint32_t v) {
  if (polls_.empty()) throw UsageError("ERR_VFIO_CLOSED", "MSI of " + name_ + " is disabled");
  if (v >= polls_.size()) ThrowRangeError(env, "ERR_OUT_OF_RANGE", "no MSI vector " + std::to_string(v));
  return polls_[v];
}

void MsiDelivery::Poll(Napi::Env env, uint32_t vector, bool on) {
  VectorPoll* vp = Vector(env, vector);
  if (on && !vp->active) {
    int rc = uv_poll_start(&vp->handle, UV_READABLE, OnReadable);
    if (rc != 0) throw SysError(-rc, "uv_poll_start", "", name_);
    if (!vp->refed) uv_unref(reinterpret_cast<uv_handle_t*>(&vp->handle));
  } else if (!on && vp->active) {
    uv_poll_stop(&vp->handle);
  }
  vp->active = on;
  UpdateCallbackStrength();
}

void MsiDelivery::Ref(Napi::Env env, uint32_t vector, bool on) {
  VectorPoll* vp = Vector(env, vector);
  vp->refed = on;
  auto* h = reinterpret_cast<uv_handle_t*>(&vp->handle);
  if (on) uv_ref(h); else uv_unref(h);
  UpdateCallbackStrength();
}

void MsiDelivery::Stop() {
  for (VectorPoll* vp : polls_) {
    vp->owner = nullptr;
    vp->data->pending_closes++;
    uv_close(reinterpret_cast<uv_handle_t*>(&vp->handle), OnPollClosed);
  }
  polls_.clear();
  UpdateCallbackStrength();
}

void MsiDelivery::Release() {
  callback_.Reset();
  callback_strong_ = false;
  async_.reset();
}

void MsiDelivery::UpdateCallbackStrength() {
  bool strong = false;
  for (VectorPoll* vp : polls_) strong |= vp->active && vp->refed;
  if (callback_.IsEmpty() || strong == callback_strong_) return;
  if (strong) {
    callback_.Ref();
  } else {
    callback_.Unref();
  }
  callback_strong_ = strong;
}

void MsiDelivery::Deliver(uint32_t vector, uint64_t count) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  // Weak and collected: nobody can observe the interrupt (the JS Device is garbage and about
  // to be closed by its finalizer).
  if (callback_.IsEmpty() || callback_.Value().IsEmpty() || !async_) return;
  try {
    callback_.MakeCallback(env.Global(), {Napi::Number::New(env, vector),
                                          Napi::Number::New(env, static_cast<double>(count))},
                           *async_);
  } catch (const Napi::Error& e) {
    // An exception from a listener is an uncaught exception of the process,
    // as for any event emitter driven by the loop.
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace vfiocdx
