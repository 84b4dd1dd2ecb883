// cycle_clock.h — a cheap monotonic tick counter for timing short stretches of code (a model
// pass, a driver burst) where clock_gettime's 20 ns would be a large part of what is measured.
// x86-64: RDTSC (invariant on every CPU this runs on); arm64: CNTVCT_EL0; elsewhere the steady
// clock in ns. Ticks become ns through a rate measured once against the steady clock (TicksPerNs).
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace vfiocdx {

inline uint64_t Ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#elif defined(__aarch64__)
  uint64_t v;
  __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
  return v;
#else
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
#endif
}

inline uint64_t SteadyNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// Ticks per ns, measured once per process against the steady clock (a 5 ms spin on first use).
inline double TicksPerNs() {
  static const double rate = [] {
    uint64_t ns0 = SteadyNs();
    uint64_t t0 = Ticks();
    uint64_t ns1 = ns0;
    while (ns1 - ns0 < 5000000) ns1 = SteadyNs();
    uint64_t t1 = Ticks();
    double r = static_cast<double>(t1 - t0) / static_cast<double>(ns1 - ns0);
    return r > 0 ? r : 1.0;
  }();
  return rate;
}

// A spin-wait hint to the CPU (PAUSE / YIELD).
inline void CpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

}  // namespace vfiocdx
