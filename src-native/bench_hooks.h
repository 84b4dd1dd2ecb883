// bench_hooks.h — the C interface through which native code in another addon of the same process
// reaches this addon's objects: the bench-only addon (bench/native, not shipped) runs its C loops
// and the C reference driver on the very kernel, mock device and model the JavaScript side uses.
//
// Two addons share no C++ objects safely (each has its own copies of every class and static), so
// the main addon hands out plain C structs of function pointers, wrapped in a napi External:
//   native()._hooks.kernel(kernelHandle)  → External<VfioCdxKernelHooks>
//   lnicControl(...).hooks()              → External<VfioCdxLnicHooks>
// `ctx` stays valid while the External is alive; code that keeps it longer (a thread that
// outlives the call) takes its own reference with retain() and gives it back with release().
// Thread-safe: every function may be called from any thread.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define VFIO_CDX_HOOKS_ABI 1

// The napi_type_tag each External carries (napi_type_tag_object), checked before it is unwrapped.
#define VFIO_CDX_KERNEL_HOOKS_TAG {0x3f1e6a2b9c7d4e05ULL, 0x8b2c1d0e7f6a5b49ULL}
#define VFIO_CDX_LNIC_HOOKS_TAG {0x52c9e1a7b3d84f60ULL, 0x1a7e4c3b9d2f6e85ULL}

#ifdef __cplusplus
extern "C" {
#endif

struct VfioCdxKernelHooks {
  uint32_t abi;   // VFIO_CDX_HOOKS_ABI
  uint32_t size;  // sizeof(struct VfioCdxKernelHooks)
  void* ctx;
  // The seam (src-native/kernel.h): >= 0 or -errno, like the system calls.
  long (*ioctl)(void* ctx, int fd, unsigned long request, uintptr_t arg);
  int (*mmap)(void* ctx, size_t length, int prot, int flags, int fd, int64_t offset, void** out);
  int (*munmap)(void* ctx, void* addr, size_t length);
  long (*read)(void* ctx, int fd, void* buf, size_t count);
  // The device raises MSI `vector` (mock only): 0, -EAGAIN (lost), -EINVAL, -ENODEV, -ENOTSUP.
  int (*raise_msi)(void* ctx, const char* device, uint32_t vector);
  void* (*retain)(void* ctx);  // returns a new ctx holding its own reference
  void (*release)(void* ctx);
};

struct VfioCdxLnicCounters {
  uint64_t steps;
  uint64_t passes;
  uint64_t packets;
  double step_ns;
  double busy_ns;
  double thread_ns;
};

struct VfioCdxLnicHooks {
  uint32_t abi;
  uint32_t size;
  void* ctx;
  // One pass of the model on the calling thread (stepped scheduler): frames moved, -EBUSY, -ENODEV.
  long (*step)(void* ctx, uint32_t budget, uint64_t advance_ns);
  int (*counters)(void* ctx, struct VfioCdxLnicCounters* out);
  void* (*retain)(void* ctx);
  void (*release)(void* ctx);
};

#ifdef __cplusplus
}
#endif
