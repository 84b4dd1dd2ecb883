// uaccess.cc — user-copy emulation (include/linux/uaccess.h, mm/util.c, lib/strnlen_user.c).
#include "uaccess.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace vfiocdx {
namespace mock {
namespace {

// One process_vm_{read,write}v on ourselves; true iff all n bytes were transferred.
bool TransferSelf(void* local, uintptr_t remote, size_t n, bool write) {
  if (n == 0) return true;
  if (remote == 0) return false;  // the zero page is never mapped for user access
  struct iovec l = {local, n};
  struct iovec r = {reinterpret_cast<void*>(remote), n};
  ssize_t done = write ? process_vm_writev(getpid(), &l, 1, &r, 1, 0)
                       : process_vm_readv(getpid(), &l, 1, &r, 1, 0);
  return done == static_cast<ssize_t>(n);
}

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

int CopyFromUser(void* dst, uintptr_t src, size_t n) {
  return TransferSelf(dst, src, n, false) ? 0 : -EFAULT;
}

int CopyToUser(uintptr_t dst, const void* src, size_t n) {
  return TransferSelf(const_cast<void*>(src), dst, n, true) ? 0 : -EFAULT;
}

int GetUserInt(uintptr_t src, int* out) { return CopyFromUser(out, src, sizeof(*out)); }

// strndup_user() (mm/util.c): strnlen_user() → 0 on fault (EFAULT), > n if no NUL in n bytes (EINVAL).
// Reads page by page so that a string ending right before an unmapped page does not fault.
int StrndupUser(uintptr_t src, size_t n, std::string* out) {
  std::string s;
  uintptr_t p = src;
  while (s.size() < n) {
    size_t to_page_end = PageSize() - (p % PageSize());
    size_t chunk = std::min(to_page_end, n - s.size());
    std::vector<char> buf(chunk);
    if (!TransferSelf(buf.data(), p, chunk, false)) return -EFAULT;
    const void* nul = memchr(buf.data(), 0, chunk);
    if (nul != nullptr) {
      s.append(buf.data(), static_cast<const char*>(nul) - buf.data());
      *out = s;
      return 0;
    }
    s.append(buf.data(), chunk);
    p += chunk;
  }
  return -EINVAL;
}

// copy_struct_from_user(): check_zeroed_user() on the tail first, then the copy.
int CopyStructFromUser(void* dst, size_t ksize, uintptr_t src, size_t usize) {
  size_t size = std::min(ksize, usize);
  size_t rest = std::max(ksize, usize) - size;
  if (usize < ksize) {
    memset(static_cast<char*>(dst) + size, 0, rest);
  } else if (usize > ksize) {
    std::vector<uint8_t> tail(rest);
    if (!TransferSelf(tail.data(), src + size, rest, false)) return -EFAULT;
    for (uint8_t b : tail) {
      if (b != 0) return -E2BIG;
    }
  }
  return CopyFromUser(dst, src, size);
}

}  // namespace mock
}  // namespace vfiocdx
