// uaccess.h — copy_from_user / copy_to_user for the mock kernel.
//
// The mock runs in the caller's address space, but it must still treat ioctl
// arguments as untrusted user pointers: a NULL or unmapped pointer has to yield
// -EFAULT exactly where the kernel's copy would fault, never a crash. Every copy
// therefore goes through process_vm_readv/process_vm_writev on our own pid, which
// reports a fault as a short transfer / EFAULT (include/linux/uaccess.h semantics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vfiocdx {
namespace mock {

// copy_from_user(): 0, or -EFAULT if any byte of [src, src+n) is not readable.
int CopyFromUser(void* dst, uintptr_t src, size_t n);
// copy_to_user(): 0, or -EFAULT if any byte of [dst, dst+n) is not writable.
int CopyToUser(uintptr_t dst, const void* src, size_t n);
// get_user() of an int.
int GetUserInt(uintptr_t src, int* out);
// strndup_user(src, n) (mm/util.c): -EFAULT on a fault, -EINVAL if no NUL within n bytes.
int StrndupUser(uintptr_t src, size_t n, std::string* out);
// copy_struct_from_user() (include/linux/uaccess.h:387-409): copies min(usize, ksize), zero-fills
// the rest; -E2BIG if usize > ksize and the user's tail is not all zero; -EFAULT on a fault.
int CopyStructFromUser(void* dst, size_t ksize, uintptr_t src, size_t usize);

}  // namespace mock
}  // namespace vfiocdx
