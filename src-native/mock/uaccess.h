// uaccess.h — copy_from_user / copy_to_user for the mock kernel.
//
// The mock runs in the caller's address space, but it must still treat ioctl
// arguments as untrusted user pointers: a NULL or unmapped pointer has to yield
// -EFAULT exactly where the kernel's copy would fault, never a crash. So no copy
// ever dereferences a user pointer in this process: each one goes through a
// system call that reports a bad pointer as EFAULT. Two such mechanisms exist and
// one is picked once per process, at first use (docs/mock-user-memory.md):
//
//   process_vm   process_vm_readv/writev on our own pid: one call per copy. Refused
//                by seccomp in many containers (EPERM/ENOSYS) and broken under
//                qemu-user, which hands the host kernel guest addresses (EFAULT).
//   pipe         write(2) the source into a private pipe, read(2) it out into the
//                destination: the kernel (or qemu-user's syscall layer) checks the
//                user pointer on the side that is user memory and answers EFAULT.
//
// The environment variable VFIO_CDX_MOCK_UACCESS=process_vm|pipe|none restricts
// the candidates (for tests; `none` exercises the failure path).
//
// Thread-safety: every function may be called from any thread; the pipe is
// shared and guarded by its own mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vfiocdx {
namespace mock {

// The mechanism in use: "process_vm" or "pipe". Detects it on the first call. If
// neither works, returns "" and sets *why (when given) to a sentence naming what
// each candidate answered; every copy then fails with -EFAULT.
const char* UserAccessMethod(std::string* why = nullptr);

// copy_from_user(): 0, or -EFAULT if any byte of [src, src+n) is not readable.
int CopyFromUser(void* dst, uintptr_t src, size_t n);
// copy_to_user(): 0, or -EFAULT if any byte of [dst, dst+n) is not writable.
int CopyToUser(uintptr_t dst, const void* src, size_t n);
// get_user() of an int.
int GetUserInt(uintptr_t src, int* out);
// strndup_user(src, n) (mm/util.c): -EFAULT on a fault, -EINVAL if no NUL within n bytes.
// Reads one host page at a time, so that a string ending right before an unreadable page does
// not fault.
int StrndupUser(uintptr_t src, size_t n, std::string* out);
// copy_struct_from_user() (include/linux/uaccess.h:387-409): copies min(usize, ksize), zero-fills
// the rest; -E2BIG if usize > ksize and the user's tail is not all zero; -EFAULT on a fault.
int CopyStructFromUser(void* dst, size_t ksize, uintptr_t src, size_t usize);

}  // namespace mock
}  // namespace vfiocdx
