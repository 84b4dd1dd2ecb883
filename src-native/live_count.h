// live_count.h — how many objects of a native type are alive, process-wide.
//
// A member `LiveCount<T> live_;` counts T's constructions minus destructions.
// The counts are read by tests (native `_live()`) to check, without timing
// or memory heuristics, that close() frees native state at once rather than
// when the garbage collector finalizes the JS wrapper.
#pragma once

#include <atomic>

namespace vfiocdx {

template <typename Tag>
class LiveCount {
 public:
  LiveCount() { count_.fetch_add(1, std::memory_order_relaxed); }
  LiveCount(const LiveCount&) : LiveCount() {}
  LiveCount& operator=(const LiveCount&) { return *this; }
  ~LiveCount() { count_.fetch_sub(1, std::memory_order_relaxed); }
  static long Get() { return count_.load(std::memory_order_relaxed); }

 private:
  static inline std::atomic<long> count_{0};
};

}  // namespace vfiocdx
