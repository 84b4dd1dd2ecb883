// pmd_ref.cc — the C reference driver of `npm run bench:pmd`: the algorithm of lib/pmd/lnic.ts
// (LnicPort.rxBurst / txBurst / txClean), line for line, in C, on the same device, rings, pool
// and model as the JavaScript driver, in the same process.
//
// The JavaScript port sets the device up and hands its ring positions over (exportState /
// importState): the C driver continues exactly where the JS one stopped, and the other way
// round, so C and JS runs can alternate on one device with the same frames in flight. The
// doorbell is what a C driver uses (DPDK's rte_write32: a compiler barrier and a store on x86-64,
// dmb oshst and a store on arm64); the JavaScript one is Atomics.store.
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "mock/lnic_regs.h"

namespace bench {

namespace L = ::vfiocdx::lnic;

namespace {

constexpr uint32_t kDd = L::kFlagDd << 16;
constexpr uint32_t kRs = L::kFlagRs << 16;
constexpr uint32_t kTxChunk = 32;
constexpr uint32_t kMaxBurst = 1024;

inline uint32_t Load(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

// rte_write32(): every store before it reaches memory before the device sees the doorbell.
inline void Doorbell(uint32_t* reg, uint32_t v) {
#if defined(__aarch64__)
  __asm__ __volatile__("dmb oshst" ::: "memory");
  *reinterpret_cast<volatile uint32_t*>(reg) = v;
#else
  __atomic_store_n(reg, v, __ATOMIC_RELEASE);
#endif
}

struct Port {
  uint32_t* regs;
  uint32_t* txd;
  uint32_t* rxd;
  uint32_t* hwb;  // [0] TX CIDX, [16] RX CIDX
  uint8_t* pool;
  std::vector<uint32_t> stack;
  uint32_t top;
  uint32_t size, mask, lo, hi, shift, buf_size, rx_free_thresh;
  bool use_hwb;
  uint32_t tx_tail, tx_clean, rx_next, rx_tail, rx_rung;
};

inline void TxClean(Port* p) {
  uint32_t clean = p->tx_clean;
  uint32_t top = p->top;
  uint32_t done = p->use_hwb ? Load(p->hwb) : 0;
  while (p->tx_tail - clean >= kTxChunk) {
    if (p->use_hwb) {
      if (done - clean < kTxChunk) break;
    } else if ((Load(&p->txd[((clean + kTxChunk - 1) & p->mask) << 2 | 3]) & kDd) == 0) {
      break;
    }
    for (uint32_t i = 0; i < kTxChunk; i++) p->stack[top++] = p->txd[((clean + i) & p->mask) << 2 | 3] & 0xffff;
    clean += kTxChunk;
  }
  p->top = top;
  p->tx_clean = clean;
}

inline uint32_t RxBurst(Port* p, uint32_t* ids, uint32_t* lens, uint32_t max) {
  uint32_t* d = p->rxd;
  uint32_t top = p->top;
  uint32_t next = p->rx_next;
  uint32_t n = 0;
  if (max > top) max = top;
  if (p->use_hwb) {
    uint32_t avail = Load(p->hwb + 16) - next;
    if (max > avail) max = avail;
    for (; n < max; n++) {
      uint32_t w = (next & p->mask) << 2;
      ids[n] = d[w + 3] & 0xffff;
      lens[n] = d[w + 2];
      uint32_t b = p->stack[--top];
      d[w] = p->lo + (b << p->shift);
      d[w + 1] = p->hi;
      d[w + 2] = p->buf_size;
      d[w + 3] = b;
      next++;
    }
  } else {
    for (; n < max; n++) {
      uint32_t w = (next & p->mask) << 2;
      uint32_t word = Load(&d[w + 3]);
      if ((word & kDd) == 0) break;
      ids[n] = word & 0xffff;
      lens[n] = d[w + 2];
      uint32_t b = p->stack[--top];
      d[w] = p->lo + (b << p->shift);
      d[w + 1] = p->hi;
      d[w + 2] = p->buf_size;
      d[w + 3] = b;
      next++;
    }
  }
  if (n == 0) return 0;
  p->top = top;
  p->rx_next = next;
  p->rx_tail += n;
  if (p->rx_tail - p->rx_rung >= p->rx_free_thresh) {
    p->rx_rung = p->rx_tail;
    Doorbell(p->regs + (L::kRxq + L::kQPidx) / 4, p->rx_tail);
  }
  return n;
}

inline uint32_t TxBurst(Port* p, const uint32_t* ids, const uint32_t* lens, uint32_t n) {
  uint32_t tail = p->tx_tail;
  int64_t free = static_cast<int64_t>(p->size) - (tail - p->tx_clean);
  if (free < static_cast<int64_t>(n + kTxChunk) || p->top < 2 * kTxChunk) {
    TxClean(p);
    free = static_cast<int64_t>(p->size) - (tail - p->tx_clean);
  }
  if (static_cast<int64_t>(n) > free) n = static_cast<uint32_t>(std::max<int64_t>(free, 0));
  if (n == 0) return 0;
  uint32_t* d = p->txd;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t w = (tail & p->mask) << 2;
    uint32_t b = ids[i];
    d[w] = p->lo + (b << p->shift);
    d[w + 1] = p->hi;
    d[w + 2] = lens[i];
    d[w + 3] = (tail & (kTxChunk - 1)) == kTxChunk - 1 ? b | kRs : b;
    tail++;
  }
  p->tx_tail = tail;
  Doorbell(p->regs + (L::kTxq + L::kQPidx) / 4, tail);
  return n;
}

bool RxPending(const Port* p) {
  if (p->use_hwb) return Load(p->hwb + 16) != p->rx_next;
  return (Load(&p->rxd[(p->rx_next & p->mask) << 2 | 3]) & kDd) != 0;
}

// The work a forwarder does per frame, as bench/pmd.ts's JavaScript loop does it: 0 touches one
// byte; 1 swaps the MAC addresses; 2 also decrements the IPv4 TTL with an incremental checksum.
inline void Work(uint8_t* f, uint32_t work) {
  if (work == 0) {
    f[0] ^= 1;
    return;
  }
  for (int i = 0; i < 6; i++) std::swap(f[i], f[6 + i]);
  if (work == 2 && f[12] == 0x08 && f[13] == 0 && (f[14] >> 4) == 4 && f[22] > 1) {
    uint32_t m = static_cast<uint32_t>(f[22] << 8 | f[23]);
    uint32_t m2 = m - 0x100;
    uint32_t sum = (~static_cast<uint32_t>(f[24] << 8 | f[25]) & 0xffff) + (~m & 0xffff) + m2;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    uint32_t hc = ~sum & 0xffff;
    f[22] = static_cast<uint8_t>(f[22] - 1);
    f[24] = static_cast<uint8_t>(hc >> 8);
    f[25] = static_cast<uint8_t>(hc);
  }
}

// What a forwarding run needs: the port (as the JS side left it) and the loop's parameters.
struct Run {
  Port port;
  uint32_t burst = 32;
  uint32_t work = 0;
  uint64_t iterations = 0;
  const VfioCdxLnicHooks* lnic = nullptr;  // stepped: one step after each burst
  uint32_t step_budget = 0;
  int cpu = -1;
  int32_t* js_stack = nullptr;  // where the pool's free stack goes back
  uint32_t* js_state = nullptr;
  // results
  uint64_t packets = 0;
  int64_t ns = 0;
};

Port PortFrom(Napi::Object o, int32_t** js_stack, uint32_t** js_state) {
  Napi::Env env = o.Env();
  Port p{};
  size_t len = 0;
  p.regs = reinterpret_cast<uint32_t*>(Bytes(o.Get("regs"), &len, "regs"));
  if (len < L::kRegionMin) Fail(env, "regs: too small");
  p.size = static_cast<uint32_t>(Field(o, "ringSize"));
  p.mask = p.size - 1;
  uint8_t* ring = Bytes(o.Get("ring"), &len, "ring");
  if (len < 2 * p.size * L::kDescSize + 128) Fail(env, "ring: too small");
  p.txd = reinterpret_cast<uint32_t*>(ring);
  p.rxd = reinterpret_cast<uint32_t*>(ring + p.size * L::kDescSize);
  p.hwb = reinterpret_cast<uint32_t*>(ring + 2 * p.size * L::kDescSize);
  p.pool = Bytes(o.Get("pool"), &len, "pool");
  p.lo = static_cast<uint32_t>(Field(o, "poolLo"));
  p.hi = static_cast<uint32_t>(Field(o, "poolHi"));
  p.buf_size = static_cast<uint32_t>(Field(o, "bufSize"));
  p.shift = static_cast<uint32_t>(__builtin_ctz(p.buf_size));
  p.use_hwb = o.Get("hwb").ToBoolean().Value();
  size_t stack_len = 0;
  *js_stack = reinterpret_cast<int32_t*>(Bytes(o.Get("stack"), &stack_len, "stack"));
  size_t state_len = 0;
  *js_state = reinterpret_cast<uint32_t*>(Bytes(o.Get("state"), &state_len, "state"));
  if (state_len < 8 * 4) Fail(env, "state: 8 words");
  uint32_t* s = *js_state;
  p.tx_tail = s[0];
  p.tx_clean = s[1];
  p.rx_next = s[2];
  p.rx_tail = s[3];
  p.rx_rung = s[4];
  p.top = s[5];
  p.rx_free_thresh = s[7];
  if (s[6] != p.size) Fail(env, "state: another ring size");
  p.stack.assign(*js_stack, *js_stack + stack_len / 4);
  if (p.top > p.stack.size()) Fail(env, "state: pool top beyond the stack");
  return p;
}

void GiveBack(const Port& p, int32_t* js_stack, uint32_t* js_state) {
  memcpy(js_stack, p.stack.data(), p.stack.size() * 4);
  js_state[0] = p.tx_tail;
  js_state[1] = p.tx_clean;
  js_state[2] = p.rx_next;
  js_state[3] = p.rx_tail;
  js_state[4] = p.rx_rung;
  js_state[5] = p.top;
}

void Pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void Forward(Run* r) {
  Pin(r->cpu);
  Port* p = &r->port;
  uint32_t ids[kMaxBurst];
  uint32_t lens[kMaxBurst];
  uint64_t packets = 0;
  int64_t t0 = NowNs();
  for (uint64_t it = 0; it < r->iterations; it++) {
    uint32_t n = RxBurst(p, ids, lens, r->burst);
    for (uint32_t i = 0; i < n; i++) Work(p->pool + (static_cast<size_t>(ids[i]) << p->shift), r->work);
    uint32_t sent = TxBurst(p, ids, lens, n);
    for (uint32_t i = sent; i < n; i++) p->stack[p->top++] = ids[i];
    packets += n;
    if (r->lnic) r->lnic->step(r->lnic->ctx, r->step_budget, 0);
  }
  r->ns = NowNs() - t0;
  r->packets = packets;
}

// cForward(opts) → { packets, ns }: `iterations` bursts of `burst`, on this thread (stepped:
// `lnic` set, one step after each burst) or on a native thread pinned to `cpu` (threaded).
Napi::Value CForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) Fail(env, "cForward(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  Run r;
  r.port = PortFrom(o, &r.js_stack, &r.js_state);
  r.burst = std::min<uint32_t>(static_cast<uint32_t>(Field(o, "burst")), kMaxBurst);
  r.work = static_cast<uint32_t>(Field(o, "work"));
  r.iterations = static_cast<uint64_t>(Field(o, "iterations"));
  r.cpu = static_cast<int>(Field(o, "cpu"));
  Napi::Value lnic = o.Get("lnic");
  if (!lnic.IsNull() && !lnic.IsUndefined()) {
    r.lnic = LnicHooks(lnic);
    r.step_budget = static_cast<uint32_t>(Field(o, "stepBudget"));
  }
  if (o.Get("thread").ToBoolean().Value()) {
    std::thread t(Forward, &r);
    t.join();
  } else {
    Forward(&r);
  }
  GiveBack(r.port, r.js_stack, r.js_state);
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", Napi::Number::New(env, static_cast<double>(r.packets)));
  out.Set("ns", Napi::Number::New(env, static_cast<double>(r.ns)));
  return out;
}

// cRoundTrip(opts) → Float64Array of ns: one frame in flight, `samples` times: send it, wait
// for it to come back, take it. `eventfd` >= 0: wait for the RX interrupt in epoll_wait (the
// acknowledge / unmask / re-check of LnicPort.armRx); -1: busy-poll the ring. On a native thread
// pinned to `cpu`. `slept` (a buffer of `samples` bytes) gets 1 where the sample really slept:
// where the frame was back before the re-check, the sample measured polling, not the interrupt.
Napi::Value CRoundTrip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) Fail(env, "cRoundTrip(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  int32_t* js_stack = nullptr;
  uint32_t* js_state = nullptr;
  Port port = PortFrom(o, &js_stack, &js_state);
  uint32_t samples = static_cast<uint32_t>(Field(o, "samples"));
  int efd = static_cast<int>(Field(o, "eventfd"));
  int cpu = static_cast<int>(Field(o, "cpu"));
  size_t slept_len = 0;
  uint8_t* slept = Bytes(o.Get("slept"), &slept_len, "slept");
  if (slept_len < samples) Fail(env, "slept: one byte per sample");
  std::vector<double> out(samples);
  uint32_t done = 0;
  std::thread t([&] {
    Pin(cpu);
    Port* p = &port;
    int ep = -1;
    if (efd >= 0) {
      ep = ::epoll_create1(EPOLL_CLOEXEC);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    }
    uint32_t ids[8];
    uint32_t lens[8];
    uint32_t frame = p->stack[--p->top];
    uint32_t* regs = p->regs;
    for (; done < samples; done++) {
      int64_t t0 = NowNs();
      ids[0] = frame;
      lens[0] = 60;
      if (TxBurst(p, ids, lens, 1) != 1) break;
      slept[done] = 0;
      if (ep >= 0) {
        // Acknowledge, unmask, re-check; asleep until the MSI. A wakeup that finds the ring still
        // empty (an interrupt counted before the re-check that found a frame) sleeps again.
        bool ok = true;
        for (;;) {
          __atomic_store_n(regs + L::kIntClear / 4, L::kCauseRx | L::kCauseTx, __ATOMIC_SEQ_CST);
          __atomic_store_n(regs + L::kIntEnable / 4, L::kCauseRx | L::kCauseErr | L::kCauseLink, __ATOMIC_SEQ_CST);
          if (RxPending(p)) break;
          epoll_event e{};
          uint64_t count = 0;
          if (::epoll_wait(ep, &e, 1, 2000) <= 0 || ::read(efd, &count, sizeof count) != sizeof count) {
            ok = false;
            break;
          }
          slept[done] = 1;
        }
        __atomic_store_n(regs + L::kIntEnable / 4, 0, __ATOMIC_SEQ_CST);
        if (!ok) break;
      }
      uint32_t n = 0;
      while ((n = RxBurst(p, ids, lens, 8)) == 0) {
      }
      int64_t t1 = NowNs();
      frame = ids[0];
      out[done] = static_cast<double>(t1 - t0);
    }
    p->stack[p->top++] = frame;
    if (ep >= 0) ::close(ep);
  });
  t.join();
  GiveBack(port, js_stack, js_state);
  if (done < samples) Fail(env, "cRoundTrip: the frame did not come back (" + std::to_string(done) + " samples)");
  Napi::Float64Array a = Napi::Float64Array::New(env, samples);
  std::copy(out.begin(), out.end(), a.Data());
  return a;
}

