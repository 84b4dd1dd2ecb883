// mapping.h — one mmap of (part of) a device region.
//
// Owns: the mapping [addr, addr + map_length). The Device that created it keeps
// the only owning list of its mappings and unmaps every one on close; a JS
// Mapping object holds a shared_ptr only to ask "still mapped?" and to reach
// the bytes. Before an unmap, `before_unmap` (set by the N-API layer) detaches
// the JS ArrayBuffer over the mapping, so later JS access sees byteLength 0
// instead of faulting. Thread: the JS thread of the owning environment.
//
// Device memory is not RAM: the accessors are exact-width, naturally aligned,
// volatile loads and stores, one instruction each, never merged or split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <optional>

#include "live_count.h"
#include "sys.h"

namespace vfiocdx {

class MappingCore {
 public:
  MappingCore(std::shared_ptr<const Sys> sys, void* addr, size_t length, size_t map_length, uint32_t region,
              uint64_t offset, bool writable, std::string what)
      : sys_(std::move(sys)), addr_(static_cast<uint8_t*>(addr)), length_(length), map_length_(map_length),
        region_(region), offset_(offset), writable_(writable), what_(std::move(what)) {}
  ~MappingCore() { Unmap(false); }
  MappingCore(const MappingCore&) = delete;
  MappingCore& operator=(const MappingCore&) = delete;

  bool mapped() const { return addr_ != nullptr; }
  uint8_t* data() const { return addr_; }
  size_t length() const { return length_; }
  uint32_t region() const { return region_; }
  uint64_t offset() const { return offset_; }
  // False for a read-only region, mapped PROT_READ: a store would be SIGSEGV.
  bool writable() const { return writable_; }
  // "cdx-00:00 region 1": how traces and errors name this mapping.
  const std::string& what() const { return what_; }

  // Runs before_unmap (when `notify`: only on the JS thread, never during
  // environment teardown), then munmaps. Idempotent.
  void Unmap(bool notify);
  std::function<void()> before_unmap;

  // Exact-width accessors; the caller has checked bounds and alignment.
  template <typename T>
  T Read(size_t off) const { return *reinterpret_cast<const volatile T*>(addr_ + off); }
  template <typename T>
  void Write(size_t off, T value) const { *reinterpret_cast<volatile T*>(addr_ + off) = value; }
  // A doorbell: every earlier store to memory (DMA buffers, descriptors) is made visible to
  // a DMA master before the device sees this store — Linux's writel() and DPDK's
  // rte_write32(): `dmb oshst` then a plain `str` on arm64; on x86-64 stores are not
  // reordered with earlier stores (TSO), so a compiler barrier and `mov` suffice.
  template <typename T>
  void Doorbell(size_t off, T value) const {
#if defined(__aarch64__)
    __asm__ __volatile__("dmb oshst" ::: "memory");
#elif defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("" ::: "memory");
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
    *reinterpret_cast<volatile T*>(addr_ + off) = value;
  }

 private:
  // Counts mapped cores: engaged from construction until Unmap (what stays after is a
  // few bytes that say "unmapped" to accessors still pointing here).
  std::optional<LiveCount<MappingCore>> live_{std::in_place};
  std::shared_ptr<const Sys> sys_;
  uint8_t* addr_;
  size_t length_;
  size_t map_length_;
  uint32_t region_;
  uint64_t offset_;
  bool writable_;
  std::string what_;
};

}  // namespace vfiocdx
