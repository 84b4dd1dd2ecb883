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
  // What stays of an unmapped mapping is only what says "unmapped": the accessors and JS objects
  // that still point at it may live until the next GC.
  sys_.reset();
  what_ = std::string();
  live_.reset();
}

}  // namespace vfiocdx
