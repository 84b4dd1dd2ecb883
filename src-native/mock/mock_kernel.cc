// mock_kernel.cc — the seam: fd table, dispatch, fault injection, tracing, profiles, the mutex.
//
// Every Kernel method takes Impl::mu, checks injected faults, dispatches to the emulated object
// (or to the real system call for descriptors the mock did not create) and records a CallRecord.
// The handlers themselves live in the files named after the kernel files they mirror.
#include "mock_kernel.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mock_internal.h"

namespace vfiocdx {
namespace mock {

// ---- profiles

namespace {

// Every profile once: its name and what it changes from KernelConfig's defaults (IOMMU present,
// IOMMUFD=n). ProfileConfig() and ProfileNames() both read this table; the descriptions are in
// mock_kernel.h.
struct Profile {
  const char* name;
  void (*apply)(KernelConfig& c);
};

const Profile kProfiles[] = {
    {"linux-6.12", [](KernelConfig&) {}},
    {"linux-6.12-iommufd", [](KernelConfig& c) { c.iommufd = true; }},
    {"cdev",
     [](KernelConfig& c) {
       c.iommufd = true;
       c.vfio_cdx_detach_ioas = true;
     }},
    {"iommufd-compat",
     [](KernelConfig& c) {
       c.iommufd = true;
       c.vfio_cdx_detach_ioas = true;
       c.vfio_container = false;
       c.noiommu_config = true;
     }},
    {"noiommu",
     [](KernelConfig& c) {
       c.iommu = false;
       c.iommufd = true;
       c.vfio_cdx_detach_ioas = true;
       c.noiommu_config = true;
       c.noiommu_enabled = true;
     }},
};

}  // namespace

bool ProfileConfig(const std::string& name, KernelConfig* out) {
  for (const Profile& p : kProfiles) {
    if (name != p.name) continue;
    KernelConfig c;
    c.profile = name;
    p.apply(c);
    *out = c;
    return true;
  }
  return false;
}

std::vector<std::string> ProfileNames() {
  std::vector<std::string> names;
  for (const Profile& p : kProfiles) names.push_back(p.name);
  return names;
}

std::vector<std::string> ControllerOpNames() { return {"reset", "set_master", "clear_master", "msi_enable"}; }

// ---- Impl lifetime

MockKernel::Impl::Impl(const KernelConfig& c) : config(c) {
  host_page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  page_size = config.page_size ? config.page_size : host_page;
  config.page_size = page_size;  // what config() reports: the kernel's PAGE_SIZE, never 0
  noiommu_param = config.noiommu_config && config.noiommu_enabled;
}

// Tears the kernel down the way process exit would: the device-model threads stop first (the
// hardware goes quiet), then vmas and fds go (running every release handler), then the devices are
// unregistered (nothing can block any more), then the region memory is freed.
MockKernel::Impl::~Impl() {
  Lock lk(mu);
  ModelStopAll(lk);
  while (!vmas.empty()) {
    OpenFile* f = vmas.begin()->second.file;
    vmas.erase(vmas.begin());
    FilePut(f);
  }
  while (!fds.empty()) CloseFd(fds.begin()->first);
  while (!devices.empty()) {
    CdxDevice* dev = devices.begin()->second.get();
    if (dev->dead) break;  // a remover is still waiting: cannot happen once all files are gone
    CdxUnregisterDevice(dev, lk);
  }
  for (auto& r : regions) {
    if (r->view) munmap(r->view, r->mapped);
    if (r->memfd >= 0) close(r->memfd);
  }
}

// ---- files

// Creates the memfd that stands for a new file: the kernel's get_unused_fd_flags().
int MockKernel::Impl::ReserveFd(const std::string& name, int o_flags) {
  std::string full = "vfio-mock:" + name;
  if (full.size() > 240) full.resize(240);
  int fd = memfd_create(full.c_str(), (o_flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
  return fd < 0 ? -errno : fd;
}

int MockKernel::Impl::InstallFile(std::unique_ptr<OpenFile> file, const std::string& name, int o_flags) {
  int fd = ReserveFd(name, o_flags);
  if (fd < 0) return fd;
  return AttachFile(std::move(file), fd, o_flags);
}

// fd_install(): the reserved descriptor now stands for `file`.
int MockKernel::Impl::AttachFile(std::unique_ptr<OpenFile> file, int fd, int o_flags) {
  file->fd = fd;
  file->f_flags = o_flags;
  OpenFile* raw = file.get();
  files[raw] = std::move(file);
  fds[fd] = raw;
  if (fd < kFdBits) mock_fds[fd / 64].fetch_or(uint64_t{1} << (fd % 64), std::memory_order_release);
  return fd;
}

OpenFile* MockKernel::Impl::FileFromFd(int fd) {
  auto it = fds.find(fd);
  return it == fds.end() ? nullptr : it->second;
}

void MockKernel::Impl::FileGet(OpenFile* f) { f->refs++; }

// fput(): the last reference runs the file's release handler.
void MockKernel::Impl::FilePut(OpenFile* f) {
  if (--f->refs > 0) return;
  switch (f->kind) {
    case FileKind::kContainer: VfioFopsRelease(f); break;
    case FileKind::kGroup: VfioGroupFopsRelease(f); break;
    case FileKind::kDevice: VfioDeviceFopsRelease(f); break;
    case FileKind::kIommufd: IommufdFopsRelease(f); break;
    case FileKind::kSysfs: break;
  }
  files.erase(f);
}

// close(2): the descriptor goes now, the file when its last reference does.
void MockKernel::Impl::CloseFd(int fd) {
  OpenFile* f = fds[fd];
  fds.erase(fd);
  if (fd < kFdBits) mock_fds[fd / 64].fetch_and(~(uint64_t{1} << (fd % 64)), std::memory_order_release);
  close(fd);
  f->fd = -1;
  FilePut(f);
}

// Drops the vmas in [start, start+length); partial overlaps are split like split_vma().
int MockKernel::Impl::PageMmap(void* addr, size_t length, int prot, int flags, int fd, uint64_t offset, void** out) {
  if (page_size <= host_page || (flags & MAP_FIXED)) {
    void* p = mmap(addr, length, prot, flags, fd, static_cast<off_t>(offset));
    if (p == MAP_FAILED) return -errno;
    *out = p;
    return 0;
  }
  // Reserve enough address space to find an aligned start, map over it, give back the rest.
  size_t slack = page_size - host_page;
  void* r = mmap(addr, length + slack, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return -errno;
  uintptr_t base = reinterpret_cast<uintptr_t>(r);
  uintptr_t start = (base + page_size - 1) & ~(static_cast<uintptr_t>(page_size) - 1);
  void* p = mmap(reinterpret_cast<void*>(start), length, prot, flags | MAP_FIXED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    int err = errno;
    munmap(r, length + slack);
    return -err;
  }
  if (start > base) munmap(r, start - base);
  uintptr_t end = start + length;
  if (base + length + slack > end) munmap(reinterpret_cast<void*>(end), base + length + slack - end);
  *out = p;
  return 0;
}

void MockKernel::Impl::UnmapRange(uintptr_t start, size_t length) {
  uintptr_t end = start + (length + host_page - 1) / host_page * host_page;
  auto it = vmas.lower_bound(start);
  if (it != vmas.begin()) --it;
  while (it != vmas.end() && it->first < end) {
    uintptr_t vs = it->first;
    uintptr_t ve = vs + it->second.length;
    if (ve <= start) {
      ++it;
      continue;
    }
    OpenFile* f = it->second.file;
    it = vmas.erase(it);
    if (vs < start) {
      vmas[vs] = Vma{start - vs, f};
      FileGet(f);
    }
    if (ve > end) {
      vmas[end] = Vma{ve - end, f};
      FileGet(f);
    }
    FilePut(f);
  }
}

// ---- faults and tracing

int MockKernel::Impl::CheckFault(Fault::Op op, const std::string& subject, const std::string& device) {
  for (auto& fs : faults) {
    const Fault& f = fs.fault;
    if (f.op != op) continue;
    bool name_ok = f.match == "*" || (op == Fault::Op::kIoctl || op == Fault::Op::kController
                                          ? subject == f.match
                                          : subject.find(f.match) != std::string::npos);
    if (op == Fault::Op::kMmap || op == Fault::Op::kEventfd) name_ok = f.match == "*" || f.match == device;
    bool dev_ok = f.device.empty() || f.device == device ||
                  (device.empty() && subject.find(f.device) != std::string::npos);
    if (!name_ok || !dev_ok) continue;
    if (f.times >= 0 && fs.fired >= f.times) continue;
    if (fs.skipped < f.skip) {
      fs.skipped++;
      continue;
    }
    fs.fired++;
    return -f.err;
  }
  return 0;
}

void MockKernel::Impl::Trace(const char* op, const std::string& name, int fd, long result) {
  if (!tracing) return;
  CallRecord r;
  r.op = op;
  r.name = name;
  r.fd = fd;
  r.result = result;
  trace.push_back(std::move(r));
}

// Every request name a fault can match, from abi.h's ioctl list: the VFIO numbers as a device or
// group reads them, then as a container reads 12..17, then iommufd's.
std::vector<std::string> IoctlNames() {
  std::vector<std::string> out;
  for (const abi::Ioctl& i : abi::kIoctls) {
    if (i.request < abi::IommufdIo(0) && i.on != abi::IoctlOn::kIommuFile) out.push_back(i.name);
  }
  for (const abi::Ioctl& i : abi::kIoctls) {
    if (i.on == abi::IoctlOn::kIommuFile) out.push_back(i.name);
  }
  for (const abi::Ioctl& i : abi::kIoctls) {
    if (i.request >= abi::IommufdIo(0)) out.push_back(i.name);
  }
  return out;
}

// The ioctl's name as the fd's object type reads it (0x3b70 is VFIO_IOMMU_GET_INFO on a container,
// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on a device); unknown numbers, and fds the mock did not
// create, print as hex.
std::string MockKernel::Impl::IoctlName(int fd, unsigned long request) {
  OpenFile* f = FileFromFd(fd);
  bool iommu_side = f && (f->kind == FileKind::kContainer || f->kind == FileKind::kIommufd);
  const char* name = f ? abi::IoctlName(request, iommu_side) : nullptr;
  if (name) return name;
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%lx", request);
  return buf;
}

std::string MockKernel::Impl::FileDeviceName(int fd) {
  OpenFile* f = FileFromFd(fd);
  if (!f || f->kind != FileKind::kDevice) return "";
  return f->df->device->dev->name;
}

// ---- MockKernel

std::shared_ptr<MockKernel> MockKernel::Create(const KernelConfig& config, std::string* error) {
  size_t host = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (config.page_size != 0 &&
      (config.page_size % host != 0 || (config.page_size & (config.page_size - 1)) != 0)) {
    if (error) *error = "page_size must be a power of two and a multiple of the host page size";
    return nullptr;
  }
  if (config.noiommu_enabled && !config.noiommu_config) {
    if (error) *error = "noiommu_enabled needs noiommu_config (CONFIG_VFIO_NOIOMMU)";
    return nullptr;
  }
  return std::shared_ptr<MockKernel>(new MockKernel(std::make_unique<Impl>(config)));
}

MockKernel::MockKernel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// Fixed at boot, so no lock: any thread may ask.
size_t MockKernel::PageSize() const { return impl_->page_size; }
MockKernel::~MockKernel() = default;

int MockKernel::Open(const std::string& path, int flags) {
  Lock lk(impl_->mu);
  impl_->dma_epoch++;  // a first open resets the device (and clears bus mastering)
  int ret = impl_->CheckFault(Fault::Op::kOpen, path, "");
  if (ret == 0) ret = impl_->OpenPath(path, flags);
  impl_->Trace("open", path, ret, ret);
  return ret;
}

int MockKernel::Close(int fd) {
  Lock lk(impl_->mu);
  impl_->dma_epoch++;  // a last close resets; a container or IOAS release unmaps
  int ret = 0;
  if (impl_->FileFromFd(fd)) {
    impl_->CloseFd(fd);
  } else {
    ret = close(fd) < 0 ? -errno : 0;
  }
  impl_->Trace("close", "", fd, ret);
  return ret;
}

long MockKernel::Ioctl(int fd, unsigned long request, uintptr_t arg) {
  Lock lk(impl_->mu);
  impl_->dma_epoch++;  // UNMAP_DMA, IOAS_UNMAP, DETACH, bus master, reset...
  std::string name = impl_->IoctlName(fd, request);
  long ret = impl_->CheckFault(Fault::Op::kIoctl, name, impl_->FileDeviceName(fd));
  OpenFile* f = impl_->FileFromFd(fd);
  if (ret != 0) {
    // injected
  } else if (!f) {
    long r = ioctl(fd, request, arg);
    ret = r < 0 ? -errno : r;
  } else {
    switch (f->kind) {
      case FileKind::kContainer: ret = impl_->VfioFopsUnlIoctl(f, request, arg); break;
      case FileKind::kGroup: ret = impl_->VfioGroupFopsUnlIoctl(f, request, arg); break;
      case FileKind::kDevice: ret = impl_->VfioDeviceFopsUnlIoctl(f, request, arg); break;
      case FileKind::kIommufd: ret = impl_->IommufdFopsIoctl(f, request, arg); break;
      case FileKind::kSysfs: ret = -ENOTTY; break;  // vfs_ioctl(): no unlocked_ioctl
    }
  }
  impl_->Trace("ioctl", name, fd, ret);
  return ret;
}

int MockKernel::Mmap(void* addr, size_t length, int prot, int flags, int fd, int64_t offset, void** out) {
  Lock lk(impl_->mu);
  impl_->dma_epoch++;  // MAP_FIXED can replace memory a device reaches
  std::string dev = impl_->FileDeviceName(fd);
  int ret = impl_->CheckFault(Fault::Op::kMmap, dev, dev);
  OpenFile* f = impl_->FileFromFd(fd);
  if (ret != 0) {
    // injected
  } else if (!f || (flags & MAP_ANONYMOUS)) {  // MAP_ANONYMOUS ignores fd (ksys_mmap_pgoff)
    // do_mmap(): the length rounds up to PAGE_SIZE, and so does the address's alignment.
    size_t len = impl_->PageRound(length);
    void* p = nullptr;
    ret = length == 0 || len == 0 ? -EINVAL : impl_->PageMmap(addr, len, prot, flags, fd, static_cast<uint64_t>(offset), &p);
    if (ret == 0) {
      impl_->UnmapRange(reinterpret_cast<uintptr_t>(p), len);
      if ((prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE)) {
        impl_->HostMapsAdd(reinterpret_cast<uintptr_t>(p), len);
      } else {
        impl_->HostMapsForget(reinterpret_cast<uintptr_t>(p), len);
      }
      *out = p;
    }
  } else if (f->kind == FileKind::kDevice) {
    ret = impl_->VfioDeviceFopsMmap(f, addr, length, prot, flags, offset, out);
    if (ret == 0) impl_->HostMapsForget(reinterpret_cast<uintptr_t>(*out), impl_->PageRound(length));
  } else {
    ret = -ENODEV;  // do_mmap(): no f_op->mmap
  }
  impl_->Trace("mmap", dev, fd, ret);
  return ret;
}

// __vm_munmap() → do_vmi_munmap(): the start must be page-aligned and the length rounds up to
// PAGE_SIZE, the kernel's page, which may be larger than the host's.
int MockKernel::Munmap(void* addr, size_t length) {
  Lock lk(impl_->mu);
  impl_->dma_epoch++;
  uintptr_t start = reinterpret_cast<uintptr_t>(addr);
  size_t len = impl_->PageRound(length);
  int ret;
  if ((start & (impl_->page_size - 1)) || length == 0 || len == 0) {
    ret = -EINVAL;
  } else {
    ret = munmap(addr, len) < 0 ? -errno : 0;
  }
  if (ret == 0) {
    impl_->UnmapRange(start, len);
    impl_->HostMapsForget(start, len);
  }
  impl_->Trace("munmap", "", -1, ret);
  return ret;
}

long MockKernel::Read(int fd, void* buf, size_t count) {
  // A descriptor the mock did not create (an eventfd, a pipe) is read without the kernel's mutex,
  // as Linux reads an eventfd without any lock its signaller holds: otherwise the reader of an
  // MSI's eventfd, woken while the device model that raised it still holds the mutex, would wait
  // for the model's pass to end. With tracing on, every read is recorded, under the mutex.
  if (!impl_->IsMockFd(fd) && !impl_->tracing.load(std::memory_order_relaxed)) {
    ssize_t n = read(fd, buf, count);
    return n < 0 ? -errno : n;
  }
  Lock lk(impl_->mu);
  OpenFile* f = impl_->FileFromFd(fd);
  long ret;
  if (!f) {
    ssize_t n = read(fd, buf, count);
    ret = n < 0 ? -errno : n;
  } else if ((f->f_flags & O_ACCMODE) == O_WRONLY) {
    ret = -EBADF;  // vfs_read(): !(file->f_mode & FMODE_READ)
  } else if (f->kind == FileKind::kSysfs) {
    ret = impl_->SysfsRead(f, buf, count);
  } else {
    // vfio_device_fops_read(): no ->read in vfio-cdx (vfio_main.c:1327-1328); container, group and
    // iommufd files have no .read at all (vfs_read(): !FMODE_CAN_READ).
    ret = -EINVAL;
  }
  impl_->Trace("read", "", fd, ret);
  return ret;
}

long MockKernel::Write(int fd, const void* buf, size_t count) {
  Lock lk(impl_->mu);
  impl_->dma_epoch++;  // a sysfs write can reset, unbind or remove
  OpenFile* f = impl_->FileFromFd(fd);
  long ret;
  if (!f) {
    ssize_t n = write(fd, buf, count);
    ret = n < 0 ? -errno : n;
  } else if ((f->f_flags & O_ACCMODE) == O_RDONLY) {
    ret = -EBADF;  // vfs_write(): !(file->f_mode & FMODE_WRITE)
  } else if (f->kind == FileKind::kSysfs) {
    ret = impl_->SysfsWrite(f, buf, count, lk);
    impl_->dma_epoch++;  // the store may have dropped the mutex (remove, unbind)
  } else {
    ret = -EINVAL;  // vfio_device_fops_write() (vfio_main.c:1344-1345) / no .write
  }
  impl_->Trace("write", "", fd, ret);
  return ret;
}

int MockKernel::Eventfd(unsigned int initval, int flags) {
  Lock lk(impl_->mu);
  int ret = impl_->CheckFault(Fault::Op::kEventfd, "*", "");
  if (ret == 0) {
    ret = eventfd(initval, flags);
    if (ret < 0) ret = -errno;
  }
  impl_->Trace("eventfd", "", ret, ret);
  return ret;
}

const KernelConfig& MockKernel::config() const { return impl_->config; }

// The controller finds a new device: it is added now and by every later rescan. With spec.bind
// the device is also given driver_override=vfio-cdx and probed (a probe error leaves it unbound).
int MockKernel::AddDevice(const DeviceSpec& spec, std::string* error) {
  Lock lk(impl_->mu);
  if (!impl_->config.cdx_bus) {
    if (error) *error = "this kernel has no CDX bus (cdxBus: false): no controller can add a device";
    return -ENODEV;
  }
  int ret = impl_->CdxDeviceAdd(spec, error);
  if (ret) return ret;
  impl_->scan_list.push_back(spec);
  if (spec.bind) {
    char name[24];
    snprintf(name, sizeof(name), "cdx-%02x:%02x", spec.bus & 0xf, spec.dev);
    CdxDevice* dev = impl_->devices[name].get();
    impl_->DriverOverrideStore(dev, "vfio-cdx");
    impl_->DeviceAttach(dev);
  }
  return 0;
}

int MockKernel::DeviceRegion(const std::string& device, uint64_t instance, uint32_t index, uint8_t** data,
                             size_t* size) {
  Lock lk(impl_->mu);
  auto it = impl_->devices.find(device);
  if (it == impl_->devices.end() || it->second->is_bus) return -ENODEV;
  CdxDevice* dev = it->second.get();
  if (instance != 0 && dev->instance != instance) return -ESTALE;
  if (index >= dev->res.size()) return -EINVAL;
  *data = dev->res[index]->view;
  *size = static_cast<size_t>(dev->res[index]->size);
  return 0;
}

DeviceStatus MockKernel::Status(const std::string& device) {
  Lock lk(impl_->mu);
  DeviceStatus st;
  auto it = impl_->devices.find(device);
  if (it == impl_->devices.end() || it->second->is_bus) return st;
  const CdxDevice* dev = it->second.get();
  st.exists = !dev->dead;
  st.instance = dev->instance;
  st.bus_master = dev->bus_master;
  st.resets = dev->resets;
  st.driver = dev->bound ? "vfio-cdx" : "";
  st.open_count = dev->vdev ? dev->vdev->open_count : 0;
  st.msi_enabled = dev->msi_enabled;
  st.num_regions = static_cast<uint32_t>(dev->res.size());
  st.dma_errors = dev->dma_errors;
  return st;
}

std::vector<std::string> MockKernel::DeviceNames() {
  Lock lk(impl_->mu);
  std::vector<std::string> names;
  for (auto& kv : impl_->devices) {
    if (!kv.second->is_bus && !kv.second->dead) names.push_back(kv.first);
  }
  return names;
}

int MockKernel::RaiseMsi(const std::string& device, uint32_t vector) {
  Lock lk(impl_->mu);
  CdxDevice* dev = impl_->LiveDevice(device);
  if (!dev || dev->is_bus) return -ENODEV;
  return impl_->RaiseMsi(dev, vector);
}

int MockKernel::DmaRead(const std::string& device, uint64_t iova, void* dst, size_t len) {
  Lock lk(impl_->mu);
  CdxDevice* dev = impl_->LiveDevice(device);
  if (!dev || dev->is_bus) return -ENODEV;
  return DmaResultErrno(impl_->DeviceDma(dev, iova, dst, len, false));
}

int MockKernel::DmaWrite(const std::string& device, uint64_t iova, const void* src, size_t len) {
  Lock lk(impl_->mu);
  CdxDevice* dev = impl_->LiveDevice(device);
  if (!dev || dev->is_bus) return -ENODEV;
  // DeviceDma reads from `src` when the device writes; it never stores to it.
  return DmaResultErrno(impl_->DeviceDma(dev, iova, const_cast<void*>(src), len, true));
}

void MockKernel::InjectFault(const Fault& fault) {
  Lock lk(impl_->mu);
  FaultState fs;
  fs.fault = fault;
  impl_->faults.push_back(fs);
}

void MockKernel::ClearFaults() {
  Lock lk(impl_->mu);
  impl_->faults.clear();
}

void MockKernel::SetCapSysRawio(bool on) {
  Lock lk(impl_->mu);
  impl_->config.cap_sys_rawio = on;
}

void MockKernel::SetTracing(bool on) {
  Lock lk(impl_->mu);
  impl_->tracing = on;
}

std::vector<CallRecord> MockKernel::TakeTrace() {
  Lock lk(impl_->mu);
  std::vector<CallRecord> out;
  out.swap(impl_->trace);
  return out;
}

size_t MockKernel::OpenObjectCount() {
  Lock lk(impl_->mu);
  size_t n = impl_->fds.size() + impl_->vmas.size();
  for (auto& kv : impl_->devices) {
    const VfioDevice* v = kv.second->vdev.get();
    if (!v) continue;
    for (const auto& irq : v->cdx_irqs) n += irq.trigger >= 0 ? 1 : 0;
  }
  return n;
}

}  // namespace mock
}  // namespace vfiocdx
