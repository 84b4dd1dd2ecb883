// sys.cc — seam calls with tracing and SysError on failure.
#include "sys.h"

#include <sys/stat.h>

namespace vfiocdx {

int Sys::TryOpen(const std::string& path, int flags) const {
  int fd = kernel_->Open(path, flags);
  Trace("open", "", path, fd, fd);
  return fd;
}

int Sys::Open(const std::string& path, int flags) const {
  int fd = TryOpen(path, flags);
  if (fd < 0) throw SysError(-fd, "open", "", path);
  return fd;
}

long Sys::TryIoctl(int fd, const abi::Ioctl& request, uintptr_t arg, const std::string& what) const {
  long rc = kernel_->Ioctl(fd, request.request, arg);
  Trace("ioctl", request.name, what, fd, rc);
  return rc;
}

long Sys::Ioctl(int fd, const abi::Ioctl& request, uintptr_t arg, const std::string& what) const {
  long rc = TryIoctl(fd, request, arg, what);
  if (rc < 0) throw SysError(static_cast<int>(-rc), "ioctl", request.name, what);
  return rc;
}

void* Sys::Mmap(size_t length, int prot, int flags, int fd, int64_t offset, const std::string& what) const {
  void* addr = nullptr;
  int rc = kernel_->Mmap(nullptr, length, prot, flags, fd, offset, &addr);
  Trace("mmap", "", what, fd, rc);
  if (rc < 0) throw SysError(-rc, "mmap", "", what);
  return addr;
}

int Sys::TryReadLink(const std::string& path, std::string* target) const {
  int rc = kernel_->ReadLink(path, target);
  Trace("readlink", "", path, -1, rc);
  return rc;
}

std::string Sys::ReadLink(const std::string& path) const {
  std::string target;
  int rc = TryReadLink(path, &target);
  if (rc < 0) throw SysError(-rc, "readlink", "", path);
  return target;
}

int Sys::TryStat(const std::string& path) const {
  struct stat st;
  return TryStat(path, &st);
}

int Sys::TryStat(const std::string& path, struct stat* st) const {
  int rc = kernel_->Stat(path, st);
  Trace("stat", "", path, -1, rc);
  return rc;
}

int Sys::TryReadDir(const std::string& path, std::vector<std::string>* names) const {
  names->clear();
  int rc = kernel_->ReadDir(path, names);
  Trace("scandir", "", path, -1, rc);
  return rc;
}

std::vector<std::string> Sys::ReadDir(const std::string& path) const {
  std::vector<std::string> names;
  int rc = TryReadDir(path, &names);
  if (rc < 0) throw SysError(-rc, "scandir", "", path);
  return names;
}

int Sys::TryReadFile(const std::string& path, std::string* contents) const {
  contents->clear();
  int rc = kernel_->ReadFile(path, contents);
  Trace("read", "", path, -1, rc);
  return rc;
}

std::string Sys::ReadFile(const std::string& path) const {
  std::string contents;
  int rc = TryReadFile(path, &contents);
  if (rc < 0) throw SysError(-rc, "read", "", path);
  return contents;
}

long Sys::TryWriteFile(const std::string& path, const std::string& data) const {
  long rc = kernel_->WriteFile(path, data);
  Trace("write", "", path, -1, rc);
  return rc;
}

void Sys::WriteFile(const std::string& path, const std::string& data) const {
  long rc = TryWriteFile(path, data);
  if (rc < 0) throw SysError(static_cast<int>(-rc), "write", "", path);
}

int Sys::Eventfd(unsigned int initval, int flags, const std::string& what) const {
  int fd = kernel_->Eventfd(initval, flags);
  Trace("eventfd", "", what, fd, fd);
  if (fd < 0) throw SysError(-fd, "eventfd", "", what);
  return fd;
}

void Sys::Close(int fd, const std::string& what) const {
  int rc = kernel_->Close(fd);
  Trace("close", "", what, fd, rc);
}

void Sys::Munmap(void* addr, size_t length, const std::string& what) const {
  int rc = kernel_->Munmap(addr, length);
  Trace("munmap", "", what, -1, rc);
}

}  // namespace vfiocdx
