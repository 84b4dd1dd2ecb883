// mapping.cc — see mapping.h.
#include "mapping.h"

namespace vfiocdx {

void MappingCore::Unmap(bool notify) {
  if (addr_ == nullptr) return;
  if (notify && before_unmap) before_unmap();
  before_unmap = nullptr;
  uint8_t* addr = addr_;
  addr_ = nullptr;
  sys_->Munmap(addr, map_length_, what_);
}

}  // namespace vfiocdx
