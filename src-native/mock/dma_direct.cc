// dma_direct.cc — direct device DMA: what lets a packet-moving model (lnic_model.cc) load and
// store DMA buffers itself instead of copying each access through the user-access layer.
//
// The mock cannot pin pages, so a device access to process memory is safe only while that memory
// cannot vanish under it. Memory the seam mapped (MockKernel::Mmap: anonymous, or a file the mock
// does not own), readable and writable, can only go away through MockKernel::Munmap or an mmap
// over it, and both take Impl::mu; a model that holds mu for its whole access (every model step
// does) can therefore dereference such memory. Everything else — a Buffer on the V8 heap mapped
// with a raw VFIO_IOMMU_MAP_DMA, a region mapping, memory the user unmapped with libc — goes the
// copying way (DeviceDma), which turns a vanished page into a DMA error instead of a crash.
//
// Translation is still the IOMMU's: DmaPage() is DmaTranslate() on one kDmaPage page, with the
// same bus-master, domain and permission checks; a model caches the answer until dma_epoch moves.
// Runs with Impl::mu held.
#include <algorithm>
#include <iterator>

#include "mock_internal.h"

namespace vfiocdx {
namespace mock {

void MockKernel::Impl::HostMapsAdd(uintptr_t start, size_t length) {
  HostMapsForget(start, length);
  host_maps[start] = length;
}

// Drops [start, start + length) from host_maps, keeping the parts of partly covered entries.
void MockKernel::Impl::HostMapsForget(uintptr_t start, size_t length) {
  uintptr_t end = start + length;
  auto it = host_maps.lower_bound(start);
  if (it != host_maps.begin()) --it;
  while (it != host_maps.end() && it->first < end) {
    uintptr_t s = it->first;
    uintptr_t e = s + it->second;
    if (e <= start) {
      ++it;
      continue;
    }
    it = host_maps.erase(it);
    if (s < start) host_maps[s] = start - s;
    if (e > end) host_maps[end] = e - end;
  }
}

DmaResult MockKernel::Impl::DmaPage(CdxDevice* dev, uint64_t page_iova, bool write, uint8_t** host, bool* direct) {
  std::vector<iovec> segs;
  DmaResult r = DmaTranslate(dev, page_iova, kDmaPage, write, &segs);
  if (r != DmaResult::kOk) return r;
  if (segs.size() != 1) {  // cannot happen for an aligned page; treat it as not direct
    *host = nullptr;
    *direct = false;
    return r;
  }
  uintptr_t p = reinterpret_cast<uintptr_t>(segs[0].iov_base);
  *host = static_cast<uint8_t*>(segs[0].iov_base);
  auto it = host_maps.upper_bound(p);
  *direct = it != host_maps.begin() && p + kDmaPage <= std::prev(it)->first + std::prev(it)->second;
  return r;
}

}  // namespace mock
}  // namespace vfiocdx
