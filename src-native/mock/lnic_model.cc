// lnic_model.cc — the "lnic" device model: a loopback NIC with one queue pair of descriptor
// rings in DMA memory (docs/lnic.md has the register map and the protocol; lnic_regs.h the
// numbers). lnic is simulated hardware invented for this project, not a model of a real design.
//
// What it does, per pass (Pass()):
//   - reads its control registers; CTRL.RESET and VFIO resets restore every register and drop
//     all work (STATUS.READY comes back after a delay, model time);
//   - applies INT_CLEAR, follows link state (CTRL.ENABLE, LINK_FORCE_DOWN);
//   - moves frames: loopback (TX → RX), generator (frames made by the device → RX, TX to the
//     wire) or sink (TX to the wire); every access to rings, buffers and write-back slots is a
//     DMA through the mock IOMMU (Impl::DmaPage, or Impl::DeviceDma when the memory cannot be
//     reached directly). A fault, a PIDX overrun, a bad length or a bad ring configuration
//     latches ERR (and the first faulting IOVA) and halts the device until a reset; nothing a
//     driver writes can make the model touch memory outside the IOMMU's translations;
//   - publishes CIDX, head write-back slots, statistics, STATUS and INT_CAUSE, then signals the
//     MSI vectors whose causes are pending, as interrupt moderation (ITR) allows.
//
// Schedulers (lnic_model.h): the model brings its own thread (Start/RequestStop/Join override
// the base's Step() loop). Threaded, the thread polls the registers without the kernel mutex
// and takes it for each pass that has something to do; stepped, passes run only in
// LnicPort::Step() on the caller's thread. Either way every pass runs with Impl::mu held, so
// the model's state, the IOMMU tables and host_maps cannot change under a pass.
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <thread>
#include <vector>

#include "cycle_clock.h"
#include "lnic_model.h"
#include "lnic_regs.h"
#include "mock_internal.h"

