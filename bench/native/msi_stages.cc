// msi_stages.cc — where the time of an MSI goes on its way to a JavaScript handler.
//
// A native thread raises MSIs as a device model does (MockKernel::RaiseMsi: the kernel mutex,
// then an eventfd write), and the receiving side grows one step at a time:
//   'uv'           a uv_poll on the environment's loop, native callback, plain read(2) of the eventfd
//   'uv+seam'      the same, reading the eventfd once through the kernel seam as the library does
//                  (MockKernel::Read: a descriptor the mock did not create is read without its mutex)
//   'uv+seam+js'   the same, then napi_make_callback into a JavaScript function that takes the
//                  timestamp itself (process.hrtime.bigint(), as the library benchmark does)
// The C epoll_wait waiter (bench_loops.cc) and the library's MsiVector listener (bench/run.ts)
// bracket these; the differences between consecutive stages are the breakdown docs/pmd.md shows.
// Each stage also reports its in-callback time: from the uv_poll callback's entry to the handler
// (the read, and for 'uv+seam+js' the call into JavaScript up to its timestamp), on one thread,
// which the wake-up latency of a loaded machine does not reach.
#include <unistd.h>
#include <uv.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace bench {

namespace {

enum class Stage { kUv, kUvSeam, kUvSeamJs };

struct StageRun {
  uv_poll_t poll;
  Stage stage;
  int efd;
  const VfioCdxKernelHooks* k;
  void* kctx;  // retained
  std::shared_ptr<std::vector<double>> raised;
  std::vector<double> latency;
  std::vector<double> in_callback;
  uint32_t n;
  uint32_t got = 0;
  napi_env env;
  napi_deferred deferred;
  napi_ref fn = nullptr;
  napi_async_context async = nullptr;
  std::thread raiser;
};

void Finish(StageRun* r) {
  uv_poll_stop(&r->poll);
  if (r->raiser.joinable()) r->raiser.join();
  Napi::Env env(r->env);
  Napi::HandleScope scope(env);
  Napi::Float64Array out = Napi::Float64Array::New(env, 2 * r->latency.size());
  std::copy(r->latency.begin(), r->latency.end(), out.Data());
  std::copy(r->in_callback.begin(), r->in_callback.end(), out.Data() + r->latency.size());
  napi_resolve_deferred(r->env, r->deferred, out);
  if (r->fn) napi_delete_reference(r->env, r->fn);
  if (r->async) napi_async_destroy(r->env, r->async);
  r->k->release(r->kctx);
  uv_close(reinterpret_cast<uv_handle_t*>(&r->poll), [](uv_handle_t* h) { delete static_cast<StageRun*>(h->data); });
}

void OnReadable(uv_poll_t* h, int status, int) {
  auto* r = static_cast<StageRun*>(h->data);
  if (status < 0) return;
  double entry = static_cast<double>(NowNs());
  uint64_t total = 0;
  if (r->stage == Stage::kUv) {
    uint64_t v = 0;
    if (::read(r->efd, &v, sizeof v) == sizeof v) total = v;
  } else if (r->k->read(r->kctx, r->efd, &total, sizeof total) != static_cast<long>(sizeof total)) {
    total = 0;  // what NativeDevice's OnReadable does: one read drains the eventfd
  }
  if (total == 0) return;
  if (r->stage == Stage::kUvSeamJs) {
    // The JavaScript function stamps the time and returns it.
    Napi::Env env(r->env);
    Napi::HandleScope scope(env);
    napi_value fn, recv, result;
    napi_get_reference_value(r->env, r->fn, &fn);
    napi_get_global(r->env, &recv);
    napi_value argv[1];
    napi_create_double(r->env, static_cast<double>(total), &argv[0]);
    if (napi_make_callback(r->env, r->async, recv, fn, 1, argv, &result) == napi_ok) {
      double when = 0;
      napi_get_value_double(r->env, result, &when);
      for (uint64_t i = 0; i < total && r->got < r->n; i++, r->got++) {
        r->latency[r->got] = when - (*r->raised)[r->got];
        r->in_callback[r->got] = when - entry;
      }
    }
  } else {
    double now = static_cast<double>(NowNs());
    for (uint64_t i = 0; i < total && r->got < r->n; i++, r->got++) {
      r->latency[r->got] = now - (*r->raised)[r->got];
      r->in_callback[r->got] = now - entry;
    }
  }
  if (r->got >= r->n) Finish(r);
}

// msiStage(stage, kernelHooks, device, vector, eventfd, n, intervalUs, fn?) → Promise<Float64Array>
// of 2n values in ns: n raise-to-handler latencies, then n in-callback times. The eventfd must be
// the trigger of `vector`.
Napi::Value MsiStage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string stage = info[0].ToString().Utf8Value();
  auto r = std::make_unique<StageRun>();
  if (stage == "uv") {
    r->stage = Stage::kUv;
  } else if (stage == "uv+seam") {
    r->stage = Stage::kUvSeam;
  } else if (stage == "uv+seam+js") {
    r->stage = Stage::kUvSeamJs;
  } else {
    Fail(env, "stage must be 'uv', 'uv+seam' or 'uv+seam+js'");
  }
  r->k = KernelHooks(info[1]);
  std::string device = info[2].ToString().Utf8Value();
  uint32_t vector = static_cast<uint32_t>(Num(info, 3, "vector"));
  r->efd = static_cast<int>(Num(info, 4, "eventfd"));
  r->n = static_cast<uint32_t>(Num(info, 5, "n"));
  uint32_t interval = static_cast<uint32_t>(Num(info, 6, "intervalUs"));
  if (r->stage == Stage::kUvSeamJs) {
    if (!info[7].IsFunction()) Fail(env, "the 'uv+seam+js' stage needs a function");
    napi_create_reference(env, info[7], 1, &r->fn);
    napi_value name;
    napi_create_string_utf8(env, "vfio-cdx-bench:msi", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, nullptr, name, &r->async);
  }
  r->env = env;
  r->latency.assign(r->n, 0.0);
  r->in_callback.assign(r->n, 0.0);
  r->raised = std::make_shared<std::vector<double>>(r->n, 0.0);
  r->kctx = r->k->retain(r->k->ctx);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  if (uv_poll_init(loop, &r->poll, r->efd) != 0) Fail(env, "uv_poll_init failed");
  r->poll.data = r.get();
  napi_value promise;
  napi_create_promise(env, &r->deferred, &promise);
  uv_poll_start(&r->poll, UV_READABLE, OnReadable);
  StageRun* raw = r.release();  // freed by the poll handle's close callback
  auto raise = raw->k->raise_msi;
  void* ctx = raw->kctx;
  auto raised = raw->raised;
  uint32_t n = raw->n;
  raw->raiser = std::thread([raise, ctx, raised, device, vector, n, interval] {
    for (uint32_t i = 0; i < n; i++) {
      std::this_thread::sleep_for(std::chrono::microseconds(interval));
      (*raised)[i] = static_cast<double>(NowNs());
      raise(ctx, device.c_str(), vector);
    }
  });
  return Napi::Value(env, promise);
}

}  // namespace

void AddMsiStages(Napi::Env env, Napi::Object exports) {
  exports.Set("msiStage", Napi::Function::New(env, MsiStage, "msiStage"));
}

}  // namespace bench
