// abi.h — the VFIO / vfio-cdx / iommufd userspace ABI of Linux 6.12, in one place.
//
// The system's <linux/vfio.h> (Debian 12: 6.1) lacks VFIO_DEVICE_FLAGS_CDX, the
// bus-master feature, the cdev ioctls and iommufd, so nothing in this project
// includes it. Every number and layout below is taken from the 6.12 UAPI
// headers (include/uapi/linux/vfio.h, include/uapi/linux/iommufd.h) and is
// checked by a static_assert against the values the 6.12 headers give when
// compiled for x86_64 and arm64 (docs/kernel-rules.md, K-ABI-1..4). Nothing else in the
// project hand-packs a struct: marshalling code uses these types and the
// *_MINSZ constants, which are the sizes the kernel copies from userspace.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vfiocdx {
namespace abi {

// ---- ioctl numbers: all _IO(type, nr), no size/direction bits (uapi vfio.h:59-71)
constexpr unsigned long kVfioType = 0x3b;
constexpr unsigned long kVfioBase = 100;
constexpr unsigned long VfioIo(unsigned long nr) { return (kVfioType << 8) | (kVfioBase + nr); }
constexpr unsigned long kIommufdBase = 0x80;
constexpr unsigned long IommufdIo(unsigned long nr) { return (kVfioType << 8) | (kIommufdBase + nr); }

// Every ioctl this project knows by name, in one list: X(NAME, request, on, js).
//   on: kAnyFile — the number has this one name on every file;
//       kDeviceFile / kIommuFile — VFIO numbers 12..17 mean one thing on a device or group fd and
//       another on a container or iommufd (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO is
//       VFIO_IOMMU_GET_INFO there), so each has two entries.
//   js: 1 if the JavaScript ABI table (abi_table.cc, vfio-cdx/raw) carries it.
// The list generates the constants below, the ABI table handed to JavaScript, the mock kernel's
// request names (traces, fault injection, schema) and the request name in every VfioError: a name
// can never disagree with its number. The order is the order of those tables.
#define VFIO_CDX_IOCTLS(X)                                           \
  X(VFIO_GET_API_VERSION, VfioIo(0), kAnyFile, 1)                    \
  X(VFIO_CHECK_EXTENSION, VfioIo(1), kAnyFile, 1)                    \
  X(VFIO_SET_IOMMU, VfioIo(2), kAnyFile, 1)                          \
  X(VFIO_GROUP_GET_STATUS, VfioIo(3), kAnyFile, 1)                   \
  X(VFIO_GROUP_SET_CONTAINER, VfioIo(4), kAnyFile, 1)                \
  X(VFIO_GROUP_UNSET_CONTAINER, VfioIo(5), kAnyFile, 1)              \
  X(VFIO_GROUP_GET_DEVICE_FD, VfioIo(6), kAnyFile, 1)                \
  X(VFIO_DEVICE_GET_INFO, VfioIo(7), kAnyFile, 1)                    \
  X(VFIO_DEVICE_GET_REGION_INFO, VfioIo(8), kAnyFile, 1)             \
  X(VFIO_DEVICE_GET_IRQ_INFO, VfioIo(9), kAnyFile, 1)                \
  X(VFIO_DEVICE_SET_IRQS, VfioIo(10), kAnyFile, 1)                   \
  X(VFIO_DEVICE_RESET, VfioIo(11), kAnyFile, 1)                      \
  X(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VfioIo(12), kDeviceFile, 1)  \
  X(VFIO_IOMMU_GET_INFO, VfioIo(12), kIommuFile, 1)                  \
  X(VFIO_DEVICE_PCI_HOT_RESET, VfioIo(13), kDeviceFile, 0)           \
  X(VFIO_IOMMU_MAP_DMA, VfioIo(13), kIommuFile, 1)                   \
  X(VFIO_DEVICE_QUERY_GFX_PLANE, VfioIo(14), kDeviceFile, 0)         \
  X(VFIO_IOMMU_UNMAP_DMA, VfioIo(14), kIommuFile, 1)                 \
  X(VFIO_DEVICE_GET_GFX_DMABUF, VfioIo(15), kDeviceFile, 0)          \
  X(VFIO_IOMMU_ENABLE, VfioIo(15), kIommuFile, 0)                    \
  X(VFIO_DEVICE_IOEVENTFD, VfioIo(16), kDeviceFile, 1)               \
  X(VFIO_IOMMU_DISABLE, VfioIo(16), kIommuFile, 0)                   \
  X(VFIO_DEVICE_FEATURE, VfioIo(17), kDeviceFile, 1)                 \
  X(VFIO_IOMMU_DIRTY_PAGES, VfioIo(17), kIommuFile, 0)               \
  X(VFIO_DEVICE_BIND_IOMMUFD, VfioIo(18), kAnyFile, 1)               \
  X(VFIO_DEVICE_ATTACH_IOMMUFD_PT, VfioIo(19), kAnyFile, 1)          \
  X(VFIO_DEVICE_DETACH_IOMMUFD_PT, VfioIo(20), kAnyFile, 1)          \
  X(VFIO_MIG_GET_PRECOPY_INFO, VfioIo(21), kAnyFile, 0)              \
  X(IOMMU_DESTROY, IommufdIo(0), kAnyFile, 1)                        \
  X(IOMMU_IOAS_ALLOC, IommufdIo(1), kAnyFile, 1)                     \
  X(IOMMU_IOAS_ALLOW_IOVAS, IommufdIo(2), kAnyFile, 1)               \
  X(IOMMU_IOAS_COPY, IommufdIo(3), kAnyFile, 1)                      \
  X(IOMMU_IOAS_IOVA_RANGES, IommufdIo(4), kAnyFile, 1)               \
  X(IOMMU_IOAS_MAP, IommufdIo(5), kAnyFile, 1)                       \
  X(IOMMU_IOAS_UNMAP, IommufdIo(6), kAnyFile, 1)                     \
  X(IOMMU_OPTION, IommufdIo(7), kAnyFile, 1)                         \
  X(IOMMU_VFIO_IOAS, IommufdIo(8), kAnyFile, 1)                      \
  X(IOMMU_HWPT_ALLOC, IommufdIo(9), kAnyFile, 0)                     \
  X(IOMMU_GET_HW_INFO, IommufdIo(10), kAnyFile, 0)                   \
  X(IOMMU_HWPT_SET_DIRTY_TRACKING, IommufdIo(11), kAnyFile, 0)       \
  X(IOMMU_HWPT_GET_DIRTY_BITMAP, IommufdIo(12), kAnyFile, 0)         \
  X(IOMMU_HWPT_INVALIDATE, IommufdIo(13), kAnyFile, 0)               \
  X(IOMMU_FAULT_QUEUE_ALLOC, IommufdIo(14), kAnyFile, 0)

// Which files an ioctl name applies to (see VFIO_CDX_IOCTLS).
enum class IoctlOn : unsigned char { kAnyFile, kDeviceFile, kIommuFile };

// One ioctl: its request number and its name. Converts to the number, so it works wherever a
// request does (Kernel::Ioctl, switch labels); Sys::Ioctl takes the whole thing, so a traced or
// failed call is named from the same entry.
struct Ioctl {
  unsigned long request;
  const char* name;
  IoctlOn on;
  bool js;
  constexpr operator unsigned long() const { return request; }
};

#define VFIO_CDX_IOCTL_CONSTANT(name, req, on_, js_) \
  constexpr Ioctl name{req, #name, IoctlOn::on_, js_ != 0};
VFIO_CDX_IOCTLS(VFIO_CDX_IOCTL_CONSTANT)
#undef VFIO_CDX_IOCTL_CONSTANT

#define VFIO_CDX_IOCTL_ENTRY(name, req, on_, js_) name,
constexpr Ioctl kIoctls[] = {VFIO_CDX_IOCTLS(VFIO_CDX_IOCTL_ENTRY)};
#undef VFIO_CDX_IOCTL_ENTRY

// The name of `request` on a file of the given kind (`iommu_file`: a container or an iommufd),
// or nullptr for a number this project does not know.
constexpr const char* IoctlName(unsigned long request, bool iommu_file) {
  for (const Ioctl& i : kIoctls) {
    if (i.request != request) continue;
    if (i.on == IoctlOn::kAnyFile || (i.on == IoctlOn::kIommuFile) == iommu_file) return i.name;
  }
  return nullptr;
}

static_assert(VFIO_GET_API_VERSION == 0x3b64, "ABI");
static_assert(VFIO_GROUP_GET_DEVICE_FD == 0x3b6a, "ABI");
static_assert(VFIO_DEVICE_GET_INFO == 0x3b6b, "ABI");
static_assert(VFIO_DEVICE_GET_REGION_INFO == 0x3b6c, "ABI");
static_assert(VFIO_DEVICE_GET_IRQ_INFO == 0x3b6d, "ABI");
static_assert(VFIO_DEVICE_SET_IRQS == 0x3b6e, "ABI");
static_assert(VFIO_DEVICE_RESET == 0x3b6f, "ABI");
static_assert(VFIO_IOMMU_GET_INFO == 0x3b70, "ABI");
static_assert(VFIO_IOMMU_MAP_DMA == 0x3b71, "ABI");
static_assert(VFIO_IOMMU_UNMAP_DMA == 0x3b72, "ABI");
static_assert(VFIO_DEVICE_FEATURE == 0x3b75, "ABI");
static_assert(VFIO_DEVICE_BIND_IOMMUFD == 0x3b76, "ABI");
static_assert(VFIO_DEVICE_ATTACH_IOMMUFD_PT == 0x3b77, "ABI");
static_assert(VFIO_DEVICE_DETACH_IOMMUFD_PT == 0x3b78, "ABI");
static_assert(IOMMU_DESTROY == 0x3b80, "ABI");
static_assert(IOMMU_IOAS_ALLOC == 0x3b81, "ABI");
static_assert(IOMMU_IOAS_IOVA_RANGES == 0x3b84, "ABI");
static_assert(IOMMU_IOAS_MAP == 0x3b85, "ABI");
static_assert(IOMMU_IOAS_UNMAP == 0x3b86, "ABI");

// ---- constants
constexpr int VFIO_API_VERSION = 0;
constexpr unsigned long VFIO_TYPE1_IOMMU = 1;
constexpr unsigned long VFIO_SPAPR_TCE_IOMMU = 2;
constexpr unsigned long VFIO_TYPE1v2_IOMMU = 3;
constexpr unsigned long VFIO_DMA_CC_IOMMU = 4;
constexpr unsigned long VFIO_EEH = 5;
constexpr unsigned long VFIO_TYPE1_NESTING_IOMMU = 6;
constexpr unsigned long VFIO_SPAPR_TCE_v2_IOMMU = 7;
constexpr unsigned long VFIO_NOIOMMU_IOMMU = 8;
constexpr unsigned long VFIO_UNMAP_ALL = 9;
constexpr unsigned long VFIO_UPDATE_VADDR = 10;

constexpr uint32_t VFIO_GROUP_FLAGS_VIABLE = 1u << 0;
constexpr uint32_t VFIO_GROUP_FLAGS_CONTAINER_SET = 1u << 1;

constexpr uint32_t VFIO_DEVICE_FLAGS_RESET = 1u << 0;
constexpr uint32_t VFIO_DEVICE_FLAGS_PCI = 1u << 1;
constexpr uint32_t VFIO_DEVICE_FLAGS_PLATFORM = 1u << 2;
constexpr uint32_t VFIO_DEVICE_FLAGS_CAPS = 1u << 7;
constexpr uint32_t VFIO_DEVICE_FLAGS_CDX = 1u << 8;

constexpr uint32_t VFIO_REGION_INFO_FLAG_READ = 1u << 0;
constexpr uint32_t VFIO_REGION_INFO_FLAG_WRITE = 1u << 1;
constexpr uint32_t VFIO_REGION_INFO_FLAG_MMAP = 1u << 2;
constexpr uint32_t VFIO_REGION_INFO_FLAG_CAPS = 1u << 3;

constexpr uint32_t VFIO_IRQ_INFO_EVENTFD = 1u << 0;
constexpr uint32_t VFIO_IRQ_INFO_MASKABLE = 1u << 1;
constexpr uint32_t VFIO_IRQ_INFO_AUTOMASKED = 1u << 2;
constexpr uint32_t VFIO_IRQ_INFO_NORESIZE = 1u << 3;

constexpr uint32_t VFIO_IRQ_SET_DATA_NONE = 1u << 0;
constexpr uint32_t VFIO_IRQ_SET_DATA_BOOL = 1u << 1;
constexpr uint32_t VFIO_IRQ_SET_DATA_EVENTFD = 1u << 2;
constexpr uint32_t VFIO_IRQ_SET_ACTION_MASK = 1u << 3;
constexpr uint32_t VFIO_IRQ_SET_ACTION_UNMASK = 1u << 4;
constexpr uint32_t VFIO_IRQ_SET_ACTION_TRIGGER = 1u << 5;
constexpr uint32_t VFIO_IRQ_SET_DATA_TYPE_MASK = 0x7;
constexpr uint32_t VFIO_IRQ_SET_ACTION_TYPE_MASK = 0x38;

constexpr uint32_t VFIO_DEVICE_FEATURE_MASK = 0xffff;
constexpr uint32_t VFIO_DEVICE_FEATURE_GET = 1u << 16;
constexpr uint32_t VFIO_DEVICE_FEATURE_SET = 1u << 17;
constexpr uint32_t VFIO_DEVICE_FEATURE_PROBE = 1u << 18;
constexpr uint32_t VFIO_DEVICE_FEATURE_BUS_MASTER = 10;
constexpr uint32_t VFIO_DEVICE_FEATURE_CLEAR_MASTER = 0;
constexpr uint32_t VFIO_DEVICE_FEATURE_SET_MASTER = 1;

constexpr uint32_t VFIO_IOMMU_INFO_PGSIZES = 1u << 0;
constexpr uint32_t VFIO_IOMMU_INFO_CAPS = 1u << 1;
constexpr uint16_t VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
constexpr uint16_t VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
constexpr uint16_t VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;
constexpr uint32_t VFIO_DMA_MAP_FLAG_READ = 1u << 0;
constexpr uint32_t VFIO_DMA_MAP_FLAG_WRITE = 1u << 1;
constexpr uint32_t VFIO_DMA_MAP_FLAG_VADDR = 1u << 2;
constexpr uint32_t VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1u << 0;
constexpr uint32_t VFIO_DMA_UNMAP_FLAG_ALL = 1u << 1;
constexpr uint32_t VFIO_DMA_UNMAP_FLAG_VADDR = 1u << 2;

constexpr uint32_t IOMMU_IOAS_MAP_FIXED_IOVA = 1u << 0;
constexpr uint32_t IOMMU_IOAS_MAP_WRITEABLE = 1u << 1;
constexpr uint32_t IOMMU_IOAS_MAP_READABLE = 1u << 2;

// vfio-cdx: region i lives at device-fd offset i << 40 (drivers/vfio/cdx/private.h:11-16)
constexpr unsigned kVfioCdxOffsetShift = 40;
constexpr uint64_t VfioCdxIndexToOffset(uint32_t index) { return uint64_t{index} << kVfioCdxOffsetShift; }

// ---- struct layouts (uapi vfio.h / iommufd.h, 6.12)
struct vfio_info_cap_header { uint16_t id; uint16_t version; uint32_t next; };
struct vfio_group_status { uint32_t argsz; uint32_t flags; };
struct vfio_device_info {
  uint32_t argsz; uint32_t flags; uint32_t num_regions; uint32_t num_irqs; uint32_t cap_offset; uint32_t pad;
};
struct vfio_region_info {
  uint32_t argsz; uint32_t flags; uint32_t index; uint32_t cap_offset; uint64_t size; uint64_t offset;
};
struct vfio_irq_info { uint32_t argsz; uint32_t flags; uint32_t index; uint32_t count; };
struct vfio_irq_set {
  uint32_t argsz; uint32_t flags; uint32_t index; uint32_t start; uint32_t count;
  uint8_t data[];  // count × u8 (DATA_BOOL) or count × s32 (DATA_EVENTFD)
};
struct vfio_device_feature { uint32_t argsz; uint32_t flags; uint8_t data[]; };
struct vfio_device_feature_bus_master { uint32_t op; };
// VFIO_DEVICE_FEATURE carrying BUS_MASTER data: the header with its data[] filled in.
struct vfio_device_feature_bus_master_arg { uint32_t argsz; uint32_t flags; vfio_device_feature_bus_master data; };
struct vfio_device_bind_iommufd { uint32_t argsz; uint32_t flags; int32_t iommufd; uint32_t out_devid; };
struct vfio_device_attach_iommufd_pt { uint32_t argsz; uint32_t flags; uint32_t pt_id; };
struct vfio_device_detach_iommufd_pt { uint32_t argsz; uint32_t flags; };
struct vfio_iommu_type1_info {
  uint32_t argsz; uint32_t flags; uint64_t iova_pgsizes; uint32_t cap_offset; uint32_t pad;
};
struct vfio_iova_range { uint64_t start; uint64_t end; };
struct vfio_iommu_type1_info_cap_iova_range {
  vfio_info_cap_header header; uint32_t nr_iovas; uint32_t reserved; vfio_iova_range iova_ranges[];
};
struct vfio_iommu_type1_info_cap_migration {
  vfio_info_cap_header header; uint32_t flags; uint64_t pgsize_bitmap; uint64_t max_dirty_bitmap_size;
};
struct vfio_iommu_type1_info_dma_avail { vfio_info_cap_header header; uint32_t avail; };
struct vfio_iommu_type1_dma_map { uint32_t argsz; uint32_t flags; uint64_t vaddr; uint64_t iova; uint64_t size; };
struct vfio_iommu_type1_dma_unmap {
  uint32_t argsz; uint32_t flags; uint64_t iova; uint64_t size; uint8_t data[];
};
struct iommu_destroy { uint32_t size; uint32_t id; };
struct iommu_ioas_alloc { uint32_t size; uint32_t flags; uint32_t out_ioas_id; };
struct iommu_iova_range { uint64_t start; uint64_t last; };
struct iommu_ioas_iova_ranges {
  uint32_t size; uint32_t ioas_id; uint32_t num_iovas; uint32_t __reserved; uint64_t allowed_iovas;
  uint64_t out_iova_alignment;
};
struct iommu_ioas_map {
  uint32_t size; uint32_t flags; uint32_t ioas_id; uint32_t __reserved; uint64_t user_va; uint64_t length;
  uint64_t iova;
};
struct iommu_ioas_unmap { uint32_t size; uint32_t ioas_id; uint64_t iova; uint64_t length; };

// What each kernel handler copies from userspace (its "minsz"): the copy that fails
// with EFAULT, and the argsz/size below which the kernel says EINVAL.
constexpr uint32_t VFIO_GROUP_STATUS_MINSZ = 8;
constexpr uint32_t VFIO_DEVICE_INFO_MINSZ = 16;        // offsetofend(num_irqs)
constexpr uint32_t VFIO_REGION_INFO_MINSZ = 32;        // whole struct
constexpr uint32_t VFIO_IRQ_INFO_MINSZ = 16;
constexpr uint32_t VFIO_IRQ_SET_MINSZ = 20;            // offsetofend(count)
constexpr uint32_t VFIO_DEVICE_FEATURE_MINSZ = 8;
constexpr uint32_t VFIO_BUS_MASTER_DATA_MINSZ = 4;
constexpr uint32_t VFIO_BIND_IOMMUFD_MINSZ = 16;
constexpr uint32_t VFIO_ATTACH_IOMMUFD_PT_MINSZ = 12;
constexpr uint32_t VFIO_DETACH_IOMMUFD_PT_MINSZ = 8;
constexpr uint32_t VFIO_IOMMU_TYPE1_INFO_MINSZ = 16;   // offsetofend(iova_pgsizes)
constexpr uint32_t VFIO_DMA_MAP_MINSZ = 32;
constexpr uint32_t VFIO_DMA_UNMAP_MINSZ = 24;
constexpr uint32_t IOMMU_DESTROY_MINSZ = 8;
constexpr uint32_t IOMMU_IOAS_ALLOC_MINSZ = 12;
constexpr uint32_t IOMMU_IOAS_IOVA_RANGES_MINSZ = 32;
constexpr uint32_t IOMMU_IOAS_MAP_MINSZ = 40;
constexpr uint32_t IOMMU_IOAS_UNMAP_MINSZ = 24;

#define VFIOCDX_CHECK(type, size_, align_) \
  static_assert(sizeof(type) == (size_), #type " size"); \
  static_assert(alignof(type) == (align_), #type " alignment")
#define VFIOCDX_OFF(type, field, off) static_assert(offsetof(type, field) == (off), #type "." #field)

VFIOCDX_CHECK(vfio_info_cap_header, 8, 4);
VFIOCDX_OFF(vfio_info_cap_header, id, 0); VFIOCDX_OFF(vfio_info_cap_header, version, 2);
VFIOCDX_OFF(vfio_info_cap_header, next, 4);
VFIOCDX_CHECK(vfio_group_status, 8, 4);
VFIOCDX_OFF(vfio_group_status, flags, 4);
VFIOCDX_CHECK(vfio_device_info, 24, 4);
VFIOCDX_OFF(vfio_device_info, flags, 4); VFIOCDX_OFF(vfio_device_info, num_regions, 8);
VFIOCDX_OFF(vfio_device_info, num_irqs, 12); VFIOCDX_OFF(vfio_device_info, cap_offset, 16);
VFIOCDX_OFF(vfio_device_info, pad, 20);
VFIOCDX_CHECK(vfio_region_info, 32, 8);
VFIOCDX_OFF(vfio_region_info, flags, 4); VFIOCDX_OFF(vfio_region_info, index, 8);
VFIOCDX_OFF(vfio_region_info, cap_offset, 12); VFIOCDX_OFF(vfio_region_info, size, 16);
VFIOCDX_OFF(vfio_region_info, offset, 24);
VFIOCDX_CHECK(vfio_irq_info, 16, 4);
VFIOCDX_OFF(vfio_irq_info, flags, 4); VFIOCDX_OFF(vfio_irq_info, index, 8); VFIOCDX_OFF(vfio_irq_info, count, 12);
VFIOCDX_CHECK(vfio_irq_set, 20, 4);
VFIOCDX_OFF(vfio_irq_set, flags, 4); VFIOCDX_OFF(vfio_irq_set, index, 8); VFIOCDX_OFF(vfio_irq_set, start, 12);
VFIOCDX_OFF(vfio_irq_set, count, 16); VFIOCDX_OFF(vfio_irq_set, data, 20);
VFIOCDX_CHECK(vfio_device_feature, 8, 4);
VFIOCDX_OFF(vfio_device_feature, flags, 4); VFIOCDX_OFF(vfio_device_feature, data, 8);
VFIOCDX_CHECK(vfio_device_feature_bus_master, 4, 4);
VFIOCDX_CHECK(vfio_device_feature_bus_master_arg, 12, 4);
static_assert(offsetof(vfio_device_feature_bus_master_arg, data) == offsetof(vfio_device_feature, data), "data");
VFIOCDX_CHECK(vfio_device_bind_iommufd, 16, 4);
VFIOCDX_OFF(vfio_device_bind_iommufd, flags, 4); VFIOCDX_OFF(vfio_device_bind_iommufd, iommufd, 8);
VFIOCDX_OFF(vfio_device_bind_iommufd, out_devid, 12);
VFIOCDX_CHECK(vfio_device_attach_iommufd_pt, 12, 4);
VFIOCDX_OFF(vfio_device_attach_iommufd_pt, pt_id, 8);
VFIOCDX_CHECK(vfio_device_detach_iommufd_pt, 8, 4);
VFIOCDX_CHECK(vfio_iommu_type1_info, 24, 8);
VFIOCDX_OFF(vfio_iommu_type1_info, iova_pgsizes, 8); VFIOCDX_OFF(vfio_iommu_type1_info, cap_offset, 16);
VFIOCDX_OFF(vfio_iommu_type1_info, pad, 20);
VFIOCDX_CHECK(vfio_iova_range, 16, 8);
VFIOCDX_CHECK(vfio_iommu_type1_info_cap_iova_range, 16, 8);
VFIOCDX_OFF(vfio_iommu_type1_info_cap_iova_range, nr_iovas, 8);
VFIOCDX_OFF(vfio_iommu_type1_info_cap_iova_range, reserved, 12);
VFIOCDX_OFF(vfio_iommu_type1_info_cap_iova_range, iova_ranges, 16);
VFIOCDX_CHECK(vfio_iommu_type1_info_cap_migration, 32, 8);
VFIOCDX_OFF(vfio_iommu_type1_info_cap_migration, flags, 8);
VFIOCDX_OFF(vfio_iommu_type1_info_cap_migration, pgsize_bitmap, 16);
VFIOCDX_OFF(vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size, 24);
VFIOCDX_CHECK(vfio_iommu_type1_info_dma_avail, 12, 4);
VFIOCDX_OFF(vfio_iommu_type1_info_dma_avail, avail, 8);
VFIOCDX_CHECK(vfio_iommu_type1_dma_map, 32, 8);
VFIOCDX_OFF(vfio_iommu_type1_dma_map, vaddr, 8); VFIOCDX_OFF(vfio_iommu_type1_dma_map, iova, 16);
VFIOCDX_OFF(vfio_iommu_type1_dma_map, size, 24);
VFIOCDX_CHECK(vfio_iommu_type1_dma_unmap, 24, 8);
VFIOCDX_OFF(vfio_iommu_type1_dma_unmap, iova, 8); VFIOCDX_OFF(vfio_iommu_type1_dma_unmap, size, 16);
VFIOCDX_OFF(vfio_iommu_type1_dma_unmap, data, 24);
VFIOCDX_CHECK(iommu_destroy, 8, 4);
VFIOCDX_OFF(iommu_destroy, id, 4);
VFIOCDX_CHECK(iommu_ioas_alloc, 12, 4);
VFIOCDX_OFF(iommu_ioas_alloc, out_ioas_id, 8);
VFIOCDX_CHECK(iommu_iova_range, 16, 8);
VFIOCDX_CHECK(iommu_ioas_iova_ranges, 32, 8);
VFIOCDX_OFF(iommu_ioas_iova_ranges, num_iovas, 8); VFIOCDX_OFF(iommu_ioas_iova_ranges, allowed_iovas, 16);
VFIOCDX_OFF(iommu_ioas_iova_ranges, out_iova_alignment, 24);
VFIOCDX_CHECK(iommu_ioas_map, 40, 8);
VFIOCDX_OFF(iommu_ioas_map, ioas_id, 8); VFIOCDX_OFF(iommu_ioas_map, __reserved, 12);
VFIOCDX_OFF(iommu_ioas_map, user_va, 16); VFIOCDX_OFF(iommu_ioas_map, length, 24);
VFIOCDX_OFF(iommu_ioas_map, iova, 32);
VFIOCDX_CHECK(iommu_ioas_unmap, 24, 8);
VFIOCDX_OFF(iommu_ioas_unmap, iova, 8); VFIOCDX_OFF(iommu_ioas_unmap, length, 16);

#undef VFIOCDX_CHECK
#undef VFIOCDX_OFF

// The structs' minsz constants are the kernel's offsetofend() values.
static_assert(VFIO_DEVICE_INFO_MINSZ == offsetof(vfio_device_info, num_irqs) + 4, "minsz");
static_assert(VFIO_IRQ_SET_MINSZ == offsetof(vfio_irq_set, count) + 4, "minsz");
static_assert(VFIO_IOMMU_TYPE1_INFO_MINSZ == offsetof(vfio_iommu_type1_info, iova_pgsizes) + 8, "minsz");

}  // namespace abi
}  // namespace vfiocdx
