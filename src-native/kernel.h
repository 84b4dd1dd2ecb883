// kernel.h — the syscall seam.
//
// Everything above this interface (struct packing, argsz handling, fd and
// mapping ownership, error mapping) is the same code for the real kernel and
// for the mock, so the mock exercises all of it except the final system call.
// Each method behaves like the system call it names: it returns >= 0 on
// success or -errno on failure, never throws and never touches errno.
//
// Thread-safety: LinuxKernel is stateless. MockKernel serialises its own state
// with a mutex, so one Kernel may be shared by several threads (the JS thread of
// each worker, device-model threads of the mock).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vfiocdx {

class Kernel {
 public:
  virtual ~Kernel() = default;

  // open(2). `flags` are O_* flags; callers always pass O_CLOEXEC.
  virtual int Open(const std::string& path, int flags) = 0;
  // close(2).
  virtual int Close(int fd) = 0;
  // ioctl(2). `arg` is the raw third argument: a user pointer for struct
  // ioctls, a value for VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU, ignored otherwise.
  virtual long Ioctl(int fd, unsigned long request, uintptr_t arg) = 0;
  // mmap(2). On success stores the address in *out and returns 0.
  virtual int Mmap(void* addr, size_t length, int prot, int flags, int fd, int64_t offset, void** out) = 0;
  // munmap(2).
  virtual int Munmap(void* addr, size_t length) = 0;
  // read(2) / write(2).
  virtual long Read(int fd, void* buf, size_t count) = 0;
  virtual long Write(int fd, const void* buf, size_t count) = 0;
  // eventfd(2).
  virtual int Eventfd(unsigned int initval, int flags) = 0;

  // Filesystem side (sysfs and /dev). Paths are absolute.
  // Entries of a directory, without "." and "..", in no particular order.
  virtual int ReadDir(const std::string& path, std::vector<std::string>* names) = 0;
  // readlink(2): the link's target as stored (often relative).
  virtual int ReadLink(const std::string& path, std::string* target) = 0;
  // The whole content of a (small) file, as one read would return it.
  virtual int ReadFile(const std::string& path, std::string* contents) = 0;
  // One open(O_WRONLY) + one write(2) of `data` + close, like `echo -n data > path`.
  // Returns the write's result: bytes written, or -errno from open or write.
  virtual long WriteFile(const std::string& path, const std::string& data) = 0;
  // stat(2) (follows links).
  virtual int Stat(const std::string& path, struct stat* st) = 0;

  // The kernel's PAGE_SIZE. mmap offsets must be multiples of it and mmap/munmap lengths round
  // up to it. An arm64 kernel may be built with 4K, 16K or 64K pages, so this is the kernel's
  // answer, not a constant (the real kernel: sysconf(_SC_PAGESIZE), from AT_PAGESZ).
  virtual size_t PageSize() const = 0;

  // A short name for diagnostics: "linux" or "mock".
  virtual const char* Name() const = 0;
};

// The real kernel: libc and nothing else.
std::shared_ptr<Kernel> MakeLinuxKernel();

}  // namespace vfiocdx
