// axi_cdma_model.cc — the "axi-cdma" device model: an AMD/Xilinx AXI Central DMA (PG034 v4.1)
// built for Simple DMA mode only (C_INCLUDE_SG = 0) with 64-bit addressing, registers in region 0
// (32-bit little-endian):
//   0x00 CDMACR  bit 2 Reset (self-clearing soft reset), bit 12 IOC_IrqEn, bit 14 Err_IrqEn
//   0x04 CDMASR  bit 1 Idle, bit 4 DMAIntErr, bit 5 DMASlvErr, bit 6 DMADecErr (sticky until
//                reset), bit 12 IOC_Irq, bit 14 Err_Irq (write 1 to clear), bits 23:16
//                IRQThresholdSts (reads 01h, PG034's default)
//   0x18 SA, 0x1C SA_MSB, 0x20 DA, 0x24 DA_MSB   source / destination address (IOVA)
//   0x28 BTT     bytes to transfer, bits 25:0; writing it starts the copy
// The copy reads the source range and writes the destination range through the device's IOMMU
// domain, 64 KiB per step; then IOC_Irq (or the error bits and Err_Irq) and Idle are set. The
// interrupt output is level-triggered, as in PG034: (CDMACR & CDMASR & (IOC|Err)) != 0; the CDX
// side turns each rising edge into MSI vector 0.
//
// Errors (PG034 names the three DataMover errors; the IOMMU outcome picks which one):
//   BTT == 0 → DMAIntErr. Unmapped IOVA / no DMA domain → DMADecErr (nothing answers at that
//   address). Permission fault, bus mastering off, or user memory gone → DMASlvErr (the request
//   reached something that refused it). An error aborts the transfer, sets Err_Irq and Idle, and
//   halts the engine: BTT writes are ignored until a soft or controller reset.
//
// What polling cannot see, and the conventions that make it work (docs/mock-device-models.md):
//   - BTT bit 31 (reserved in PG034) reads 1 once the engine has taken the written value; that is
//     how the next write is noticed even when it writes the same count. Mask BTT reads with
//     0x03ffffff; write reserved bits as 0.
//   - A CDMASR write is noticed only if it changes the register, so acknowledge with the interrupt
//     bits alone (e.g. write 0x1000), as Xilinx's drivers do; writing back a value just read is a
//     no-op.
//   - Idle drops within one poll period of the BTT write, not at once: wait for IOC_Irq/Err_Irq
//     (clear them before starting) or for the MSI, not for Idle.
// Runs with Impl::mu held (hooks and Step()).
#include <algorithm>
#include <vector>

#include "axi_cdma_regs.h"
#include "mock_internal.h"

namespace vfiocdx {
namespace mock {
namespace {

using namespace axi_cdma;  // the register map (axi_cdma_regs.h)

constexpr size_t kChunk = 64 * 1024;  // bytes moved per step; the mutex is released in between

uint32_t ErrorBit(DmaResult r) { return r == DmaResult::kUnmapped ? kSrDmaDecErr : kSrDmaSlvErr; }

class AxiCdmaModel : public DeviceModel {
 public:
  using DeviceModel::DeviceModel;

  void PowerOn() override { ResetEngine(); }

  // A controller reset (open, last close, VFIO_DEVICE_RESET, sysfs reset) resets the core too.
  // Bus mastering and MSI changes need nothing here: DMA checks bus mastering per access, and
  // RaiseMsi drops messages while MSI is off.
  void Configure(DevConfig type) override {
    if (type == DevConfig::kReset) ResetEngine();
  }

  Poll Step() override {
    if (!busy_ && !DeviceOpen()) return kIdle;  // nobody can reach the registers
    // BTT first: whatever the driver stored before it (CDMACR, SA, DA, a CDMASR acknowledge) is
    // then visible to the loads below, as the register write order on a real bus guarantees.
    uint32_t btt = Reg(kBtt);
    uint32_t cr = Reg(kCdmaCr);
    if (cr & kCrReset) {
      SoftReset(cr);
      return kPollInterval;
    }
    StatusChanged(cr);  // a CDMASR acknowledge, or an enable bit set while its status is pending
    if (!(btt & kBttTaken) && CasReg(kBtt, btt, (btt & kBttMask) | kBttTaken)) StartTransfer(btt & kBttMask, cr);
    if (busy_) RunChunk(cr);
    return busy_ ? kAgain : kPollInterval;
  }

