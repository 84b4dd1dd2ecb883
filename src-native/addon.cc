// addon.cc — module initialisation: per-environment state, teardown, the ABI
// table handed to JavaScript.
//
// Everything the addon keeps lives in the environment's instance data
// (AddonData), so the main thread and every worker have their own state and
// their own event loop; nothing native is global except the registry that lets
// a worker find a mock kernel made by another thread (napi_kernel.cc).
#include <napi.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi.h"
#include "mock_schema.h"
#include "napi_device.h"
#include "napi_kernel.h"
#include "napi_lnic.h"
#include "napi_mapping.h"
#include "napi_util.h"

namespace vfiocdx {

namespace {

// setup({ sysError, usageError }): the JS error constructors, handed over once
// at load so that errors thrown by native code are `instanceof VfioError`.
Napi::Value Setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "setup() takes an object");
  Napi::Object o = info[0].As<Napi::Object>();
  AddonData* data = GetData(env);
  if (o.Get("sysError").IsFunction()) data->sys_error = Napi::Persistent(o.Get("sysError").As<Napi::Function>());
  if (o.Get("usageError").IsFunction()) {
    data->usage_error = Napi::Persistent(o.Get("usageError").As<Napi::Function>());
  }
  return env.Undefined();
}

// setTrace(fn | null): NODE_DEBUG=vfio-cdx tracing of every seam call.
Napi::Value SetTrace(const Napi::CallbackInfo& info) {
  AddonData* data = GetData(info.Env());
  if (info[0].IsFunction()) {
    data->trace = Napi::Persistent(info[0].As<Napi::Function>());
  } else {
    data->trace.Reset();
  }
  return info.Env().Undefined();
}

// The ABI as data, generated from abi.h so JavaScript never restates a number
// or an offset: { constants: {NAME: value}, structs: {name: {size, fields: {f: [offset, size]}}} }.
Napi::Object AbiTable(Napi::Env env) {
  Napi::Object constants = Napi::Object::New(env);
#define C(name) constants.Set(#name, Napi::Number::New(env, static_cast<double>(abi::name)))
  C(VFIO_GET_API_VERSION); C(VFIO_CHECK_EXTENSION); C(VFIO_SET_IOMMU); C(VFIO_GROUP_GET_STATUS);
  C(VFIO_GROUP_SET_CONTAINER); C(VFIO_GROUP_UNSET_CONTAINER); C(VFIO_GROUP_GET_DEVICE_FD);
  C(VFIO_DEVICE_GET_INFO); C(VFIO_DEVICE_GET_REGION_INFO); C(VFIO_DEVICE_GET_IRQ_INFO); C(VFIO_DEVICE_SET_IRQS);
  C(VFIO_DEVICE_RESET); C(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO); C(VFIO_IOMMU_GET_INFO); C(VFIO_IOMMU_MAP_DMA);
  C(VFIO_IOMMU_UNMAP_DMA); C(VFIO_DEVICE_IOEVENTFD); C(VFIO_DEVICE_FEATURE); C(VFIO_DEVICE_BIND_IOMMUFD);
  C(VFIO_DEVICE_ATTACH_IOMMUFD_PT); C(VFIO_DEVICE_DETACH_IOMMUFD_PT);
  C(IOMMU_DESTROY); C(IOMMU_IOAS_ALLOC); C(IOMMU_IOAS_ALLOW_IOVAS); C(IOMMU_IOAS_COPY); C(IOMMU_IOAS_IOVA_RANGES);
  C(IOMMU_IOAS_MAP); C(IOMMU_IOAS_UNMAP); C(IOMMU_OPTION); C(IOMMU_VFIO_IOAS);
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

// Environment teardown: close every device still open, without touching JS
// (the heap is going away). Their mappings are unmapped, MSI poll handles
// closed and fds closed. Asynchronous because uv handles finish closing on a
// later loop turn: the hook is removed when the last one has.
void Teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  *data->alive = false;
  auto devices = data->devices;  // CloseHandles erases from the set
  for (NativeDevice* d : devices) d->CloseHandles(false);
  if (data->pending_closes == 0) {
    napi_remove_async_cleanup_hook(handle);
  } else {
    data->cleanup_handle = handle;
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->env = env;
  env.SetInstanceData<AddonData>(data);  // deleted by the environment at teardown
  napi_add_async_cleanup_hook(env, Teardown, data, nullptr);
  data->owner_key = Napi::Persistent(Napi::Symbol::New(env, "vfio-cdx mapping"));

  data->kernel_ctor = Napi::Persistent(NativeKernel::Define(env));
  data->device_ctor = Napi::Persistent(NativeDevice::Define(env));
  data->mapping_ctor = Napi::Persistent(NativeMapping::Define(env));

  exports.Set("NativeKernel", data->kernel_ctor.Value());
  exports.Set("NativeDevice", data->device_ctor.Value());
  exports.Set("NativeMapping", data->mapping_ctor.Value());
  exports.Set("setup", Napi::Function::New(env, Setup, "setup"));
  exports.Set("setTrace", Napi::Function::New(env, SetTrace, "setTrace"));
  exports.Set("systemKernel", Napi::Function::New(env, SystemKernel, "systemKernel"));
  exports.Set("createMockKernel", Napi::Function::New(env, CreateMockKernel, "createMockKernel"));
  exports.Set("attachMockKernel", Napi::Function::New(env, AttachMockKernel, "attachMockKernel"));
  exports.Set("mockSchema", Napi::Function::New(
                                env, [](const Napi::CallbackInfo& info) -> Napi::Value { return MockSchema(info.Env()); },
                                "mockSchema"));
  // Live native devices and mapped (not yet unmapped) mappings in the process: the tests' way to see that close()
  // frees native state at once, not when the GC finalizes a wrapper.
  exports.Set("_live", Napi::Function::New(
                           env,
                           [](const Napi::CallbackInfo& info) -> Napi::Value {
                             Napi::Object o = Napi::Object::New(info.Env());
                             o.Set("devices", Napi::Number::New(info.Env(), double(LiveCount<Device>::Get())));
                             o.Set("mappings", Napi::Number::New(info.Env(), double(LiveCount<MappingCore>::Get())));
                             return o;
                           },
                           "_live"));
  exports.Set("abi", AbiTable(env));
  exports.Set("lnicControl", Napi::Function::New(env, LnicControl, "lnicControl"));
  // For native code of another addon in this process (bench_hooks.h): the benchmark's C loops.
  Napi::Object hooks = Napi::Object::New(env);
  hooks.Set("kernel", Napi::Function::New(env, KernelHooks, "kernel"));
  exports.Set("_hooks", hooks);
  return exports;
}

}  // namespace
}  // namespace vfiocdx

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return vfiocdx::Init(env, exports); }
NODE_API_MODULE(vfio_cdx, InitModule)
