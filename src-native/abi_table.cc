// abi_table.cc — see abi_table.h.
#include "abi_table.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <cstddef>

#include "abi.h"

namespace vfiocdx {

Napi::Object AbiTable(Napi::Env env) {
  Napi::Object constants = Napi::Object::New(env);
  // Every ioctl of abi.h's list that JavaScript uses, in the list's order.
  for (const abi::Ioctl& i : abi::kIoctls) {
    if (i.js) constants.Set(i.name, Napi::Number::New(env, static_cast<double>(i.request)));
  }
#define C(name) constants.Set(#name, Napi::Number::New(env, static_cast<double>(abi::name)))
  C(VFIO_API_VERSION); C(VFIO_TYPE1_IOMMU); C(VFIO_TYPE1v2_IOMMU); C(VFIO_DMA_CC_IOMMU); C(VFIO_TYPE1_NESTING_IOMMU);
  C(VFIO_NOIOMMU_IOMMU); C(VFIO_UNMAP_ALL); C(VFIO_UPDATE_VADDR);
  C(VFIO_GROUP_FLAGS_VIABLE); C(VFIO_GROUP_FLAGS_CONTAINER_SET);
  C(VFIO_DEVICE_FLAGS_RESET); C(VFIO_DEVICE_FLAGS_PCI); C(VFIO_DEVICE_FLAGS_PLATFORM); C(VFIO_DEVICE_FLAGS_CAPS);
  C(VFIO_DEVICE_FLAGS_CDX);
  C(VFIO_REGION_INFO_FLAG_READ); C(VFIO_REGION_INFO_FLAG_WRITE); C(VFIO_REGION_INFO_FLAG_MMAP);
  C(VFIO_REGION_INFO_FLAG_CAPS);
  C(VFIO_IRQ_INFO_EVENTFD); C(VFIO_IRQ_INFO_MASKABLE); C(VFIO_IRQ_INFO_AUTOMASKED); C(VFIO_IRQ_INFO_NORESIZE);
  C(VFIO_IRQ_SET_DATA_NONE); C(VFIO_IRQ_SET_DATA_BOOL); C(VFIO_IRQ_SET_DATA_EVENTFD); C(VFIO_IRQ_SET_ACTION_MASK);
  C(VFIO_IRQ_SET_ACTION_UNMASK); C(VFIO_IRQ_SET_ACTION_TRIGGER);
  C(VFIO_DEVICE_FEATURE_MASK); C(VFIO_DEVICE_FEATURE_GET); C(VFIO_DEVICE_FEATURE_SET); C(VFIO_DEVICE_FEATURE_PROBE);
  C(VFIO_DEVICE_FEATURE_BUS_MASTER); C(VFIO_DEVICE_FEATURE_CLEAR_MASTER); C(VFIO_DEVICE_FEATURE_SET_MASTER);
  C(VFIO_IOMMU_INFO_PGSIZES); C(VFIO_IOMMU_INFO_CAPS); C(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
  C(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION); C(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
  C(VFIO_DMA_MAP_FLAG_READ); C(VFIO_DMA_MAP_FLAG_WRITE); C(VFIO_DMA_MAP_FLAG_VADDR);
  C(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP); C(VFIO_DMA_UNMAP_FLAG_ALL); C(VFIO_DMA_UNMAP_FLAG_VADDR);
  C(IOMMU_IOAS_MAP_FIXED_IOVA); C(IOMMU_IOAS_MAP_WRITEABLE); C(IOMMU_IOAS_MAP_READABLE);
  C(kVfioCdxOffsetShift);
#undef C

  Napi::Object structs = Napi::Object::New(env);
  Napi::Object current;
  auto begin = [&](const char* name, size_t size) {
    Napi::Object s = Napi::Object::New(env);
    s.Set("size", Napi::Number::New(env, static_cast<double>(size)));
    current = Napi::Object::New(env);
    s.Set("fields", current);
    structs.Set(name, s);
  };
  auto field = [&](const char* name, size_t offset, size_t size) {
    Napi::Array f = Napi::Array::New(env, 2);
    f.Set(0u, Napi::Number::New(env, static_cast<double>(offset)));
    f.Set(1u, Napi::Number::New(env, static_cast<double>(size)));
    current.Set(name, f);
  };
#define S(type) begin(#type, sizeof(abi::type))
#define F(type, f) field(#f, offsetof(abi::type, f), sizeof(abi::type::f))
#define FLEX(type, f) field(#f, offsetof(abi::type, f), 0)
  S(vfio_group_status); F(vfio_group_status, argsz); F(vfio_group_status, flags);
  S(vfio_device_info); F(vfio_device_info, argsz); F(vfio_device_info, flags); F(vfio_device_info, num_regions);
  F(vfio_device_info, num_irqs); F(vfio_device_info, cap_offset); F(vfio_device_info, pad);
  S(vfio_region_info); F(vfio_region_info, argsz); F(vfio_region_info, flags); F(vfio_region_info, index);
  F(vfio_region_info, cap_offset); F(vfio_region_info, size); F(vfio_region_info, offset);
  S(vfio_irq_info); F(vfio_irq_info, argsz); F(vfio_irq_info, flags); F(vfio_irq_info, index); F(vfio_irq_info, count);
  S(vfio_irq_set); F(vfio_irq_set, argsz); F(vfio_irq_set, flags); F(vfio_irq_set, index); F(vfio_irq_set, start);
  F(vfio_irq_set, count); FLEX(vfio_irq_set, data);
  S(vfio_device_feature); F(vfio_device_feature, argsz); F(vfio_device_feature, flags); FLEX(vfio_device_feature, data);
  S(vfio_device_feature_bus_master); F(vfio_device_feature_bus_master, op);
  S(vfio_device_bind_iommufd); F(vfio_device_bind_iommufd, argsz); F(vfio_device_bind_iommufd, flags);
  F(vfio_device_bind_iommufd, iommufd); F(vfio_device_bind_iommufd, out_devid);
  S(vfio_device_attach_iommufd_pt); F(vfio_device_attach_iommufd_pt, argsz); F(vfio_device_attach_iommufd_pt, flags);
  F(vfio_device_attach_iommufd_pt, pt_id);
  S(vfio_device_detach_iommufd_pt); F(vfio_device_detach_iommufd_pt, argsz); F(vfio_device_detach_iommufd_pt, flags);
  S(vfio_iommu_type1_info); F(vfio_iommu_type1_info, argsz); F(vfio_iommu_type1_info, flags);
  F(vfio_iommu_type1_info, iova_pgsizes); F(vfio_iommu_type1_info, cap_offset); F(vfio_iommu_type1_info, pad);
  S(vfio_iommu_type1_dma_map); F(vfio_iommu_type1_dma_map, argsz); F(vfio_iommu_type1_dma_map, flags);
  F(vfio_iommu_type1_dma_map, vaddr); F(vfio_iommu_type1_dma_map, iova); F(vfio_iommu_type1_dma_map, size);
  S(vfio_iommu_type1_dma_unmap); F(vfio_iommu_type1_dma_unmap, argsz); F(vfio_iommu_type1_dma_unmap, flags);
  F(vfio_iommu_type1_dma_unmap, iova); F(vfio_iommu_type1_dma_unmap, size);
  S(iommu_destroy); F(iommu_destroy, size); F(iommu_destroy, id);
  S(iommu_ioas_alloc); F(iommu_ioas_alloc, size); F(iommu_ioas_alloc, flags); F(iommu_ioas_alloc, out_ioas_id);
  S(iommu_ioas_iova_ranges); F(iommu_ioas_iova_ranges, size); F(iommu_ioas_iova_ranges, ioas_id);
  F(iommu_ioas_iova_ranges, num_iovas); F(iommu_ioas_iova_ranges, __reserved);
  F(iommu_ioas_iova_ranges, allowed_iovas); F(iommu_ioas_iova_ranges, out_iova_alignment);
  S(iommu_ioas_map); F(iommu_ioas_map, size); F(iommu_ioas_map, flags); F(iommu_ioas_map, ioas_id);
  F(iommu_ioas_map, __reserved); F(iommu_ioas_map, user_va); F(iommu_ioas_map, length); F(iommu_ioas_map, iova);
  S(iommu_ioas_unmap); F(iommu_ioas_unmap, size); F(iommu_ioas_unmap, ioas_id); F(iommu_ioas_unmap, iova);
  F(iommu_ioas_unmap, length);
#undef S
#undef F
#undef FLEX

  Napi::Object minsz = Napi::Object::New(env);
#define M(name) minsz.Set(#name, Napi::Number::New(env, abi::name##_MINSZ))
  M(VFIO_GROUP_STATUS); M(VFIO_DEVICE_INFO); M(VFIO_REGION_INFO); M(VFIO_IRQ_INFO); M(VFIO_IRQ_SET);
  M(VFIO_DEVICE_FEATURE); M(VFIO_BUS_MASTER_DATA); M(VFIO_BIND_IOMMUFD); M(VFIO_ATTACH_IOMMUFD_PT);
  M(VFIO_DETACH_IOMMUFD_PT); M(VFIO_IOMMU_TYPE1_INFO); M(VFIO_DMA_MAP); M(VFIO_DMA_UNMAP); M(IOMMU_DESTROY);
  M(IOMMU_IOAS_ALLOC); M(IOMMU_IOAS_IOVA_RANGES); M(IOMMU_IOAS_MAP); M(IOMMU_IOAS_UNMAP);
#undef M

  // Flags of the generic calls, as this platform's libc defines them.
  Napi::Object sys = Napi::Object::New(env);
#define SYSC(name) sys.Set(#name, Napi::Number::New(env, static_cast<double>(name)))
  SYSC(O_RDONLY); SYSC(O_WRONLY); SYSC(O_RDWR); SYSC(O_CLOEXEC); SYSC(O_NONBLOCK); SYSC(PROT_NONE);
  SYSC(PROT_READ); SYSC(PROT_WRITE); SYSC(MAP_SHARED); SYSC(MAP_PRIVATE); SYSC(MAP_ANONYMOUS); SYSC(EFD_CLOEXEC);
  SYSC(EFD_NONBLOCK); SYSC(EFD_SEMAPHORE);
#undef SYSC

  Napi::Object out = Napi::Object::New(env);
  out.Set("sys", sys);
  out.Set("constants", constants);
  out.Set("structs", structs);
  out.Set("minsz", minsz);
  return out;
}

}  // namespace vfiocdx