namespace vfiocdx {
namespace mock {

namespace L = ::vfiocdx::lnic;

namespace {

constexpr uint32_t kVectors = 16;               // INT_VEC fields are 4 bits
constexpr uint32_t kThreadBudget = 64;          // frames per pass on the model's own thread
constexpr uint64_t kResetDelayNs = 10000;       // STATUS.READY returns this long after a reset
constexpr uint32_t kPageSlots = 4096;           // direct-mapped cache of IOVA pages
constexpr uint64_t kSpinAfterActivityNs = 20000;
constexpr uint64_t kShortSleepNs = 50000;
constexpr uint64_t kLongSleepNs = 1000000;
constexpr uint64_t kShortSleepWindowNs = 2000000;
constexpr uint64_t kGenBurst = 64;              // generator frames the token bucket may save up
constexpr uint64_t kNever = ~uint64_t{0};

inline uint32_t LoadAcq(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline uint32_t LoadRlx(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void StoreRel(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
inline void StoreRlx(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

// The registers a threaded model watches between passes (Changed()).
constexpr uint32_t kWatched[] = {L::kCtrl,      L::kIntEnable,           L::kIntClear,
                                 L::kItr,       L::kIntVec,              L::kTxq + L::kQCtrl,
                                 L::kRxq + L::kQCtrl, L::kTxq + L::kQPidx, L::kRxq + L::kQPidx,
                                 L::kGenPps};
constexpr size_t kNumWatched = sizeof(kWatched) / sizeof(kWatched[0]);
static_assert(kWatched[2] == L::kIntClear, "Pass() resets seen_[2] after applying INT_CLEAR");

// A frame copy. Frames are mostly short: 16-byte moves (the last one overlapping) instead of the
// string instruction the compiler picks for a memcpy of unknown size, slow to start on many CPUs.
inline void CopyBytes(uint8_t* d, const uint8_t* s, uint32_t n) {
  if (n > 256) {
    memcpy(d, s, n);
  } else if (n >= 16) {
    for (uint32_t i = 0; i + 16 < n; i += 16) memcpy(d + i, s + i, 16);
    memcpy(d + n - 16, s + n - 16, 16);
  } else {
    for (uint32_t i = 0; i < n; i++) d[i] = s[i];
  }
}

uint16_t IpChecksum(const uint8_t* h) {
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

class LnicModel : public DeviceModel {
 public:
  LnicModel(MockKernel::Impl* kernel, CdxDevice* dev)
      : DeviceModel(kernel, dev), port_(std::make_shared<LnicPort>(&kernel->mu)), pages_(kPageSlots) {
    regs_ = reinterpret_cast<uint32_t*>(dev->res[0]->view);
    port_->model_ = this;
  }

  // Runs with Impl::mu held (the device is being freed): the port stops reaching the model.
  ~LnicModel() override { port_->model_ = nullptr; }

  const std::shared_ptr<LnicPort>& port() const { return port_; }

  // ---- DeviceModel hooks (Impl::mu held)
  void PowerOn() override { StartReset(false); }
  void Configure(DevConfig type) override {
    if (type == DevConfig::kReset) StartReset(false);  // VFIO_DEVICE_RESET, open, last close, sysfs reset
  }
  Poll Step() override { return kIdle; }  // unused: the model runs its own thread

  void Start() override { thread_ = std::thread([this] { ThreadMain(); }); }
  void Wake() override {
    woken_.store(true, std::memory_order_release);
    Notify();
  }
  void RequestStop() override {
    stop_.store(true, std::memory_order_release);
    Notify();
  }
  void Join() override {
    if (thread_.joinable()) thread_.join();
  }
  bool Joinable() const override { return thread_.joinable(); }

  // ---- LnicPort (Impl::mu held)
  long StepLocked(uint32_t budget, uint64_t advance_ns) {
    if (sched_.load(std::memory_order_relaxed) != LnicScheduler::kStepped) return -EBUSY;
    vclock_ += advance_ns;
    uint64_t t0 = Ticks();
    uint32_t moved = Pass(budget);
    step_ticks_ += Ticks() - t0;
    steps_++;
    return moved;
  }

  void SetScheduler(LnicScheduler s, int cpu) {
    LnicScheduler old = sched_.load(std::memory_order_relaxed);
    cpu_.store(cpu, std::memory_order_relaxed);
    if (old == s) return;
    uint64_t steady = SteadyNs();
    if (old != LnicScheduler::kStepped) thread_ns_ += steady - thread_since_;
    if (s != LnicScheduler::kStepped) thread_since_ = steady;
    // Deadlines are in model time: the virtual clock when stepped, the steady clock otherwise.
    uint64_t from = Now();
    sched_.store(s, std::memory_order_release);
    uint64_t to = Now();
    if (s == LnicScheduler::kStepped) {
      vclock_ = steady;
      to = steady;
    }
    Rebase(from, to);
    Wake();
  }

  LnicScheduler scheduler() const { return sched_.load(std::memory_order_relaxed); }

  void Counters(LnicCounters* out) const {
    double per_ns = TicksPerNs();
    out->steps = steps_;
    out->passes = passes_;
    out->packets = packets_;
    out->step_ns = static_cast<double>(step_ticks_) / per_ns;
    out->busy_ns = static_cast<double>(busy_ticks_) / per_ns;
    uint64_t t = thread_ns_;
    if (sched_.load(std::memory_order_relaxed) != LnicScheduler::kStepped) t += SteadyNs() - thread_since_;
    out->thread_ns = static_cast<double>(t);
    out->msis = msis_;
    out->msis_lost = msis_lost_;
  }

  void SetResetDelay(uint64_t ns) { reset_delay_ns_ = ns; }

  void SetCapture(uint32_t frames) {
    capture_.clear();
    capture_left_ = frames;
  }

  void TakeCapture(std::vector<std::vector<uint8_t>>* out) {
    out->swap(capture_);
    capture_.clear();
  }

 private:
  struct Queue {
    uint32_t block;
    bool running = false;
    uint64_t base = 0;
    uint32_t size = 0;
    uint32_t mask = 0;
    bool hwb_on = false;
    bool drop_en = false;
    uint64_t hwb = 0;
    uint32_t pidx = 0;       // PIDX as last read
    uint32_t cidx = 0;       // entries completed
    uint32_t published = 0;  // CIDX as last published (register and write-back slot)
    uint32_t* host = nullptr;  // the ring's words when reachable directly (RingWords), for host_gen
    uint32_t host_gen = 0;
  };

  // One cached IOVA page: valid while `gen` is the model's current generation.
  struct PageSlot {
    uint64_t page = kNever;
    uint8_t* host = nullptr;
    uint32_t gen = 0;
    uint8_t prot = 0;  // 1: device reads checked; 2: device writes checked
    bool direct = false;
  };

  struct Fault {
    uint64_t iova = 0;
    DmaResult result = DmaResult::kOk;
    bool write = false;  // which side of a copy faulted
  };

  enum class Ref { kDirect, kCopy, kFault };

  // ---- clock

  uint64_t Now() const {
    return sched_.load(std::memory_order_relaxed) == LnicScheduler::kStepped ? vclock_ : SteadyNs();
  }

  void Rebase(uint64_t from, uint64_t to) {
    auto shift = [&](uint64_t& t) {
      if (t != kNever) t = t - from + to;
    };
    shift(reset_done_at_);
    if (gen_next_ps_ != kNever) gen_next_ps_ = gen_next_ps_ - from * 1000 + to * 1000;
    for (uint64_t& f : first_) shift(f);
    deadline_.store(to, std::memory_order_relaxed);  // look again at once
  }

  // ---- registers (region 0, shared with the driver's mapping)

  uint32_t R(uint32_t off) const { return LoadAcq(regs_ + off / 4); }
  void W(uint32_t off, uint32_t v) { StoreRel(regs_ + off / 4, v); }
  void W64(uint32_t off, uint64_t v) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(regs_ + off / 4), v, __ATOMIC_RELAXED);
  }

  // ---- reset

  void StartReset(bool from_ctrl) {
    in_reset_ = true;
    reset_done_at_ = Now() + reset_delay_ns_;
    halted_ = false;
    err_ = 0;
    err_iova_latched_ = false;
    cause_ = 0;
    link_up_ = false;
    tx_ = Queue{L::kTxq};
    rx_ = Queue{L::kRxq};
    rx_received_ = false;
    for (uint32_t v = 0; v < kVectors; v++) {
      signalled_[v] = false;
      pending_[v] = 0;
      first_[v] = kNever;
    }
    std::fill(std::begin(stats_), std::end(stats_), 0);
    std::fill(std::begin(stats_published_), std::end(stats_published_), 0);
    gen_seq_ = 0;
    gen_next_ps_ = kNever;
    for (uint32_t off = 0; off < L::kRegionMin; off += 4) W(off, 0);
    W(L::kId, L::kIdValue);
    W(L::kVersion, L::kVersionValue);
    W(L::kCaps, L::kCapsValue);
    W(L::kCtrl, from_ctrl ? L::kCtrlReset : 0);
    W(L::kMacLo, 0x494e4c02);  // 02:4c:4e:49:43:00 ("LNIC", locally administered)
    W(L::kMacHi, 0x0043);
    W(L::kMaxFrame, L::kMaxFrameDefault);
    W(L::kGenLen, L::kMinFrame);
    W(L::kGenFlows, 1);
    W(L::kIntVec, L::kIntVecDefault);
    W(L::kItr, L::kItrDefault);
    status_published_ = 0;
    cause_published_ = 0;
    deadline_.store(reset_done_at_, std::memory_order_relaxed);
    progressed_ = true;
  }

  void FinishReset() {
    in_reset_ = false;
    reset_done_at_ = kNever;
    for (;;) {  // CTRL.RESET clears itself; keep whatever else the driver wrote meanwhile
      uint32_t c = R(L::kCtrl);
      if (__atomic_compare_exchange_n(regs_ + L::kCtrl / 4, &c, c & ~L::kCtrlReset, false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE)) {
        break;
      }
    }
    progressed_ = true;
  }

  // ---- the pass

  uint32_t Pass(uint32_t budget) {
    passes_++;
    progressed_ = false;
    if (kernel_->dma_epoch != epoch_) {  // an IOMMU mapping, bus mastering or a process mapping changed
      epoch_ = kernel_->dma_epoch;
      gen_++;
    }
    for (size_t i = 0; i < kNumWatched; i++) seen_[i].store(R(kWatched[i]), std::memory_order_relaxed);
    uint64_t now = Now();
    next_deadline_ = kNever;
    if (in_reset_) {
      if (now < reset_done_at_) {
        deadline_.store(reset_done_at_, std::memory_order_relaxed);
        return 0;
      }
      FinishReset();
    }
    uint32_t ctrl = R(L::kCtrl);
    if (ctrl & L::kCtrlReset) {
      StartReset(true);
      return 0;
    }
    if (R(L::kIntClear) != 0) {
      uint32_t clr = __atomic_exchange_n(regs_ + L::kIntClear / 4, 0, __ATOMIC_ACQ_REL);
      // RX is a level while a received frame waits: the clear reaches the model only at its next
      // pass, so a frame received after the driver's last look would otherwise lose its cause.
      // An acknowledge also re-arms the vector's edge: a cause that stays set (a frame waiting)
      // signals again once moderation allows, even if the line never went low in between.
      for (uint32_t bit = 1; bit <= L::kCauseErr; bit <<= 1) {
        if (clr & bit) signalled_[VectorOf(bit)] = false;
      }
      if ((clr & L::kCauseRx) && RxWaiting()) clr &= ~L::kCauseRx;
      cause_ &= ~clr;
      seen_[2].store(0, std::memory_order_relaxed);  // kWatched[2]: the register now reads 0
    }
    enable_ = R(L::kIntEnable);
    itr_ = R(L::kItr);
    int_vec_ = R(L::kIntVec);
    bool link = (ctrl & L::kCtrlEnable) && !(ctrl & L::kCtrlLinkForceDown);
    if (link != link_up_) {
      link_up_ = link;
      Cause(L::kCauseLink, now);
      progressed_ = true;
    }
    bool enabled = (ctrl & L::kCtrlEnable) != 0;
    UpdateQueue(&tx_, enabled);
    UpdateQueue(&rx_, enabled);
    uint32_t moved = 0;
    if (!halted_) {
      uint32_t mode = (ctrl & L::kCtrlModeMask) >> L::kCtrlModeShift;
      moved = DataPath(mode, budget, now);
    }
    Publish(now);
    packets_ += moved;
    deadline_.store(next_deadline_, std::memory_order_relaxed);
    return moved;
  }

  // A queue starts when both it and the device are enabled: its configuration is latched then
  // and checked (ERR.RING_CONFIG). It stops when either is disabled; CIDX keeps its value.
  void UpdateQueue(Queue* q, bool device_enabled) {
    uint32_t qctrl = R(q->block + L::kQCtrl);
    bool want = device_enabled && (qctrl & L::kQCtrlEnable) && !halted_;
    if (want == q->running) {
      if (q->running) q->drop_en = (qctrl & L::kQCtrlDropEn) != 0;
      return;
    }
    progressed_ = true;
    if (!want) {
      q->running = false;
      return;
    }
    q->base = R(q->block + L::kQBaseLo) | static_cast<uint64_t>(R(q->block + L::kQBaseHi)) << 32;
    q->size = R(q->block + L::kQSize);
    q->mask = q->size - 1;
    q->hwb_on = (qctrl & L::kQCtrlHwb) != 0;
    q->drop_en = (qctrl & L::kQCtrlDropEn) != 0;
    q->hwb = R(q->block + L::kQHwbLo) | static_cast<uint64_t>(R(q->block + L::kQHwbHi)) << 32;
    bool size_ok = q->size >= (1u << L::kRingMinLog2) && q->size <= (1u << L::kRingMaxLog2) &&
                   (q->size & q->mask) == 0;
    if (!size_ok || (q->base & 63) || (q->hwb_on && (q->hwb & 3))) {
      Fail(L::kErrRingConfig, nullptr);
      return;
    }
    q->running = true;
  }

  // Whether the driver has yet to consume the last frame received: its descriptor still reads DD
  // (consuming a descriptor means writing its flags word: re-posting it clears DD).
  bool RxWaiting() {
    if (!rx_.running || !rx_received_) return false;
    uint64_t dva = rx_.base + static_cast<uint64_t>((rx_.cidx - 1) & rx_.mask) * L::kDescSize;
    uint32_t d[4];
    return ReadDesc(dva, d, L::kErrRxDescFault) && ((d[3] >> 16) & L::kFlagDd);
  }

  // The ring's descriptors as process memory, when every page of the ring translates, for reads
  // and for writes, to memory the model may reach directly, in one piece; null otherwise (every
  // descriptor then goes through Map(), which also reports faults). Valid for this generation.
  uint32_t* RingWords(Queue* q) {
    if (q->host_gen == gen_) return q->host;
    q->host_gen = gen_;
    q->host = nullptr;
    uint64_t end = q->base + static_cast<uint64_t>(q->size) * L::kDescSize;
    uint64_t first_page = q->base / kDmaPage;
    uint8_t* first = nullptr;
    for (uint64_t page = first_page; page * kDmaPage < end; page++) {
      for (bool write : {false, true}) {
        uint8_t* host = nullptr;
        bool direct = false;
        if (kernel_->DmaPage(dev_, page * kDmaPage, write, &host, &direct) != DmaResult::kOk || !direct) return nullptr;
        if (page == first_page) {
          first = host;
        } else if (host != first + (page - first_page) * kDmaPage) {
          return nullptr;
        }
      }
    }
    q->host = reinterpret_cast<uint32_t*>(first + q->base % kDmaPage);
    return q->host;
  }

  // Reads PIDX and checks it against CIDX; false (and halted) on an overrun.
  bool Posted(Queue* q, uint32_t* avail) {
    *avail = 0;
    if (!q->running) return true;
    q->pidx = R(q->block + L::kQPidx);  // acquire: the descriptors written before it are visible
    uint32_t n = q->pidx - q->cidx;
    if (n > q->size) {
      Fail(L::kErrPidxOverrun, nullptr);
      return false;
    }
    *avail = n;
    return true;
  }

  uint32_t DataPath(uint32_t mode, uint32_t budget, uint64_t now) {
    uint32_t tx_avail = 0;
    uint32_t rx_avail = 0;
    if (!Posted(&tx_, &tx_avail) || !Posted(&rx_, &rx_avail)) return 0;
    uint32_t max_frame = std::min(std::max(R(L::kMaxFrame), L::kMinFrame), L::kMaxFrameLimit);
    uint32_t moved = 0;
    if (mode == L::kModeGenerator) moved += Generate(budget, now, &rx_avail, max_frame);
    if (halted_) return moved;
    uint32_t* txr = tx_avail > 0 ? RingWords(&tx_) : nullptr;
    uint32_t* rxr = rx_avail > 0 ? RingWords(&rx_) : nullptr;
    while (moved < budget && tx_avail > 0) {
      bool loop = mode == L::kModeLoopback && link_up_;
      if (loop && rx_.running && rx_avail == 0 && !rx_.drop_en) break;  // back-pressure
      uint32_t slot = tx_.cidx & tx_.mask;
      uint64_t dva = tx_.base + static_cast<uint64_t>(slot) * L::kDescSize;
      // The descriptor into scalars (kept in registers: an array whose address is taken lives on
      // the stack, and the 64-bit load of its two halves just stored would stall).
      uint32_t lo, hi, len, word;
      if (txr) {
        lo = LoadRlx(txr + slot * 4);
        hi = LoadRlx(txr + slot * 4 + 1);
        len = LoadRlx(txr + slot * 4 + 2);
        word = LoadRlx(txr + slot * 4 + 3);
      } else {
        uint32_t d[4];
        if (!ReadDesc(dva, d, L::kErrTxDescFault)) return moved;
        lo = d[0];
        hi = d[1];
        len = d[2];
        word = d[3];
      }
      uint64_t addr = lo | static_cast<uint64_t>(hi) << 32;
      if (len == 0 || len > max_frame) {
        Fail(L::kErrBadLen, nullptr);
        return moved;
      }
      if (!link_up_) {
        stats_[6]++;  // TX_DROP_LINK: dropped without being read
      } else {
        if (loop && rx_.running && rx_avail > 0) {
          if (!Receive(rxr, addr, len, now, true)) return moved;
          rx_avail--;
        } else {
          Fault f;
          if (!ToWire(addr, len, !loop, &f)) {
            Fail(L::kErrTxBufFault, &f);
            return moved;
          }
          if (loop) stats_[4]++;  // RX_DROP_NODESC: the receiver is off, or DROP_EN and no buffer
        }
        stats_[2]++;
        stats_[3] += len;
      }
      uint32_t flags = word >> 16;
      if (flags & L::kFlagRs) {
        if (txr) {
          StoreRel(txr + slot * 4 + 3, word | L::kFlagDd << 16);
        } else if (!WriteWord(dva + L::kDescIdFlags, word | L::kFlagDd << 16, L::kErrTxDescFault)) {
          return moved;
        }
        Cause(L::kCauseTx, now);
      }
      tx_.cidx++;
      tx_avail--;
      moved++;
    }
    if (tx_avail > 0 && moved == budget) next_deadline_ = now;  // more to do at once
    return moved;
  }

  // One frame into the next RX buffer: from the TX buffer at `src` (loopback) or from
  // gen_frame_ (generator, from_tx false). Completes the RX descriptor; false on a fault.
  // `rxr`: the RX ring's words (RingWords), or null.
  bool Receive(uint32_t* rxr, uint64_t src, uint32_t len, uint64_t now, bool from_tx) {
    uint32_t slot = rx_.cidx & rx_.mask;
    uint64_t dva = rx_.base + static_cast<uint64_t>(slot) * L::kDescSize;
    uint32_t lo, hi, cap, word;  // scalars, as in DataPath
    if (rxr) {
      lo = LoadRlx(rxr + slot * 4);
      hi = LoadRlx(rxr + slot * 4 + 1);
      cap = LoadRlx(rxr + slot * 4 + 2);
      word = LoadRlx(rxr + slot * 4 + 3);
    } else {
      uint32_t d[4];
      if (!ReadDesc(dva, d, L::kErrRxDescFault)) return false;
      lo = d[0];
      hi = d[1];
      cap = d[2];
      word = d[3];
    }
    uint64_t addr = lo | static_cast<uint64_t>(hi) << 32;
    uint32_t n = std::min(len, cap);
    Fault f;
    bool ok = from_tx ? DmaCopy(addr, src, n, &f) : DmaWrite(addr, gen_frame_.data(), n, &f);
    if (!ok) {
      Fail(f.write ? L::kErrRxBufFault : L::kErrTxBufFault, &f);
      return false;
    }
    if (from_tx && n < len) {  // the rest of the TX buffer is still read, as the wire would send it
      if (!DmaProbe(src + n, len - n, &f)) {
        Fail(L::kErrTxBufFault, &f);
        return false;
      }
    }
    uint32_t flags = L::kFlagDd | L::kFlagEop | (n < len ? L::kFlagErr : 0);
    if (rxr) {
      StoreRlx(rxr + slot * 4 + 2, n);
      StoreRel(rxr + slot * 4 + 3, (word & 0xffff) | flags << 16);  // DD last: the driver may take it now
    } else {
      if (!WriteWord(dva + L::kDescLen, n, L::kErrRxDescFault)) return false;
      if (!WriteWord(dva + L::kDescIdFlags, (word & 0xffff) | flags << 16, L::kErrRxDescFault)) return false;
    }
    rx_.cidx++;
    rx_received_ = true;
    if (n < len) {
      stats_[5]++;  // RX_DROP_ERR
    } else {
      stats_[0]++;
      stats_[1] += len;
    }
    Cause(L::kCauseRx, now);
    return true;
  }

  // The generator: frames paced by GEN_PPS (a token bucket in model time) into RX buffers.
  uint32_t Generate(uint32_t budget, uint64_t now, uint32_t* rx_avail, uint32_t max_frame) {
    if (!link_up_ || !rx_.running) return 0;
    uint32_t pps = R(L::kGenPps);
    uint32_t len = std::min(std::max(R(L::kGenLen), L::kMinFrame), max_frame);
    uint64_t period_ps = pps ? 1000000000000ull / pps : 0;
    uint64_t now_ps = now * 1000;
    if (gen_next_ps_ == kNever || (period_ps && gen_next_ps_ + kGenBurst * period_ps < now_ps)) {
      gen_next_ps_ = period_ps ? now_ps - std::min(now_ps, (kGenBurst - 1) * period_ps) : now_ps;
    }
    uint32_t made = 0;
    while (made < budget) {
      if (period_ps && gen_next_ps_ > now_ps) {
        next_deadline_ = std::min(next_deadline_, gen_next_ps_ / 1000);
        break;
      }
      // No buffer: the generator holds (back-pressure), unless DROP_EN and a rate are set, when
      // the frame is lost as on a wire. As-fast-as-possible (GEN_PPS 0) never drops.
      if (*rx_avail == 0 && (!rx_.drop_en || !period_ps)) break;
      BuildFrame(len);
      if (*rx_avail == 0) {
        stats_[4]++;  // RX_DROP_NODESC
      } else {
        if (!Receive(RingWords(&rx_), 0, len, now, false)) return made;
        (*rx_avail)--;
      }
      gen_seq_++;
      gen_next_ps_ += period_ps;
      made++;
    }
    if (made == budget && (!period_ps || gen_next_ps_ <= now_ps)) next_deadline_ = now;
    if (!period_ps && *rx_avail > 0) next_deadline_ = now;
    return made;
  }

  // Ethernet II / IPv4 / UDP: dst 02:00:00:00:00:02, src = MAC_LO/HI, 10.0.0.1 → 10.0.0.2,
  // UDP source port 1024 + flow, destination port 9, the sequence number at payload + 0.
  void BuildFrame(uint32_t len) {
    uint8_t* f = gen_frame_.data();
    uint32_t mac_lo = R(L::kMacLo);
    uint32_t mac_hi = R(L::kMacHi);
    uint32_t flows = std::max<uint32_t>(R(L::kGenFlows), 1);
    if (len != gen_len_) {
      memset(f, 0, len);
      gen_len_ = len;
    }
    const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
    memcpy(f, dst, 6);
    for (int i = 0; i < 4; i++) f[6 + i] = static_cast<uint8_t>(mac_lo >> (8 * i));
    f[10] = static_cast<uint8_t>(mac_hi);
    f[11] = static_cast<uint8_t>(mac_hi >> 8);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t* ip = f + 14;
    uint16_t total = static_cast<uint16_t>(len - 14);
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    ip[4] = static_cast<uint8_t>(gen_seq_ >> 8);
    ip[5] = static_cast<uint8_t>(gen_seq_);
    ip[6] = ip[7] = 0;
    ip[8] = 64;
    ip[9] = 17;
    ip[10] = ip[11] = 0;
    const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
    memcpy(ip + 12, addrs, 8);
    uint16_t sum = IpChecksum(ip);
    ip[10] = static_cast<uint8_t>(sum >> 8);
    ip[11] = static_cast<uint8_t>(sum);
    uint8_t* udp = ip + 20;
    uint16_t sport = static_cast<uint16_t>(L::kGenSrcPortBase + gen_seq_ % flows);
    uint16_t ulen = static_cast<uint16_t>(total - 20);
    udp[0] = static_cast<uint8_t>(sport >> 8);
    udp[1] = static_cast<uint8_t>(sport);
    udp[2] = 0;
    udp[3] = L::kGenDstPort;
    udp[4] = static_cast<uint8_t>(ulen >> 8);
    udp[5] = static_cast<uint8_t>(ulen);
    udp[6] = udp[7] = 0;  // no UDP checksum (optional over IPv4)
    for (int i = 0; i < 4; i++) f[L::kGenSeqOffset + i] = static_cast<uint8_t>(gen_seq_ >> (8 * i));
  }

  // ---- publishing

  void Publish(uint64_t now) {
    PublishQueue(&tx_);
    PublishQueue(&rx_);
    static const uint32_t kStatOff[L::kStatCount] = {L::kStatRxPkts,       L::kStatRxBytes,   L::kStatTxPkts,
                                                    L::kStatTxBytes,       L::kStatRxDropNoDesc, L::kStatRxDropErr,
                                                    L::kStatTxDropLink};
    for (uint32_t i = 0; i < L::kStatCount; i++) {
      if (stats_[i] != stats_published_[i]) {
        W64(kStatOff[i], stats_[i]);
        stats_published_[i] = stats_[i];
      }
    }
    uint32_t status = (link_up_ ? L::kStatusLinkUp : 0) | (in_reset_ ? 0 : L::kStatusReady) |
                      (tx_.running && !halted_ ? L::kStatusTxRun : 0) | (rx_.running && !halted_ ? L::kStatusRxRun : 0) |
                      (halted_ ? L::kStatusHalted : 0) | (link_up_ ? L::kSpeed10G << L::kStatusSpeedShift : 0);
    if (status != status_published_) {
      W(L::kStatus, status);
      status_published_ = status;
    }
    if (cause_ != cause_published_) {
      W(L::kIntCause, cause_);  // before any MSI: the handler finds the cause that sent it
      cause_published_ = cause_;
    }
    Signal(now);
  }

  // Completion counts reach the driver in order: the descriptors (written during the pass), then
  // the write-back slot, then the CIDX register.
  void PublishQueue(Queue* q) {
    if (q->cidx == q->published) return;
    if (q->hwb_on) WriteWord(q->hwb, q->cidx, L::kErrHwbFault);  // a fault halts; CIDX still tells
    W(q->block + L::kQCidx, q->cidx);
    q->published = q->cidx;
  }

  // ---- interrupts

  uint32_t VectorOf(uint32_t cause_bit) const {
    if (cause_bit == L::kCauseRx) return int_vec_ & 0xf;
    if (cause_bit == L::kCauseTx) return (int_vec_ >> 4) & 0xf;
    return (int_vec_ >> 8) & 0xf;
  }

  // A cause is set; completions (RX, TX) count toward their vector's moderation.
  void Cause(uint32_t bit, uint64_t now) {
    cause_ |= bit;
    uint32_t v = VectorOf(bit);
    if (bit == L::kCauseRx || bit == L::kCauseTx) {
      if (pending_[v]++ == 0) first_[v] = now;
    }
  }

  // Each vector's line is (INT_CAUSE & INT_ENABLE & the causes routed to it) != 0; an MSI goes out
  // when the line is high and has not been signalled since it last went low (or since an
  // INT_CLEAR of one of its causes), and moderation
  // allows: link and error causes at once; completions when ITR's threshold of them is pending,
  // or ITR's delay has passed since the first (delay 0: no time limit), or when unmasking finds
  // causes that no MSI announced yet.
  void Signal(uint64_t now) {
    uint32_t masks[kVectors] = {};
    for (uint32_t bit = 1; bit <= L::kCauseErr; bit <<= 1) masks[VectorOf(bit)] |= bit;
    uint32_t threshold = std::max<uint32_t>(itr_ & 0xffff, 1);
    uint64_t delay = static_cast<uint64_t>(itr_ >> 16) * 1000;
    for (uint32_t v = 0; v < kVectors; v++) {
      if (!masks[v]) continue;
      uint32_t line = cause_ & enable_ & masks[v];
      if (!line) {
        signalled_[v] = false;
        continue;
      }
      if (signalled_[v]) continue;
      bool urgent = (line & (L::kCauseLink | L::kCauseErr)) != 0 || pending_[v] == 0;
      bool due = urgent || pending_[v] >= threshold || (delay && now - first_[v] >= delay);
      if (!due) {
        if (delay) next_deadline_ = std::min(next_deadline_, first_[v] + delay);
        continue;
      }
      signalled_[v] = true;
      pending_[v] = 0;
      first_[v] = kNever;
      if (kernel_->RaiseMsi(dev_, v) == 0) {  // lost (like any MSI) when MSI is off or the vector has no eventfd
        msis_++;
      } else {
        msis_lost_++;
      }
    }
  }

  // ---- errors

  // Latches an error bit (the bus-master bit instead when that is why the DMA failed) and the
  // first faulting IOVA, raises the error cause and halts both queues until a reset.
  void Fail(uint32_t bit, const Fault* f) {
    if (f && f->result == DmaResult::kBusMasterOff) bit = L::kErrBusMasterOff;
    if (f && !err_iova_latched_) {
      W(L::kErrIovaLo, static_cast<uint32_t>(f->iova));
      W(L::kErrIovaHi, static_cast<uint32_t>(f->iova >> 32));
      err_iova_latched_ = true;
    }
    err_ |= bit;
    W(L::kErr, err_);
    halted_ = true;
    cause_ |= L::kCauseErr;
    progressed_ = true;
  }

  // ---- DMA: every access is translated by the IOMMU (DmaPage), page by page

  // The device's view of [iova, iova + len), which lies inside one kDmaPage page.
  Ref Map(uint64_t iova, bool write, uint8_t** out, Fault* f) {
    uint64_t page = iova / kDmaPage;
    PageSlot& s = pages_[page % kPageSlots];
    uint8_t need = write ? 2 : 1;
    if (s.page != page || s.gen != gen_ || !(s.prot & need)) {
      uint8_t* host = nullptr;
      bool direct = false;
      DmaResult r = kernel_->DmaPage(dev_, page * kDmaPage, write, &host, &direct);
      if (r != DmaResult::kOk) {
        dev_->dma_errors++;
        f->iova = iova;
        f->result = r;
        f->write = write;
        return Ref::kFault;
      }
      if (s.page != page || s.gen != gen_) s.prot = 0;
      s.page = page;
      s.gen = gen_;
      s.host = host;
      s.direct = direct && host != nullptr;
      s.prot |= need;
    }
    if (!s.direct) return Ref::kCopy;
    *out = s.host + iova % kDmaPage;
    return Ref::kDirect;
  }

  static uint32_t InPage(uint64_t iova, uint32_t len) {
    return static_cast<uint32_t>(std::min<uint64_t>(len, kDmaPage - iova % kDmaPage));
  }

  // The slow way: one access copied through the user-access layer (a vanished page is an error).
  bool Copy(uint64_t iova, void* buf, uint32_t len, bool write, Fault* f) {
    DmaResult r = kernel_->DeviceDma(dev_, iova, buf, len, write);
    if (r == DmaResult::kOk) return true;
    f->iova = iova;
    f->result = r;
    f->write = write;
    return false;
  }

  bool DmaRead(uint64_t iova, void* out, uint32_t len, Fault* f) {
    auto* dst = static_cast<uint8_t*>(out);
    while (len > 0) {
      uint32_t n = InPage(iova, len);
      uint8_t* p = nullptr;
      Ref ref = Map(iova, false, &p, f);
      if (ref == Ref::kFault) return false;
      if (ref == Ref::kDirect) {
        memcpy(dst, p, n);
      } else if (!Copy(iova, dst, n, false, f)) {
        return false;
      }
      iova += n;
      dst += n;
      len -= n;
    }
    return true;
  }

  bool DmaWrite(uint64_t iova, const void* in, uint32_t len, Fault* f) {
    const auto* src = static_cast<const uint8_t*>(in);
    while (len > 0) {
      uint32_t n = InPage(iova, len);
      uint8_t* p = nullptr;
      Ref ref = Map(iova, true, &p, f);
      if (ref == Ref::kFault) return false;
      if (ref == Ref::kDirect) {
        CopyBytes(p, src, n);
      } else if (!Copy(iova, const_cast<uint8_t*>(src), n, true, f)) {
        return false;
      }
      iova += n;
      src += n;
      len -= n;
    }
    return true;
  }

  // Device memory to device memory (the loopback), in pieces that stay inside one page each side.
  bool DmaCopy(uint64_t dst, uint64_t src, uint32_t len, Fault* f) {
    while (len > 0) {
      uint32_t n = std::min(InPage(src, len), InPage(dst, len));
      uint8_t* s = nullptr;
      uint8_t* d = nullptr;
      Ref rs = Map(src, false, &s, f);
      if (rs == Ref::kFault) return false;
      Ref rd = Map(dst, true, &d, f);
      if (rd == Ref::kFault) return false;
      if (rs == Ref::kDirect && rd == Ref::kDirect) {
        CopyBytes(d, s, n);
      } else if (!BounceCopy(dst, src, n, f)) {
        return false;
      }
      src += n;
      dst += n;
      len -= n;
    }
    return true;
  }

  // DmaCopy's way for memory that is not directly reachable: through a buffer of the model's.
  __attribute__((noinline)) bool BounceCopy(uint64_t dst, uint64_t src, uint32_t n, Fault* f) {
    uint8_t bounce[kDmaPage];
    return DmaRead(src, bounce, n, f) && DmaWrite(dst, bounce, n, f);
  }

  // A frame sent to the wire: the device reads it (and the capture, when on, keeps a copy).
  bool ToWire(uint64_t iova, uint32_t len, bool capturable, Fault* f) {
    if (!capturable || capture_left_ == 0) return DmaProbe(iova, len, f);
    std::vector<uint8_t> frame(std::min(len, LnicPort::kCaptureBytes));
    if (!DmaRead(iova, frame.data(), static_cast<uint32_t>(frame.size()), f)) return false;
    if (len > frame.size() && !DmaProbe(iova + frame.size(), len - static_cast<uint32_t>(frame.size()), f)) return false;
    capture_.push_back(std::move(frame));
    capture_left_--;
    return true;
  }

  // A device read of [iova, iova + len) whose data goes nowhere.
  bool DmaProbe(uint64_t iova, uint32_t len, Fault* f) {
    while (len > 0) {
      uint32_t n = InPage(iova, len);
      uint8_t* p = nullptr;
      Ref ref = Map(iova, false, &p, f);
      if (ref == Ref::kFault) return false;
      if (ref == Ref::kCopy) {
        uint8_t bounce[kDmaPage];
        if (!Copy(iova, bounce, n, false, f)) return false;
      }
      iova += n;
      len -= n;
    }
    return true;
  }

  // A descriptor: 16 bytes, never across a page (rings are 64-byte aligned). Plain loads: the
  // acquire load of PIDX ordered them after the driver's stores.
  bool ReadDesc(uint64_t iova, uint32_t d[4], uint32_t err_bit) {
    Fault f;
    uint8_t* p = nullptr;
    Ref ref = Map(iova, false, &p, &f);
    if (ref == Ref::kDirect) {
      const auto* w = reinterpret_cast<const uint32_t*>(p);
      for (int i = 0; i < 4; i++) d[i] = LoadRlx(w + i);
      return true;
    }
    if (ref == Ref::kCopy && Copy(iova, d, 16, false, &f)) return true;
    Fail(err_bit, &f);
    return false;
  }

  // One 32-bit store by DMA with release semantics: everything the device wrote before it (the
  // frame, the length) is visible to a driver that observes it.
  bool WriteWord(uint64_t iova, uint32_t value, uint32_t err_bit) {
    Fault f;
    uint8_t* p = nullptr;
    Ref ref = Map(iova, true, &p, &f);
    if (ref == Ref::kDirect) {
      StoreRel(reinterpret_cast<uint32_t*>(p), value);
      return true;
    }
    if (ref == Ref::kCopy && Copy(iova, &value, 4, true, &f)) return true;
    Fail(err_bit, &f);
    return false;
  }

  // ---- the model's own thread

  void Notify() {
    std::lock_guard<std::mutex> l(wait_mu_);
    wait_cv_.notify_all();
  }

  // Whether a register the model acts on changed since the last pass read it.
  bool Changed() const {
    for (size_t i = 0; i < kNumWatched; i++) {
      if (LoadRlx(regs_ + kWatched[i] / 4) != seen_[i].load(std::memory_order_relaxed)) return true;
    }
    return false;
  }

  void Pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0) {
      CPU_SET(cpu, &set);
    } else if (sched_getaffinity(0, sizeof(set), &set) != 0) {
      return;
    }
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }

  void ThreadMain() {
    prctl(PR_SET_TIMERSLACK, 1000UL);
    prctl(PR_SET_NAME, "lnic-model");
    cpu_set_t all;
    bool have_all = sched_getaffinity(0, sizeof(all), &all) == 0;
    int pinned = -1;
    uint64_t last_active = SteadyNs();
    for (;;) {
      if (stop_.load(std::memory_order_acquire)) return;
      LnicScheduler mode = sched_.load(std::memory_order_acquire);
      if (mode == LnicScheduler::kStepped) {
        std::unique_lock<std::mutex> l(wait_mu_);
        wait_cv_.wait(l, [&] {
          return stop_.load(std::memory_order_acquire) || sched_.load(std::memory_order_acquire) != LnicScheduler::kStepped;
        });
        last_active = SteadyNs();
        continue;
      }
      int cpu = cpu_.load(std::memory_order_relaxed);
      if (cpu != pinned) {
        if (cpu >= 0) {
          Pin(cpu);
        } else if (have_all) {
          pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
        }
        pinned = cpu;
      }
      uint64_t now = SteadyNs();
      if (woken_.exchange(false, std::memory_order_acq_rel) || Changed() ||
          now >= deadline_.load(std::memory_order_relaxed)) {
        Lock lk(kernel_->mu);
        if (stop_.load(std::memory_order_acquire)) return;
        if (sched_.load(std::memory_order_relaxed) == LnicScheduler::kStepped) continue;
        uint64_t t0 = Ticks();
        uint32_t moved = Pass(kThreadBudget);
        bool progress = moved > 0 || progressed_;
        if (progress) busy_ticks_ += Ticks() - t0;
        lk.unlock();
        if (progress) {
          last_active = SteadyNs();
          continue;
        }
      }
      if (mode == LnicScheduler::kBusy) {
        CpuRelax();
        continue;
      }
      uint64_t idle = now - last_active;
      if (idle < kSpinAfterActivityNs) {
        for (int i = 0; i < 32; i++) CpuRelax();
        continue;
      }
      uint64_t period = idle < kShortSleepWindowNs ? kShortSleepNs : kLongSleepNs;
      uint64_t dl = deadline_.load(std::memory_order_relaxed);
      if (dl > now && dl - now < period) period = dl - now;
      std::unique_lock<std::mutex> l(wait_mu_);
      wait_cv_.wait_for(l, std::chrono::nanoseconds(period), [&] {
        return stop_.load(std::memory_order_acquire) || woken_.load(std::memory_order_acquire) ||
               sched_.load(std::memory_order_acquire) != mode;
      });
    }
  }

  std::shared_ptr<LnicPort> port_;
  uint32_t* regs_ = nullptr;

  // The device (Impl::mu).
  Queue tx_{L::kTxq};
  Queue rx_{L::kRxq};
  bool rx_received_ = false;  // RX has completed a descriptor since the queue was reset
  bool in_reset_ = false;
  uint64_t reset_done_at_ = kNever;
  uint64_t reset_delay_ns_ = kResetDelayNs;
  bool halted_ = false;
  uint32_t err_ = 0;
  bool err_iova_latched_ = false;
  bool link_up_ = false;
  uint32_t cause_ = 0;
  uint32_t enable_ = 0;
  uint32_t itr_ = L::kItrDefault;
  uint32_t int_vec_ = L::kIntVecDefault;
  bool signalled_[kVectors] = {};
  uint32_t pending_[kVectors] = {};
  uint64_t first_[kVectors] = {};
  uint64_t stats_[L::kStatCount] = {};
  uint64_t stats_published_[L::kStatCount] = {};
  uint32_t status_published_ = 0;
  uint32_t cause_published_ = 0;
  uint32_t gen_seq_ = 0;
  uint64_t gen_next_ps_ = kNever;
  uint32_t gen_len_ = 0;
  std::vector<uint8_t> gen_frame_ = std::vector<uint8_t>(L::kMaxFrameLimit);
  uint64_t next_deadline_ = kNever;
  bool progressed_ = false;  // the last pass changed state other than by moving frames
  // DMA translations (Impl::mu).
  std::vector<PageSlot> pages_;
  uint32_t gen_ = 1;
  uint64_t epoch_ = kNever;
  // The clock and the schedulers.
  uint64_t vclock_ = 0;                          // model time while stepped (Impl::mu)
  std::atomic<LnicScheduler> sched_{LnicScheduler::kThreaded};
  std::atomic<int> cpu_{-1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> woken_{false};
  std::atomic<uint64_t> deadline_{0};            // model time of the next timed event
  std::atomic<uint32_t> seen_[kNumWatched] = {};  // the watched registers as the last pass read them
  std::thread thread_;
  std::mutex wait_mu_;                           // only for the thread's sleeps
  std::condition_variable wait_cv_;
  // Frames sent to the wire, recorded for tests (Impl::mu).
  std::vector<std::vector<uint8_t>> capture_;
  uint32_t capture_left_ = 0;
  // Counters (Impl::mu).
  uint64_t steps_ = 0;
  uint64_t passes_ = 0;
  uint64_t packets_ = 0;
  uint64_t step_ticks_ = 0;
  uint64_t busy_ticks_ = 0;
  uint64_t thread_ns_ = 0;
  uint64_t msis_ = 0;
  uint64_t msis_lost_ = 0;
  uint64_t thread_since_ = SteadyNs();
};

std::unique_ptr<DeviceModel> NewLnicModel(MockKernel::Impl* kernel, CdxDevice* dev) {
  return std::make_unique<LnicModel>(kernel, dev);
}

// ---- LnicPort

long LnicPort::Step(uint32_t budget, uint64_t advance_ns) {
  auto k = Kernel();
  if (!k) return -ENODEV;
  std::lock_guard<std::mutex> lk(*mu_);
  return model_ ? model_->StepLocked(budget, advance_ns) : -ENODEV;
}

int LnicPort::SetScheduler(LnicScheduler s, int cpu) {
  auto k = Kernel();
  if (!k) return -ENODEV;
  std::lock_guard<std::mutex> lk(*mu_);
  if (!model_) return -ENODEV;
  model_->SetScheduler(s, cpu);
  return 0;
}

int LnicPort::Scheduler(LnicScheduler* out) {
  auto k = Kernel();
  if (!k) return -ENODEV;
  std::lock_guard<std::mutex> lk(*mu_);
  if (!model_) return -ENODEV;
  *out = model_->scheduler();
  return 0;
}

int LnicPort::Counters(LnicCounters* out) {
  auto k = Kernel();
  if (!k) return -ENODEV;
  std::lock_guard<std::mutex> lk(*mu_);
  if (!model_) return -ENODEV;
  model_->Counters(out);
  return 0;
}

int LnicPort::SetResetDelay(uint64_t ns) {
  auto k = Kernel();
  if (!k) return -ENODEV;
  std::lock_guard<std::mutex> lk(*mu_);
  if (!model_) return -ENODEV;
  model_->SetResetDelay(ns);
  return 0;
}

int LnicPort::SetCapture(uint32_t frames) {
  auto k = Kernel();
  if (!k) return -ENODEV;
  std::lock_guard<std::mutex> lk(*mu_);
  if (!model_) return -ENODEV;
  model_->SetCapture(frames);
  return 0;
}

int LnicPort::TakeCapture(std::vector<std::vector<uint8_t>>* out) {
  auto k = Kernel();
  if (!k) return -ENODEV;
  std::lock_guard<std::mutex> lk(*mu_);
  if (!model_) return -ENODEV;
  model_->TakeCapture(out);
  return 0;
}

int MockKernel::Lnic(const std::string& device, std::shared_ptr<LnicPort>* out) {
  Lock lk(impl_->mu);
  CdxDevice* dev = impl_->LiveDevice(device);
  if (!dev || dev->is_bus) return -ENODEV;
  auto* m = dynamic_cast<LnicModel*>(dev->model.get());
  if (!m) return -EINVAL;
  *out = m->port();
  if ((*out)->kernel_.expired()) (*out)->kernel_ = weak_from_this();
  return 0;
}

}  // namespace mock
}  // namespace vfiocdx
