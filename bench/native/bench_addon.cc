// bench_addon.cc — the bench-only addon (build/bench/vfio_cdx_bench.node): C loops for
// `npm run bench` and `npm run bench:pmd`. Built from the repository only; see bench_util.h.
#include <napi.h>

namespace bench {
void AddLoops(Napi::Env env, Napi::Object exports);      // bench_loops.cc
void AddMsiStages(Napi::Env env, Napi::Object exports);  // msi_stages.cc
void AddPmd(Napi::Env env, Napi::Object exports);        // pmd_ref.cc
}  // namespace bench

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  bench::AddLoops(env, exports);
  bench::AddMsiStages(env, exports);
  bench::AddPmd(env, exports);
  return exports;
}

NODE_API_MODULE(vfio_cdx_bench, Init)
