// lnic_model.h — the control side of an `lnic` device model (lnic_model.cc, docs/lnic.md).
//
// LnicPort is a share of one lnic device's model, for whoever drives its clock or reads its
// counters: the N-API control object (napi_lnic.cc) and, through the C hooks of
// ../bench_hooks.h, the benchmark's C reference driver. It outlives the device and the kernel:
// once the device is removed, or the MockKernel destroyed, every call answers -ENODEV. Each call
// holds the kernel for its duration (a weak reference locked) and takes the kernel's mutex, so
// any thread may call any method.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace vfiocdx {
namespace mock {

class LnicModel;

// Who runs the device.
//   kStepped   nobody but LnicPort::Step(): deterministic, for tests and CPU-cost benchmarks
//   kThreaded  the model's own thread, which sleeps when the device is idle (spins briefly
//              after activity, then polls its registers every 50 µs, then every 1 ms)
//   kBusy      the model's own thread, spinning on the registers (a core at 100 %)
enum class LnicScheduler : int { kStepped = 0, kThreaded = 1, kBusy = 2 };

struct LnicCounters {
  uint64_t steps = 0;         // Step() calls that ran a pass
  uint64_t passes = 0;        // passes by any scheduler
  uint64_t packets = 0;       // frames moved (received, sent, generated or dropped)
  double step_ns = 0;         // time inside Step()'s passes
  double busy_ns = 0;         // threaded: time in passes that did work
  double thread_ns = 0;       // threaded: time the thread has been running a threaded scheduler
  uint64_t msis = 0;          // MSIs the device sent that reached an eventfd
  uint64_t msis_lost = 0;     // MSIs the device sent that were lost (MSI off, no eventfd on the vector)
};

class MockKernel;

class LnicPort {
 public:
  explicit LnicPort(std::mutex* mu) : mu_(mu) {}
  LnicPort(const LnicPort&) = delete;
  LnicPort& operator=(const LnicPort&) = delete;

  // One pass of the device on the calling thread (the stepped scheduler only): the clock moves
  // by `advance_ns`, then at most `budget` frames move. Returns the number moved, -EBUSY when a
  // threaded scheduler runs the device, -ENODEV when the device is gone.
  long Step(uint32_t budget, uint64_t advance_ns);
  // Switches scheduler; `cpu` >= 0 pins the model's thread to that CPU (threaded schedulers).
  // 0 or -ENODEV.
  int SetScheduler(LnicScheduler s, int cpu);
  int Scheduler(LnicScheduler* out);
  int Counters(LnicCounters* out);
  // How long a reset keeps STATUS.READY clear (default 10 µs; model time).
  int SetResetDelay(uint64_t ns);
  // Records the next `frames` frames the device sends to the wire (generator and sink modes),
  // each up to kCaptureBytes; 0 stops. Starting again discards what was recorded.
  int SetCapture(uint32_t frames);
  int TakeCapture(std::vector<std::vector<uint8_t>>* out);
  static constexpr uint32_t kCaptureBytes = 2048;

 private:
  friend class LnicModel;
  friend class MockKernel;
  // The kernel, its mutex, and the model: each call first locks kernel_ (so that the mutex
  // exists), then takes the mutex (so that model_ is current).
  std::shared_ptr<MockKernel> Kernel() const { return kernel_.lock(); }
  std::weak_ptr<MockKernel> kernel_;  // set once, by the first MockKernel::Lnic(), before any caller has the port
  std::mutex* const mu_;
  LnicModel* model_ = nullptr;  // null once the device is gone; guarded by *mu_
};

}  // namespace mock
}  // namespace vfiocdx
