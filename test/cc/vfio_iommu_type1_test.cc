// vfio_iommu_type1_test.cc — drivers/vfio/vfio_iommu_type1.c (mock/vfio_iommu_type1.cc): the type1
// IOMMU driver of a container. Rules: K-TYPE1-2..6 (K-TYPE1-1, CHECK_EXTENSION, is checked with the
// container in vfio_group_container_test.cc).
#include <cstring>
#include <vector>

#include "selftest.h"

namespace selftest {
namespace {

// K-TYPE1-2..6: GET_INFO and its capability chain, MAP_DMA and UNMAP_DMA with their checks in
// order, VADDR update, dma_entry_limit and RLIMIT_MEMLOCK.
SELFTEST(Type1) {
  const uint64_t kMemlock = 64 * 1024;
  auto k = Boot("linux-6.12", 0, kMemlock, 3);
  CHECK_EQ(BindVfio(*k, kDev0), 9);
  Legacy l;
  CHECK_EQ(OpenLegacy(*k, kDev0, &l), 0);
  // GET_INFO: argsz rewritten when too small, caps chain when large enough
  vfio_iommu_type1_info info = {};
  info.argsz = 15;
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
  CHECK_EQ(k->Ioctl(l.container, VFIO_IOMMU_GET_INFO, 0), -EFAULT);
  info.argsz = 24;
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_GET_INFO, &info), 0);
  CHECK_EQ(info.flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
  CHECK_EQ(info.iova_pgsizes & (kPage - 1), 0u);
  CHECK(info.iova_pgsizes & kPage);
  CHECK_EQ(info.cap_offset, 0u);
  uint32_t need = info.argsz;
  CHECK(need > 24);
  std::vector<uint8_t> buf(need, 0);
  memcpy(buf.data(), &need, 4);
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_GET_INFO, buf.data()), 0);
  vfio_iommu_type1_info full;
  memcpy(&full, buf.data(), sizeof(full));
  CHECK_EQ(full.argsz, need);
  CHECK_EQ(full.cap_offset, 24u);
  int found = 0;
  uint32_t avail = 0;
  std::vector<vfio_iova_range> ranges;
  for (uint32_t off = full.cap_offset; off; ) {
    vfio_info_cap_header h;
    memcpy(&h, &buf[off], sizeof(h));
    found++;
    if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) memcpy(&avail, &buf[off + 8], 4);
    if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
      uint32_t n;
      memcpy(&n, &buf[off + 8], 4);
      ranges.resize(n);
      memcpy(ranges.data(), &buf[off + 16], n * sizeof(vfio_iova_range));
    }
    off = h.next;
  }
  CHECK_EQ(found, 3);
  CHECK_EQ(avail, 3u);
  CHECK_EQ(ranges.size(), 2u);
  CHECK_EQ(ranges.empty() ? 0 : ranges[0].end, 0x7ffffffu);  // the arm64 SW MSI window is reserved
  // MAP_DMA
  size_t len = 16 * 1024;
  void* mem = mmap(nullptr, 4 * len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  uint64_t va = reinterpret_cast<uintptr_t>(mem);
  const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  vfio_iommu_type1_dma_map m = {32, rw, va, 0x100000, len};
  CHECK_EQ(k->Ioctl(l.container, VFIO_IOMMU_MAP_DMA, 0), -EFAULT);
  m.argsz = 31;
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);
  m = {32, rw | 8, va, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // unknown flag
  m = {32, 0, va, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // no prot, no VADDR
  m = {32, rw, va, 0x100000, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // size 0
  m = {32, rw, va + 1, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // unaligned
  m = {32, rw, va, 0xfffffffffffff000ull, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // wraps
  m = {32, rw, va, 0x8000000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // MSI window
  m = {32, rw, 0x1000, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EFAULT);  // nothing mapped there
  m = {32, rw, va, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EEXIST);
  m = {32, rw, va, 0x100000 + len - kPage, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EEXIST);  // any overlap
  m = {32, rw, va + len, 0x100000 + len, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  m = {32, rw, va + 2 * len, 0x200000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  m = {32, rw, va + 3 * len, 0x300000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -ENOSPC);  // dma_entry_limit 3
  // UNMAP_DMA
  vfio_iommu_type1_dma_unmap u = {24, 0, 0x100000 + kPage, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);  // bisects the first mapping
  u = {24, 0, 0x100000, len + kPage};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);  // bisects the second at its end
  u = {24, 0, 0x400000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);  // nothing there: success, size 0
  CHECK_EQ(u.size, 0u);
  u = {24, 0, 0x100000, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, 8, 0x100000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, VFIO_DMA_UNMAP_FLAG_ALL, 0x100000, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
  u = {24, 0, 0x100000, 2 * len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);
  CHECK_EQ(u.size, 2 * len);
  // VADDR invalidate + update
  u = {24, VFIO_DMA_UNMAP_FLAG_VADDR, 0x200000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);
  CHECK_EQ(u.size, len);
  m = {32, VFIO_DMA_MAP_FLAG_VADDR, va, 0x200000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);  // not invalid any more
  m = {32, VFIO_DMA_MAP_FLAG_VADDR, va, 0x500000, len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -ENOENT);
  // memlock: 64 KiB limit, 16 KiB still pinned
  m = {32, rw, va, 0x600000, 4 * len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), -ENOMEM);
  m = {32, rw, va, 0x600000, 3 * len};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_MAP_DMA, &m), 0);
  u = {24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0};
  CHECK_EQ(Io(*k, l.container, VFIO_IOMMU_UNMAP_DMA, &u), 0);
  CHECK_EQ(u.size, 4 * len);
  CHECK_EQ(k->Ioctl(l.container, VFIO_DEVICE_FEATURE, 0), -ENOTTY);  // VFIO_IOMMU_DIRTY_PAGES: not emulated
  CloseLegacy(*k, &l);
  munmap(mem, 4 * len);
}

}  // namespace
}  // namespace selftest
