// uaccess.cc — user-copy emulation (include/linux/uaccess.h, mm/util.c, lib/strnlen_user.c).
#include "uaccess.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace vfiocdx {
namespace mock {
namespace {

enum class Method { kNone, kProcessVm, kPipe };

size_t HostPage() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// ---- process_vm_readv/writev on our own pid

// True iff all n bytes were transferred.
bool ProcessVmCopy(void* local, uintptr_t remote, size_t n, bool to_user) {
  struct iovec l = {local, n};
  struct iovec r = {reinterpret_cast<void*>(remote), n};
  ssize_t done = to_user ? process_vm_writev(getpid(), &l, 1, &r, 1, 0) : process_vm_readv(getpid(), &l, 1, &r, 1, 0);
  return done == static_cast<ssize_t>(n);
}

// ---- a private pipe: write(2) reads user memory, read(2) writes it, both check the pointer

// The process's one copy pipe. Both ends O_NONBLOCK, so a short transfer can never block and
// draining stops at EAGAIN; O_CLOEXEC like every fd this library makes. Created once, lives as
// long as the process (it is the mock's, like the kernel's own internal objects).
struct CopyPipe {
  std::mutex mu;
  int rd = -1;
  int wr = -1;
  size_t chunk = 0;  // at most the pipe's capacity: a write of `chunk` bytes into an empty pipe never blocks
};

CopyPipe g_pipe;

void Drain() {
  char sink[4096];
  while (read(g_pipe.rd, sink, sizeof sink) > 0) {
  }
}

// One chunk through the pipe; the pipe is empty before and after. True iff all n bytes moved.
bool PipeChunk(void* local, uintptr_t remote, size_t n, bool to_user) {
  const void* from = to_user ? local : reinterpret_cast<const void*>(remote);
  void* to = to_user ? reinterpret_cast<void*>(remote) : local;
  ssize_t w = write(g_pipe.wr, from, n);
  if (w != static_cast<ssize_t>(n)) {  // EFAULT, or a fault after some bytes: what went in comes out
    int saved = w < 0 ? errno : EFAULT;
    if (w > 0) Drain();
    errno = saved;
    return false;
  }
  ssize_t r = read(g_pipe.rd, to, n);
  if (r != static_cast<ssize_t>(n)) {
    int saved = r < 0 ? errno : EFAULT;
    Drain();
    errno = saved;
    return false;
  }
  return true;
}

bool PipeCopy(void* local, uintptr_t remote, size_t n, bool to_user) {
  std::lock_guard<std::mutex> lock(g_pipe.mu);
  for (size_t done = 0; done < n;) {
    size_t c = std::min(g_pipe.chunk, n - done);
    if (!PipeChunk(static_cast<char*>(local) + done, remote + done, c, to_user)) return false;
    done += c;
  }
  return true;
}

bool OpenPipe(std::string* why) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
    *why = std::string("pipe2: ") + strerror(errno);
    return false;
  }
  g_pipe.rd = fds[0];
  g_pipe.wr = fds[1];
  long cap = fcntl(g_pipe.wr, F_GETPIPE_SZ);
  g_pipe.chunk = cap > 0 ? static_cast<size_t>(cap) : HostPage();
  return true;
}

void ClosePipe() {
  close(g_pipe.rd);
  close(g_pipe.wr);
  g_pipe.rd = g_pipe.wr = -1;
}

// ---- detection: a candidate works iff a good pointer copies both ways and a bad one is EFAULT

using CopyFn = bool (*)(void*, uintptr_t, size_t, bool);

