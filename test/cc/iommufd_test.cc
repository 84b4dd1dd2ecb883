// iommufd_test.cc — drivers/iommu/iommufd/{main,ioas,io_pagetable}.c (mock/iommufd.cc) and the
// VFIO container ioctls every iommufd answers (vfio_compat.c, mock/iommufd_vfio_compat.cc).
// Rules: K-IOMMUFD-1..5, K-UACCESS-2, K-COMPAT-1.
#include "selftest.h"

namespace selftest {
namespace {

// K-IOMMUFD-1..5, K-UACCESS-2: the ioctl framework, IOAS alloc, IOVA ranges, map and unmap, with
// and without a domain; K-COMPAT-1: VFIO's container ioctls on an iommufd.
SELFTEST(Iommufd) {
  auto k = Boot("cdev", 0, 64 * 1024);
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  int fd = k->Open("/dev/iommu", O_RDWR | O_CLOEXEC);
  CHECK(fd >= 0);
  // framework: EFAULT, size < min → EINVAL, non-zero tail → E2BIG, zero tail OK, unknown → ENOTTY
  CHECK_EQ(k->Ioctl(fd, IOMMU_IOAS_ALLOC, 0), -EFAULT);
  iommu_ioas_alloc a = {11, 0, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &a), -EINVAL);
  struct {
    iommu_ioas_alloc a;
    uint32_t tail[3];
  } big = {{24, 0, 0}, {0, 1, 0}};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &big), -E2BIG);
  big = {{24, 0, 0}, {0, 0, 0}};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &big), 0);
  CHECK_EQ(big.tail[0], 0u);  // output truncated to the struct: the tail is left alone
  uint32_t ioas = big.a.out_ioas_id;
  a = {12, 1, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_ALLOC, &a), -EOPNOTSUPP);
  CHECK_EQ(k->Ioctl(fd, IOMMU_IOAS_UNMAP, 0), -EFAULT);  // get_user(size) comes first
  // the VFIO compat layer (vfio_compat.c) answers VFIO's container ioctls on any iommufd
  CHECK_EQ(k->Ioctl(fd, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
  CHECK_EQ(k->Ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
  CHECK_EQ(k->Ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);  // no group: no compat IOAS
  CHECK_EQ(k->Ioctl(fd, VFIO_DEVICE_GET_INFO, 0), -ENOTTY);
  CHECK_EQ(k->Ioctl(fd, 0xc0003b80, reinterpret_cast<uintptr_t>(&a)), -ENOTTY);  // number mismatch
  // IOVA_RANGES without a domain: everything, alignment 1; EMSGSIZE with a short array
  iommu_iova_range rg[2];
  iommu_ioas_iova_ranges ir = {32, ioas, 0, 0, reinterpret_cast<uintptr_t>(rg), 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), -EMSGSIZE);
  CHECK_EQ(ir.num_iovas, 1u);
  ir.num_iovas = 2;
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), 0);
  CHECK_EQ(rg[0].start, 0u);
  CHECK_EQ(rg[0].last, UINT64_MAX);
  CHECK_EQ(ir.out_iova_alignment, 1u);
  ir.__reserved = 1;
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), -EOPNOTSUPP);
  ir = {32, 77, 2, 0, reinterpret_cast<uintptr_t>(rg), 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_IOVA_RANGES, &ir), -ENOENT);
  // IOAS_MAP
  size_t len = 16 * 1024;
  void* mem = mmap(nullptr, 8 * len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  uint64_t va = reinterpret_cast<uintptr_t>(mem);
  const uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
  iommu_ioas_map m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000};
  m.flags |= 8;
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EOPNOTSUPP);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 1, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EOPNOTSUPP);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, UINT64_MAX, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EOVERFLOW);
  m = {40, IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, 77, 0, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -ENOENT);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, 0, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), 0);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x100000 + len - kPage};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EEXIST);
  m = {40, rw, ioas, 0, va + len, len, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), 0);  // the kernel picks the IOVA
  CHECK(m.iova != 0 && (m.iova + len <= 0x100000 || m.iova >= 0x100000 + len));
  uint64_t auto_iova = m.iova;
  // attach a device: domain → pinning (64 KiB memlock, 32 KiB mapped)
  int d = k->Open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
  CHECK_EQ(Bind(*k, d, fd), 0);
  vfio_device_attach_iommufd_pt at = {12, 0, ioas};
  CHECK_EQ(Io(*k, d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, len, 0x8000000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);  // reserved MSI window
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va, 100, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EINVAL);  // length not aligned to the domain's page
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, 0x1000, len, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -EFAULT);  // pinning a hole
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va + 2 * len, 3 * len, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), -ENOMEM);  // 32 + 48 KiB > 64 KiB
  m = {40, rw | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, va + 2 * len, 2 * len, 0x400000};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_MAP, &m), 0);
  // IOAS_UNMAP
  iommu_ioas_unmap u = {24, ioas, 0x100000 + kPage, kPage};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -ENOENT);  // splits a mapping
  u = {24, ioas, 0x900000, len};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -ENOENT);  // nothing there
  u = {24, ioas, 0x100000, 0};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -EINVAL);
  u = {24, ioas, UINT64_MAX, 1};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), -EOVERFLOW);
  u = {24, ioas, 0x100000, len};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), 0);
  CHECK_EQ(u.length, len);
  u = {24, ioas, 0, UINT64_MAX};
  CHECK_EQ(Io(*k, fd, IOMMU_IOAS_UNMAP, &u), 0);
  CHECK_EQ(u.length, 3 * len);
  (void)auto_iova;
  k->Close(d);
  k->Close(fd);
  munmap(mem, 8 * len);
  CHECK_EQ(k->OpenObjectCount(), 0u);
}

}  // namespace
}  // namespace selftest