 private:
  // Every register to its reset value; a transfer in progress is dropped without completion.
  void ResetEngine(bool with_cr = true) {
    busy_ = false;
    irq_line_ = false;
    sr_ = kSrReset;
    sr_published_ = kSrReset;
    if (with_cr) SetReg(kCdmaCr, 0);
    SetReg(kCdmaSr, kSrReset);
    for (uint32_t off = kCurdesc; off <= kTaildescMsb; off += 4) SetReg(off, 0);
    SetReg(kSa, 0);
    SetReg(kSaMsb, 0);
    SetReg(kDa, 0);
    SetReg(kDaMsb, 0);
    SetReg(kBtt, kBttTaken);
  }

  // CDMACR.Reset: the engine resets and the bit clears itself. A CDMACR write that raced with the
  // clear survives (CAS), and is looked at in the next step.
  void SoftReset(uint32_t cr) {
    ResetEngine(false);
    CasReg(kCdmaCr, cr, 0);
  }

  void StartTransfer(uint32_t btt, uint32_t cr) {
    if (busy_ || (sr_ & kSrErrMask)) return;  // not idle, or halted by an error until reset
    if (btt == 0) {                           // "A value of zero (0) is not allowed"
      sr_ |= kSrDmaIntErr | kSrErrIrq;
      StatusChanged(cr);
      return;
    }
    src_ = Reg(kSa) | static_cast<uint64_t>(Reg(kSaMsb)) << 32;
    dst_ = Reg(kDa) | static_cast<uint64_t>(Reg(kDaMsb)) << 32;
    btt_ = btt;
    done_ = 0;
    busy_ = true;
    sr_ &= ~kSrIdle;
    StatusChanged(cr);
  }

  void RunChunk(uint32_t cr) {
    size_t n = std::min<size_t>(btt_ - done_, kChunk);
    buf_.resize(kChunk);
    DmaResult r = Dma(src_ + done_, buf_.data(), n, false);
    if (r == DmaResult::kOk) r = Dma(dst_ + done_, buf_.data(), n, true);
    if (r != DmaResult::kOk) {
      busy_ = false;
      sr_ |= kSrIdle | ErrorBit(r) | kSrErrIrq;
      StatusChanged(cr);
      return;
    }
    done_ += static_cast<uint32_t>(n);
    if (done_ == btt_) {
      busy_ = false;
      sr_ |= kSrIdle | kSrIocIrq;
      StatusChanged(cr);
    }
  }

  // Publishes sr_ in CDMASR, then re-evaluates the interrupt output: the driver that takes the
  // MSI must find the status that caused it. A driver write to CDMASR since the last look (the
  // register no longer holds what we stored) is a write-1-to-clear of the interrupt bits; it is
  // applied before publishing, and the compare-and-swap retries if another one lands meanwhile.
  void StatusChanged(uint32_t cr) {
    for (;;) {
      uint32_t mem = Reg(kCdmaSr);
      if (mem != sr_published_) sr_ &= ~(mem & kSrIrqMask);
      if (mem == sr_ || CasReg(kCdmaSr, mem, sr_)) break;
    }
    sr_published_ = sr_;
    // cdma_introut is a level; the message goes out on its rising edge (lost if MSI is off or
    // vector 0 has no trigger, like any MSI).
    bool line = (cr & sr_ & (kSrIocIrq | kSrErrIrq)) != 0;
    if (line && !irq_line_) kernel_->RaiseMsi(dev_, 0);
    irq_line_ = line;
  }

  uint32_t sr_ = kSrReset;            // the status the engine holds
  uint32_t sr_published_ = kSrReset;  // what it last stored in CDMASR
  bool busy_ = false;
  bool irq_line_ = false;
  uint64_t src_ = 0;
  uint64_t dst_ = 0;
  uint32_t btt_ = 0;
  uint32_t done_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace

std::unique_ptr<DeviceModel> NewAxiCdmaModel(MockKernel::Impl* kernel, CdxDevice* dev) {
  return std::make_unique<AxiCdmaModel>(kernel, dev);
}

}  // namespace mock
}  // namespace vfiocdx