// cStepLoop(lnicHooks, n) → ns for n empty steps (budget 0) through the hook: what one step()
// costs a C driver, beyond the model's own time; JavaScript's step() is compared with it.
Napi::Value CStepLoop(const Napi::CallbackInfo& info) {
  const VfioCdxLnicHooks* h = LnicHooks(info[0]);
  uint32_t n = static_cast<uint32_t>(Num(info, 1, "n"));
  int64_t t0 = NowNs();
  for (uint32_t i = 0; i < n; i++) h->step(h->ctx, 0, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(NowNs() - t0));
}

// pinThread(cpu): pins the calling thread (a Worker's, for the JavaScript driver).
Napi::Value PinThread(const Napi::CallbackInfo& info) {
  int cpu = static_cast<int>(Num(info, 0, "cpu"));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  return Napi::Number::New(info.Env(), -rc);
}

}  // namespace

void AddPmd(Napi::Env env, Napi::Object exports) {
  exports.Set("cForward", Napi::Function::New(env, CForward, "cForward"));
  exports.Set("cRoundTrip", Napi::Function::New(env, CRoundTrip, "cRoundTrip"));
  exports.Set("pinThread", Napi::Function::New(env, PinThread, "pinThread"));
  exports.Set("cStepLoop", Napi::Function::New(env, CStepLoop, "cStepLoop"));
}

}  // namespace bench
