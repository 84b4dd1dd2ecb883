// sys.h — the layer just above the seam: errors, fd ownership, tracing.
//
// Code above the seam calls the kernel through Sys, which records what it is
// doing (syscall, VFIO request name, path) so that a failure becomes a
// SysError carrying everything Node's fs errors carry, and so that
// NODE_DEBUG=vfio-cdx can trace each call with its result.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "abi.h"
#include "kernel.h"

namespace vfiocdx {

// A failed system call. `err` is the positive errno.
struct SysError : std::runtime_error {
  SysError(int err_, std::string syscall_, std::string request_, std::string path_)
      : std::runtime_error(syscall_ + " " + request_ + " " + path_),
        err(err_), syscall(std::move(syscall_)), request(std::move(request_)), path(std::move(path_)) {}
  int err;
  std::string syscall;  // "ioctl", "open", "mmap", ...
  std::string request;  // "VFIO_DEVICE_RESET" (ioctl only)
  std::string path;     // the file or device the call was about
};

// A failure that is not a system call's: misuse (closed object), or a state the
// library refuses (device not bound, group not viable). `code` is an ERR_* code.
struct UsageError : std::runtime_error {
  UsageError(std::string code_, const std::string& message) : std::runtime_error(message), code(std::move(code_)) {}
  std::string code;
};

struct TraceRecord {
  const char* syscall;
  const char* request;  // may be ""
  const std::string* path;
  int fd;
  long result;
};

using TraceFn = std::function<void(const TraceRecord&)>;

// Sys: a Kernel plus the trace hook of the calling environment.
// Not thread-safe by itself: one Sys per JS environment (thread).
class Sys {
 public:
  Sys(std::shared_ptr<Kernel> kernel, TraceFn trace) : kernel_(std::move(kernel)), trace_(std::move(trace)) {}
  Kernel& kernel() const { return *kernel_; }
  const std::shared_ptr<Kernel>& shared_kernel() const { return kernel_; }

  // Each returns the kernel's result (>= 0) or throws SysError.
  int Open(const std::string& path, int flags) const;
  // The request's name (traces, errors) comes from its abi::Ioctl entry (VFIO_CDX_IOCTLS).
  long Ioctl(int fd, const abi::Ioctl& request, uintptr_t arg, const std::string& what) const;
  void* Mmap(size_t length, int prot, int flags, int fd, int64_t offset, const std::string& what) const;
  std::string ReadLink(const std::string& path) const;
  // Non-throwing forms for probing (return -errno).
  int TryOpen(const std::string& path, int flags) const;
  long TryIoctl(int fd, const abi::Ioctl& request, uintptr_t arg, const std::string& what) const;
  int TryReadLink(const std::string& path, std::string* target) const;
  int TryStat(const std::string& path) const;
  int TryStat(const std::string& path, struct stat* st) const;
  // The filesystem side (sysfs): traced like the rest; the throwing forms name the path.
  int TryReadDir(const std::string& path, std::vector<std::string>* names) const;
  std::vector<std::string> ReadDir(const std::string& path) const;  // SysError "scandir"
  int TryReadFile(const std::string& path, std::string* contents) const;
  std::string ReadFile(const std::string& path) const;  // SysError "read"
  long TryWriteFile(const std::string& path, const std::string& data) const;
  void WriteFile(const std::string& path, const std::string& data) const;  // SysError "write"
  // eventfd(2); `what` names the descriptor in traces and errors (SysError "eventfd").
  int Eventfd(unsigned int initval, int flags, const std::string& what) const;
  // Release paths never throw; their failures are traced and otherwise ignored
  // (there is nothing a caller can do about a failing close(2) or munmap(2)).
  void Close(int fd, const std::string& what) const;
  void Munmap(void* addr, size_t length, const std::string& what) const;

 private:
  void Trace(const char* syscall, const char* request, const std::string& path, int fd, long result) const {
    if (trace_) trace_(TraceRecord{syscall, request, &path, fd, result});
  }
  std::shared_ptr<Kernel> kernel_;
  TraceFn trace_;
};

// Exactly one owner of a file descriptor; closes it through the seam.
class UniqueFd {
 public:
  UniqueFd() = default;
  UniqueFd(std::shared_ptr<const Sys> sys, int fd, std::string what)
      : sys_(std::move(sys)), fd_(fd), what_(std::move(what)) {}
  UniqueFd(UniqueFd&& o) noexcept : sys_(std::move(o.sys_)), fd_(std::exchange(o.fd_, -1)), what_(std::move(o.what_)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      sys_ = std::move(o.sys_);
      fd_ = std::exchange(o.fd_, -1);
      what_ = std::move(o.what_);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  const std::string& what() const { return what_; }
  void Reset() {
    if (fd_ >= 0) sys_->Close(fd_, what_);
    fd_ = -1;
  }

 private:
  std::shared_ptr<const Sys> sys_;
  int fd_ = -1;
  std::string what_;
};

}  // namespace vfiocdx
