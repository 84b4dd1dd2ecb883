// axi_cdma_regs.h — the AXI CDMA register map (PG034 v4.1, simple mode, 64-bit addressing), in
// one place for C++: the "axi-cdma" model (axi_cdma_model.cc) and the mock's self-test use it.
// TypeScript has its one copy in examples/axi-cdma.ts, which the tests import.
#pragma once

#include <cstdint>

namespace vfiocdx {
namespace mock {
namespace axi_cdma {

// Registers (32-bit, little-endian), offsets in region 0.
constexpr uint32_t kCdmaCr = 0x00;
constexpr uint32_t kCdmaSr = 0x04;
constexpr uint32_t kCurdesc = 0x08;  // .. TAILDESC_PNTR_MSB 0x14: SG only, read 0 after reset
constexpr uint32_t kTaildescMsb = 0x14;
constexpr uint32_t kSa = 0x18;
constexpr uint32_t kSaMsb = 0x1c;
constexpr uint32_t kDa = 0x20;
constexpr uint32_t kDaMsb = 0x24;
constexpr uint32_t kBtt = 0x28;

// CDMACR
constexpr uint32_t kCrReset = 1u << 2;
constexpr uint32_t kCrIocIrqEn = 1u << 12;
constexpr uint32_t kCrErrIrqEn = 1u << 14;

// CDMASR
constexpr uint32_t kSrIdle = 1u << 1;
constexpr uint32_t kSrDmaIntErr = 1u << 4;
constexpr uint32_t kSrDmaSlvErr = 1u << 5;
constexpr uint32_t kSrDmaDecErr = 1u << 6;
constexpr uint32_t kSrIocIrq = 1u << 12;
constexpr uint32_t kSrDlyIrq = 1u << 13;
constexpr uint32_t kSrErrIrq = 1u << 14;
constexpr uint32_t kSrIrqMask = kSrIocIrq | kSrDlyIrq | kSrErrIrq;
constexpr uint32_t kSrErrMask = kSrDmaIntErr | kSrDmaSlvErr | kSrDmaDecErr;
constexpr uint32_t kSrIrqThresholdSts1 = 1u << 16;
constexpr uint32_t kSrReset = kSrIrqThresholdSts1 | kSrIdle;  // 0x00010002

// BTT: bytes to transfer in bits 25:0. Bit 31 is the model's own mark that it took the job
// (docs/mock-device-models.md, "Conventions forced by polling").
constexpr uint32_t kBttMask = (1u << 26) - 1;
constexpr uint32_t kBttTaken = 1u << 31;

static_assert(kCrIocIrqEn == kSrIocIrq && kCrErrIrqEn == kSrErrIrq, "enable bits line up with status bits");

}  // namespace axi_cdma
}  // namespace mock
}  // namespace vfiocdx
