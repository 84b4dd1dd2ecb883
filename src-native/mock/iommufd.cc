// iommufd.cc — drivers/iommu/iommufd: /dev/iommu, the ioctl framework (main.c:413-447), the object
// table (IOMMU_DESTROY), IOAS alloc/iova_ranges/map/unmap (ioas.c, io_pagetable.c), device
// bind/attach with automatically created HWPT domains (device.c) and the VFIO compat IOAS hooks
// (vfio_compat.c).
//
// Pinning happens only while an IOAS has a domain (a device attached), exactly as iommufd fills
// pages only into domains: that is when a bad user_va faults (EFAULT) and RLIMIT_MEMLOCK is
// charged (ENOMEM). The domain geometry is the SMMUv3 one of vfio_iommu_type1.cc. Objects are
// owned by their IommufdCtx. Runs with Impl::mu held.
#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "mock_internal.h"
#include "uaccess.h"

namespace vfiocdx {
namespace mock {

int UserRangePinnable(uint64_t vaddr, uint64_t size, bool write);

namespace {

using Obj = IommufdObject;
constexpr uint64_t kUlongMax = UINT64_MAX;
constexpr uint64_t kMsiIovaBase = 0x8000000;
constexpr uint64_t kMsiIovaLast = 0x80fffff;
constexpr uint64_t kApertureEnd = (1ull << 48) - 1;

// The reserved IOVA of an IOAS with a domain: the SW MSI window and everything past the aperture.
std::vector<std::pair<uint64_t, uint64_t>> ReservedRanges(const Obj* ioas) {
  if (!ioas->hwpt) return {};
  return {{kMsiIovaBase, kMsiIovaLast}, {kApertureEnd + 1, kUlongMax}};
}

bool Intersects(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 <= b1 && b0 <= a1; }

// iommufd_ucmd_respond(): copy back min(user size, struct size).
int Respond(uintptr_t arg, const void* cmd, uint32_t usize, size_t ksize) {
  return CopyToUser(arg, cmd, std::min<size_t>(usize, ksize)) ? -EFAULT : 0;
}

}  // namespace

// iommufd_fops_open() (main.c:262-290).
int MockKernel::Impl::IommufdFopsOpen(int flags) {
  auto f = std::make_unique<OpenFile>();
  f->kind = FileKind::kIommufd;
  f->ictx = std::make_shared<IommufdCtx>();
  f->ictx->file = f.get();
  return InstallFile(std::move(f), "iommufd", flags);
}

// iommufd_fops_release() (main.c:292-340): destroy every object (nothing is bound any more: a
// bound device holds a reference on this file).
void MockKernel::Impl::IommufdFopsRelease(OpenFile* f) {
  IommufdCtx* ictx = f->ictx.get();
  for (auto& kv : ictx->objects) {
    if (kv.second.type == Obj::Type::kIoas) {
      IoptUnpinAll(&kv.second);
      kv.second.areas.clear();
    }
  }
  ictx->objects.clear();
  ictx->vfio_ioas = 0;
  ictx->file = nullptr;
  f->ictx.reset();
}

void MockKernel::Impl::IommufdCtxGet(IommufdCtx* ictx) { FileGet(ictx->file); }
void MockKernel::Impl::IommufdCtxPut(IommufdCtx* ictx) {
  if (ictx && ictx->file) FilePut(ictx->file);
}

// iommufd_ctx_from_fd() (main.c:495-509): EBADF for a closed fd, EBADFD for any other file.
int MockKernel::Impl::IommufdCtxFromFd(int fd, std::shared_ptr<IommufdCtx>* out) {
  OpenFile* f = FileFromFd(fd);
  if (!f) return (fd < 0 || fcntl(fd, F_GETFD) < 0) ? -EBADF : -EBADFD;
  if (f->kind != FileKind::kIommufd) return -EBADFD;
  FileGet(f);
  *out = f->ictx;
  return 0;
}

// iommufd_object_alloc(): xa_alloc() with XA_FLAGS_ALLOC1, the lowest free id >= 1.
uint32_t MockKernel::Impl::IommufdObjectAlloc(IommufdCtx* ictx, Obj::Type type) {
  uint32_t id = 1;
  while (ictx->objects.count(id)) id++;
  ictx->objects[id].type = type;
  return id;
}

// iommufd_get_ioas(): -ENOENT for a missing id or an object of another type.
IommufdObject* MockKernel::Impl::IommufdGetIoas(IommufdCtx* ictx, uint32_t id) {
  auto it = ictx->objects.find(id);
  if (it == ictx->objects.end() || it->second.type != Obj::Type::kIoas) return nullptr;
  return &it->second;
}

// iommufd_fops_ioctl() (main.c:413-447). Ioctls outside the table go to the VFIO compat layer,
// which the mock does not emulate (ENOTTY); table entries the mock does not implement likewise.
long MockKernel::Impl::IommufdFopsIoctl(OpenFile* f, unsigned long cmd, uintptr_t arg) {
  IommufdCtx* ictx = f->ictx.get();
  unsigned nr = cmd & 0xff;
  if (nr < 0x80 || nr - 0x80 >= 15) return IommufdVfioIoctl(ictx, cmd, arg);  // vfio_compat.c
  uint32_t usize;
  if (CopyFromUser(&usize, arg, sizeof(usize))) return -EFAULT;
  if (cmd != abi::IommufdIo(nr - 0x80)) return -ENOTTY;  // op->ioctl_num != cmd → ENOIOCTLCMD
  union {
    abi::iommu_destroy destroy;
    abi::iommu_ioas_alloc alloc;
    abi::iommu_ioas_iova_ranges ranges;
    abi::iommu_ioas_map map;
    abi::iommu_ioas_unmap unmap;
  } buf;
  auto load = [&](size_t ksize, uint32_t min_size) -> int {
    if (usize < min_size) return -EINVAL;
    return CopyStructFromUser(&buf, ksize, arg, usize);
  };
  int ret;
  switch (cmd) {
    case abi::IOMMU_DESTROY:
      if ((ret = load(sizeof(buf.destroy), abi::IOMMU_DESTROY_MINSZ))) return ret;
      return IommufdDestroy(ictx, &buf.destroy);
    case abi::IOMMU_IOAS_ALLOC:
      if ((ret = load(sizeof(buf.alloc), abi::IOMMU_IOAS_ALLOC_MINSZ))) return ret;
      return IommufdIoasAllocIoctl(ictx, &buf.alloc, arg, usize);
    case abi::IOMMU_IOAS_IOVA_RANGES:
      if ((ret = load(sizeof(buf.ranges), abi::IOMMU_IOAS_IOVA_RANGES_MINSZ))) return ret;
      return IommufdIoasIovaRanges(ictx, &buf.ranges, arg, usize);
    case abi::IOMMU_IOAS_MAP:
      if ((ret = load(sizeof(buf.map), abi::IOMMU_IOAS_MAP_MINSZ))) return ret;
      return IommufdIoasMap(ictx, &buf.map, arg, usize);
    case abi::IOMMU_IOAS_UNMAP:
      if ((ret = load(sizeof(buf.unmap), abi::IOMMU_IOAS_UNMAP_MINSZ))) return ret;
      return IommufdIoasUnmap(ictx, &buf.unmap, arg, usize);
    default: return -ENOTTY;
  }
}

// iommufd_destroy() → iommufd_object_remove() (main.c:170-258): ENOENT unknown, EBUSY in use.
long MockKernel::Impl::IommufdDestroy(IommufdCtx* ictx, abi::iommu_destroy* cmd) {
  auto it = ictx->objects.find(cmd->id);
  if (it == ictx->objects.end()) return -ENOENT;
  if (it->second.users != 1) return -EBUSY;
  if (it->second.type == Obj::Type::kIoas) {
    IoptUnpinAll(&it->second);
    if (ictx->vfio_ioas == cmd->id) ictx->vfio_ioas = 0;
  }
  ictx->objects.erase(it);
  return 0;
}

// iommufd_ioas_alloc_ioctl() (ioas.c:37-60).
long MockKernel::Impl::IommufdIoasAllocIoctl(IommufdCtx* ictx, abi::iommu_ioas_alloc* cmd, uintptr_t arg,
                                             uint32_t usize) {
  if (cmd->flags) return -EOPNOTSUPP;
  uint32_t id = IommufdObjectAlloc(ictx, Obj::Type::kIoas);
  cmd->out_ioas_id = id;
  int ret = Respond(arg, cmd, usize, sizeof(*cmd));
  if (ret) ictx->objects.erase(id);  // iommufd_object_abort_and_destroy()
  return ret;
}

// iommufd_ioas_iova_ranges() (ioas.c:62-106): the holes of the reserved tree; EMSGSIZE (after
// writing the header back) when the user's array was too small.
long MockKernel::Impl::IommufdIoasIovaRanges(IommufdCtx* ictx, abi::iommu_ioas_iova_ranges* cmd, uintptr_t arg,
                                             uint32_t usize) {
  if (cmd->__reserved) return -EOPNOTSUPP;
  Obj* ioas = IommufdGetIoas(ictx, cmd->ioas_id);
  if (!ioas) return -ENOENT;
  uint32_t max_iovas = cmd->num_iovas;
  cmd->num_iovas = 0;
  cmd->out_iova_alignment = ioas->hwpt ? page_size : 1;
  for (const auto& h : IoasHoles(ioas)) {
    if (cmd->num_iovas < max_iovas) {
      abi::iommu_iova_range elm = {h.first, h.second};
      if (CopyToUser(cmd->allowed_iovas + cmd->num_iovas * sizeof(elm), &elm, sizeof(elm))) return -EFAULT;
    }
    cmd->num_iovas++;
  }
  int ret = Respond(arg, cmd, usize, sizeof(*cmd));
  if (ret) return ret;
  return cmd->num_iovas > max_iovas ? -EMSGSIZE : 0;
}

// The usable IOVA of an IOAS: the holes of its reserved tree (interval_tree_for_each_span()).
std::vector<std::pair<uint64_t, uint64_t>> MockKernel::Impl::IoasHoles(const IommufdObject* ioas) {
  uint64_t start = 0;
  std::vector<std::pair<uint64_t, uint64_t>> holes;
  for (const auto& r : ReservedRanges(ioas)) {
    if (r.first > start) holes.push_back({start, r.first - 1});
    start = r.second == kUlongMax ? kUlongMax : r.second + 1;
  }
  if (start != kUlongMax || holes.empty()) holes.push_back({start, kUlongMax});
  return holes;
}

// Pins one area into the IOAS's domain: pin_user_pages (EFAULT) and the locked_vm charge (ENOMEM).
int MockKernel::Impl::IoptPinArea(Obj* ioas, const IoptArea& area) {
  int ret = UserRangePinnable(area.user_va, area.length, area.prot & abi::IOMMU_IOAS_MAP_WRITEABLE);
  if (ret) return ret;
  if (config.memlock_limit && locked_bytes + area.length > config.memlock_limit) return -ENOMEM;
  locked_bytes += area.length;
  ioas->pinned += area.length;
  return 0;
}

void MockKernel::Impl::IoptUnpinAll(Obj* ioas) {
  locked_bytes -= ioas->pinned;
  ioas->pinned = 0;
}

// iopt_alloc_iova() (io_pagetable.c:120-178): first fit in [PAGE_SIZE, ULONG_MAX - PAGE_SIZE],
// aligned like the user pointer (up to a huge page), avoiding reserved ranges and other areas.
static int IoptAllocIova(const Obj* ioas, uint64_t align_min, size_t page, uint64_t uptr, uint64_t length,
                         uint64_t* iova) {
  if (length == 0 || length >= kUlongMax / 2) return -EOVERFLOW;
  uint64_t align = 1;
  while (align < length) align <<= 1;
  if (uptr) align = std::min<uint64_t>(align, uptr & (~uptr + 1));
  align = std::min<uint64_t>(align, 2 * 1024 * 1024);
  if (align < align_min) return -EINVAL;
  uint64_t offset = uptr % page;
  std::vector<std::pair<uint64_t, uint64_t>> used = ReservedRanges(ioas);
  for (const auto& kv : ioas->areas) used.push_back({kv.first, kv.first + kv.second.length - 1});
  uint64_t cand = page;
  for (;;) {
    uint64_t start = ((cand + align - 1) & ~(align - 1)) | offset;
    if (start < cand || start > kUlongMax - page || kUlongMax - page - start < length - 1) return -ENOSPC;
    uint64_t last = start + length - 1;
    bool clash = false;
    for (const auto& u : used) {
      if (Intersects(start, last, u.first, u.second)) {
        clash = true;
        cand = u.second + 1;
        if (cand == 0) return -ENOSPC;
        break;
      }
    }
    if (!clash) {
      *iova = start;
      return 0;
    }
  }
}

// iommufd_ioas_map() (ioas.c:200-237) → iopt_map_user_pages() (io_pagetable.c:420-455).
long MockKernel::Impl::IommufdIoasMap(IommufdCtx* ictx, abi::iommu_ioas_map* cmd, uintptr_t arg, uint32_t usize) {
  const uint32_t known =
      abi::IOMMU_IOAS_MAP_FIXED_IOVA | abi::IOMMU_IOAS_MAP_WRITEABLE | abi::IOMMU_IOAS_MAP_READABLE;
  if ((cmd->flags & ~known) || cmd->__reserved) return -EOPNOTSUPP;
  if (cmd->iova >= kUlongMax || cmd->length >= kUlongMax) return -EOVERFLOW;
  if (!(cmd->flags & (abi::IOMMU_IOAS_MAP_WRITEABLE | abi::IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
  Obj* ioas = IommufdGetIoas(ictx, cmd->ioas_id);
  if (!ioas) return -ENOENT;
  uint64_t iova = cmd->iova;
  int prot = static_cast<int>(cmd->flags & (abi::IOMMU_IOAS_MAP_WRITEABLE | abi::IOMMU_IOAS_MAP_READABLE));
  int ret = IoptMapUserPages(ioas, &iova, cmd->user_va, cmd->length, prot,
                             cmd->flags & abi::IOMMU_IOAS_MAP_FIXED_IOVA);
  if (ret) return ret;
  cmd->iova = iova;
  return Respond(arg, cmd, usize, sizeof(*cmd));
}

// iopt_map_user_pages() (io_pagetable.c): an area of `length` bytes of user memory at *iova
// (`fixed`) or at an IOVA the allocator picks (written back to *iova).
int MockKernel::Impl::IoptMapUserPages(Obj* ioas, uint64_t* iova_inout, uint64_t user_va, uint64_t length, int prot,
                                       bool fixed) {
  // iopt_alloc_pages()
  if (length == 0) return -EINVAL;
  if (user_va + length < user_va) return -EOVERFLOW;
  // iopt_alloc_area_pages()
  uint64_t align = ioas->hwpt ? page_size : 1;
  if (length & (align - 1)) return -EINVAL;
  uint64_t iova = *iova_inout;
  if (!fixed) {
    int ret = IoptAllocIova(ioas, align, page_size, user_va, length, &iova);
    if (ret) return ret;
  } else {  // iopt_check_iova()
    if (iova & (align - 1)) return -EINVAL;
    if (iova + (length - 1) < iova) return -EOVERFLOW;
    uint64_t last = iova + length - 1;
    for (const auto& r : ReservedRanges(ioas)) {
      if (Intersects(iova, last, r.first, r.second)) return -EINVAL;
    }
    for (const auto& kv : ioas->areas) {
      if (Intersects(iova, last, kv.first, kv.first + kv.second.length - 1)) return -EEXIST;
    }
  }
  if ((user_va % page_size) & (align - 1)) return -EINVAL;  // iopt_insert_area(): page_offset
  IoptArea area;
  area.iova = iova;
  area.length = length;
  area.user_va = user_va;
  area.prot = prot;
  if (ioas->hwpt) {  // iopt_fill_domains_pages()
    int ret = IoptPinArea(ioas, area);
    if (ret) return ret;
  }
  ioas->areas[iova] = area;
  *iova_inout = iova;
  return 0;
}

// iopt_unmap_iova_range() (io_pagetable.c:660-735): an area not entirely inside → ENOENT (areas
// before it stay unmapped); the count of unmapped bytes comes back either way.
int MockKernel::Impl::IoptUnmapRange(Obj* ioas, uint64_t start, uint64_t last, uint64_t* unmapped) {
  *unmapped = 0;
  for (;;) {
    auto it = ioas->areas.upper_bound(last);
    std::map<uint64_t, IoptArea>::iterator hit = ioas->areas.end();
    for (auto i = ioas->areas.begin(); i != it; ++i) {
      if (Intersects(start, last, i->first, i->first + i->second.length - 1)) {
        hit = i;
        break;
      }
    }
    if (hit == ioas->areas.end()) return 0;
    uint64_t area_first = hit->first;
    uint64_t area_last = hit->first + hit->second.length - 1;
    if (area_first < start || area_last > last) return -ENOENT;
    if (ioas->hwpt) {
      locked_bytes -= hit->second.length;
      ioas->pinned -= hit->second.length;
    }
    *unmapped += hit->second.length;
    ioas->areas.erase(hit);
    if (area_last >= last) return 0;
    start = area_last + 1;
  }
}

// iommufd_ioas_unmap() (ioas.c:296-332).
long MockKernel::Impl::IommufdIoasUnmap(IommufdCtx* ictx, abi::iommu_ioas_unmap* cmd, uintptr_t arg,
                                        uint32_t usize) {
  Obj* ioas = IommufdGetIoas(ictx, cmd->ioas_id);
  if (!ioas) return -ENOENT;
  uint64_t unmapped = 0;
  int ret;
  if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
    ret = IoptUnmapRange(ioas, 0, kUlongMax, &unmapped);
    if (ret) return ret;
  } else {
    if (cmd->iova >= kUlongMax || cmd->length >= kUlongMax) return -EOVERFLOW;
    if (!cmd->length) return -EINVAL;
    if (cmd->iova + (cmd->length - 1) < cmd->iova) return -EOVERFLOW;
    ret = IoptUnmapRange(ioas, cmd->iova, cmd->iova + cmd->length - 1, &unmapped);
    if (ret) return ret;
    if (!unmapped) return -ENOENT;
  }
  cmd->length = unmapped;
  return Respond(arg, cmd, usize, sizeof(*cmd));
}

// iommufd_vfio_compat_ioas_create() (vfio_compat.c): the group path's IOAS, created once.
int MockKernel::Impl::IommufdVfioCompatIoasCreate(IommufdCtx* ictx) {
  if (!ictx->vfio_ioas) ictx->vfio_ioas = IommufdObjectAlloc(ictx, Obj::Type::kIoas);
  IommufdCtxGet(ictx);  // the group's iommufd_ctx reference (iommufd_ctx_from_file)
  return 0;
}

// iommufd_vfio_compat_set_no_iommu() (vfio_compat.c): only before a compat IOAS exists.
int MockKernel::Impl::IommufdVfioCompatSetNoIommu(IommufdCtx* ictx) {
  if (ictx->vfio_ioas) return -EINVAL;
  ictx->no_iommu_mode = true;
  IommufdCtxGet(ictx);
  return 0;
}

// iommufd_device_bind() (device.c): needs an IOMMU group and DMA ownership of it (EPERM when the
// group is owned by someone else, e.g. a VFIO container); the context reference is held until unbind.
int MockKernel::Impl::IommufdDeviceBind(IommufdCtx* ictx, VfioDevice* device, uint32_t* out_id) {
  int group = device->dev->iommu_group;
  if (group < 0) return -ENODEV;
  int ret = IommuDeviceClaimDmaOwner(group, ictx);
  if (ret) return ret;
  uint32_t id = IommufdObjectAlloc(ictx, Obj::Type::kDevice);
  ictx->objects[id].users++;  // "The calling driver is a user until iommufd_device_unbind()"
  IommufdCtxGet(ictx);
  device->ictx = ictx->file ? ictx->file->ictx : nullptr;
  device->devid = id;
  *out_id = id;
  return 0;
}

// iommufd_device_unbind() (device.c).
void MockKernel::Impl::IommufdDeviceUnbind(VfioDevice* device) {
  std::shared_ptr<IommufdCtx> ictx = device->ictx;
  if (!ictx) return;
  ictx->objects.erase(device->devid);
  IommuGroupReleaseDmaOwner(device->dev->iommu_group);
  device->ictx.reset();
  device->devid = 0;
  IommufdCtxPut(ictx.get());
}

// iommufd_device_attach()/replace() (device.c): an IOAS id gets the IOAS's automatic domain
// (created on first use, pinning every area), whose HWPT id is written back.
int MockKernel::Impl::IommufdDeviceAttach(VfioDevice* device, uint32_t* pt_id) {
  IommufdCtx* ictx = device->ictx.get();
  auto it = ictx->objects.find(*pt_id);
  if (it == ictx->objects.end()) return -ENOENT;
  uint32_t hwpt_id;
  if (it->second.type == Obj::Type::kHwptPaging) {
    hwpt_id = *pt_id;
  } else if (it->second.type == Obj::Type::kIoas) {
    Obj* ioas = &it->second;
    if (!ioas->hwpt) {
      for (const auto& kv : ioas->areas) {
        int ret = IoptPinArea(ioas, kv.second);
        if (ret) {
          IoptUnpinAll(ioas);
          return ret;
        }
      }
      uint32_t id = IommufdObjectAlloc(ictx, Obj::Type::kHwptPaging);
      ioas = IommufdGetIoas(ictx, *pt_id);
      ictx->objects[id].ioas_id = *pt_id;
      ioas->hwpt = id;
      ioas->users++;  // the HWPT holds its IOAS
    }
    hwpt_id = ioas->hwpt;
  } else {
    return -EINVAL;
  }
  if (device->attached_hwpt == hwpt_id) {
    *pt_id = hwpt_id;
    return 0;
  }
  Obj& hwpt = ictx->objects[hwpt_id];
  hwpt.devices++;
  hwpt.users++;
  if (device->attached_hwpt) IommufdDeviceDetach(device);  // replace
  device->attached_hwpt = hwpt_id;
  *pt_id = hwpt_id;
  return 0;
}

// iommufd_device_detach() (device.c): the automatic domain dies with its last device, unpinning.
void MockKernel::Impl::IommufdDeviceDetach(VfioDevice* device) {
  IommufdCtx* ictx = device->ictx.get();
  uint32_t hwpt_id = device->attached_hwpt;
  device->attached_hwpt = 0;
  auto it = ictx->objects.find(hwpt_id);
  if (it == ictx->objects.end()) return;
  it->second.devices--;
  it->second.users--;
  if (it->second.devices > 0 || it->second.users > 1) return;
  Obj* ioas = IommufdGetIoas(ictx, it->second.ioas_id);
  ictx->objects.erase(it);
  if (!ioas) return;
  IoptUnpinAll(ioas);
  ioas->hwpt = 0;
  ioas->users--;
}

}  // namespace mock
}  // namespace vfiocdx
