// linux_kernel.cc — the real kernel behind the seam: libc, nothing else.
//
// Stateless; every method is a thin wrapper that turns the libc convention
// (-1 + errno) into the seam's (-errno), so the code above cannot tell the
// real kernel from the mock by anything but behaviour.
#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel.h"

namespace vfiocdx {
namespace {

inline long Result(long rc) { return rc < 0 ? -errno : rc; }

// Retries a call interrupted by a signal: none of these calls has a partial
// effect when it returns EINTR.
template <typename F>
long Retry(F f) {
  long rc;
  do {
    rc = f();
  } while (rc < 0 && errno == EINTR);
  return Result(rc);
}

class LinuxKernel final : public Kernel {
 public:
  int Open(const std::string& path, int flags) override {
    return static_cast<int>(Retry([&] { return ::open(path.c_str(), flags); }));
  }
  // close(2) must not be retried on EINTR: the descriptor is gone either way.
  int Close(int fd) override { return static_cast<int>(Result(::close(fd))); }
  long Ioctl(int fd, unsigned long request, uintptr_t arg) override {
    return Retry([&] { return ::ioctl(fd, request, arg); });
  }
  int Mmap(void* addr, size_t length, int prot, int flags, int fd, int64_t offset, void** out) override {
    void* p = ::mmap(addr, length, prot, flags, fd, static_cast<off_t>(offset));
    if (p == MAP_FAILED) return -errno;
    *out = p;
    return 0;
  }
  int Munmap(void* addr, size_t length) override { return static_cast<int>(Result(::munmap(addr, length))); }
  long Read(int fd, void* buf, size_t count) override {
    return Retry([&] { return ::read(fd, buf, count); });
  }
  long Write(int fd, const void* buf, size_t count) override {
    return Retry([&] { return ::write(fd, buf, count); });
  }
  int Eventfd(unsigned int initval, int flags) override {
    return static_cast<int>(Result(::eventfd(initval, flags)));
  }

  int ReadDir(const std::string& path, std::vector<std::string>* names) override {
    int fd = Open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fd;
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      int err = errno;
      ::close(fd);
      return -err;
    }
    names->clear();
    errno = 0;
    while (struct dirent* e = ::readdir(dir)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names->emplace_back(e->d_name);
    }
    int err = errno;
    ::closedir(dir);
    return -err;
  }

  int ReadLink(const std::string& path, std::string* target) override {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n < 0) return -errno;
    if (static_cast<size_t>(n) == sizeof buf) return -ENAMETOOLONG;
    target->assign(buf, static_cast<size_t>(n));
    return 0;
  }

  // sysfs attributes are at most a page; read until EOF anyway.
  int ReadFile(const std::string& path, std::string* contents) override {
    int fd = Open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    contents->clear();
    char buf[4096];
    long n;
    while ((n = Read(fd, buf, sizeof buf)) > 0) contents->append(buf, static_cast<size_t>(n));
    ::close(fd);
    return n < 0 ? static_cast<int>(n) : 0;
  }

  long WriteFile(const std::string& path, const std::string& data) override {
    int fd = Open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    long n = Write(fd, data.data(), data.size());
    // sysfs reports a store error from write(), but a close error is possible
    // on other filesystems: report it if the write itself succeeded.
    int rc = Close(fd);
    return n < 0 ? n : (rc < 0 ? rc : n);
  }

  int Stat(const std::string& path, struct stat* st) override {
    return static_cast<int>(Result(::stat(path.c_str(), st)));
  }

  size_t PageSize() const override { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }
  const char* Name() const override { return "linux"; }
};

}  // namespace

std::shared_ptr<Kernel> MakeLinuxKernel() { return std::make_shared<LinuxKernel>(); }

}  // namespace vfiocdx