// A page this process can neither read nor write, for the EFAULT probe.
struct ProbePages {
  char good[64] = {};
  void* bad = MAP_FAILED;
  ProbePages() { bad = mmap(nullptr, HostPage(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }
  ~ProbePages() {
    if (bad != MAP_FAILED) munmap(bad, HostPage());
  }
};

bool Probe(CopyFn copy, const char* name, std::string* why) {
  ProbePages p;
  if (p.bad == MAP_FAILED) {
    *why += std::string(name) + ": cannot map a probe page (" + strerror(errno) + "); ";
    return false;
  }
  char src[64];
  char dst[64] = {};
  for (size_t i = 0; i < sizeof src; i++) src[i] = static_cast<char>(i + 1);
  errno = 0;
  bool ok = copy(src, reinterpret_cast<uintptr_t>(p.good), sizeof src, true) &&
            copy(dst, reinterpret_cast<uintptr_t>(p.good), sizeof dst, false) && memcmp(src, dst, sizeof src) == 0;
  if (!ok) {
    *why += std::string(name) + " cannot copy a valid buffer (" + (errno ? strerror(errno) : "short copy") + "); ";
    return false;
  }
  uintptr_t bad = reinterpret_cast<uintptr_t>(p.bad);
  errno = 0;
  if (copy(dst, bad, sizeof dst, false) || errno != EFAULT || copy(src, bad, sizeof src, true) || errno != EFAULT) {
    *why += std::string(name) + " does not report an unmapped address as EFAULT; ";
    return false;
  }
  return true;
}

struct Detected {
  Method method = Method::kNone;
  std::string why;  // when kNone: what each candidate answered
};

Detected Detect() {
  Detected d;
  const char* env = getenv("VFIO_CDX_MOCK_UACCESS");
  std::string only = env ? env : "";
  if (!only.empty() && only != "process_vm" && only != "pipe" && only != "none") {
    d.why = "VFIO_CDX_MOCK_UACCESS='" + only + "' is not one of process_vm, pipe, none";
    return d;
  }
  std::string tried;
  if (only.empty() || only == "process_vm") {
    if (Probe(ProcessVmCopy, "process_vm_readv/writev on the own pid", &tried)) {
      d.method = Method::kProcessVm;
      return d;
    }
  }
  if (only.empty() || only == "pipe") {
    if (OpenPipe(&tried)) {
      if (Probe(PipeCopy, "write/read through a pipe", &tried)) {
        d.method = Method::kPipe;
        return d;
      }
      ClosePipe();
    }
  }
  if (only == "none") tried = "VFIO_CDX_MOCK_UACCESS=none allows no method; ";
  d.why = "the mock kernel has no way to copy user memory that reports a bad pointer as EFAULT: " + tried +
          "the mock needs one of them (see docs/mock-user-memory.md)";
  return d;
}

const Detected& Current() {
  static const Detected d = Detect();
  return d;
}

// One copy by the detected method; a NULL user pointer always faults (the zero page is never
// mapped for user access).
bool UserCopy(void* local, uintptr_t remote, size_t n, bool to_user) {
  if (n == 0) return true;
  if (remote == 0) return false;
  switch (Current().method) {
    case Method::kProcessVm: return ProcessVmCopy(local, remote, n, to_user);
    case Method::kPipe: return PipeCopy(local, remote, n, to_user);
    case Method::kNone: return false;
  }
  return false;
}

}  // namespace

const char* UserAccessMethod(std::string* why) {
  const Detected& d = Current();
  switch (d.method) {
    case Method::kProcessVm: return "process_vm";
    case Method::kPipe: return "pipe";
    case Method::kNone: break;
  }
  if (why) *why = d.why;
  return "";
}

int CopyFromUser(void* dst, uintptr_t src, size_t n) { return UserCopy(dst, src, n, false) ? 0 : -EFAULT; }

int CopyToUser(uintptr_t dst, const void* src, size_t n) {
  return UserCopy(const_cast<void*>(src), dst, n, true) ? 0 : -EFAULT;
}

int GetUserInt(uintptr_t src, int* out) { return CopyFromUser(out, src, sizeof(*out)); }

// strndup_user() (mm/util.c): strnlen_user() → 0 on fault (EFAULT), > n if no NUL in n bytes (EINVAL).
// Reads page by page so that a string ending right before an unmapped page does not fault.
int StrndupUser(uintptr_t src, size_t n, std::string* out) {
  std::string s;
  uintptr_t p = src;
  while (s.size() < n) {
    size_t to_page_end = HostPage() - (p % HostPage());
    size_t chunk = std::min(to_page_end, n - s.size());
    std::vector<char> buf(chunk);
    if (!UserCopy(buf.data(), p, chunk, false)) return -EFAULT;
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
    if (!UserCopy(tail.data(), src + size, rest, false)) return -EFAULT;
    for (uint8_t b : tail) {
      if (b != 0) return -E2BIG;
    }
  }
  return CopyFromUser(dst, src, size);
}

}  // namespace mock
}  // namespace vfiocdx
