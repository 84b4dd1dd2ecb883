// cdx_test_model.cc — the "cdx-test" device model (fixtures/cdx-test-devices.json), a register
// page in region 0 whose layout is generated from the fixture (cdx_test_regs.h):
//   ID, VERSION, BUS_MASTER, RESET_COUNT, MSI_ENABLE, MSI_DOORBELL, MSI_FIRED, MSI_TABLE
//   (addr_lo, addr_hi, data per vector), the copy engine's DMA_* registers, SCRATCH.
// Reset restores every region (the controller does that for every device), then RESET_COUNT =
// resets, BUS_MASTER = 0, MSI_ENABLE = 0. The VM tier's simulated controller
// (kernel/cdx-sim/cdx_sim.c) implements the same fixture, so this behaviour must match it.
//
// Its thread sleeps unless MSI is enabled or the device is open; then it polls every
// kPollInterval while MSI or bus mastering is on, ten times less often otherwise:
//   - MSI_DOORBELL (only while MSI is enabled): a non-zero value v+1 is swapped for 0 and
//     vector v is raised.
//   - DMA_CTRL: GO takes a job (the register is swapped for 0). The engine checks the length
//     (1..maxLength, else EINVAL), bus mastering (EPERM), then reads DMA_LEN bytes at DMA_SRC and
//     writes them at DMA_DST through the device's IOMMU domain (EFAULT: no translation, EACCES: a
//     mapping without the permission, EIO: the memory behind a mapping is gone). It publishes
//     DMA_STATUS (DONE or ERROR | errno), then DMA_DONE = jobs finished, then with IRQ raises
//     vector (DMA_CTRL >> ctrlVectorShift) & 0xff.
// Runs with Impl::mu held.
#include <vector>

#include "cdx_test_regs.h"
#include "mock_internal.h"

namespace vfiocdx {
namespace mock {
namespace {

using namespace cdx_test;  // NOLINT(build/namespaces): the generated register names

int DmaErrno(DmaResult r) { return -DmaResultErrno(r); }

class CdxTestModel : public DeviceModel {
 public:
  using DeviceModel::DeviceModel;

  void PowerOn() override {
    SetReg(kRegId, kIdBase | dev_->dev_num);
    SetReg(kRegVersion, kVersion);
  }

  void Configure(DevConfig type) override {
    switch (type) {
      case DevConfig::kReset:
        PowerOn();
        SetReg(kRegResetCount, static_cast<uint32_t>(dev_->resets));
        SetReg(kRegBusMaster, 0);
        SetReg(kRegMsiEnable, 0);
        break;
      case DevConfig::kBusMasterEnable:
      case DevConfig::kBusMasterDisable:
        SetReg(kRegBusMaster, dev_->bus_master ? 1 : 0);
        break;
      case DevConfig::kMsiEnable:
      case DevConfig::kMsiDisable:
        SetReg(kRegMsiEnable, dev_->msi_enabled ? 1 : 0);  // the thread wakes and starts watching
        break;
    }
  }

  void MsiWriteMsg(uint32_t vector, uint64_t addr, uint32_t data) override {
    uint32_t off = kRegMsiTable + vector * kMsiEntrySize;
    if (off + kMsiEntrySize > kRegDmaSrcLo) return;
    SetReg(off, static_cast<uint32_t>(addr));
    SetReg(off + 4, static_cast<uint32_t>(addr >> 32));
    SetReg(off + 8, data);
  }

  void MsiRaised(uint64_t total) override { SetReg(kRegMsiFired, static_cast<uint32_t>(total)); }

  Poll Step() override {
    if (dev_->dead || (!dev_->msi_enabled && !DeviceOpen())) return kIdle;
    if (dev_->msi_enabled) {
      uint32_t v = XchgReg(kRegMsiDoorbell, 0);
      if (v != 0) kernel_->RaiseMsi(dev_, v - 1);
    }
    if (Reg(kRegDmaCtrl) & kDmaCtrlGo) RunDma(XchgReg(kRegDmaCtrl, 0));
    // like the VM's sim: closely while MSI or bus mastering is on, 10 times slower otherwise
    // (a job written with bus mastering off is still refused, a little later)
    return dev_->msi_enabled || dev_->bus_master ? kPollInterval : kOpenIdlePoll;
  }

 private:
  void RunDma(uint32_t ctrl) {
    if (!(ctrl & kDmaCtrlGo)) return;
    uint64_t src = (uint64_t{Reg(kRegDmaSrcHi)} << 32) | Reg(kRegDmaSrcLo);
    uint64_t dst = (uint64_t{Reg(kRegDmaDstHi)} << 32) | Reg(kRegDmaDstLo);
    uint32_t len = Reg(kRegDmaLen);
    int err = 0;
    if (len == 0 || len > kDmaMaxLength) {
      err = EINVAL;
    } else if (!dev_->bus_master && dev_->spec.bus_master_supported) {
      err = EPERM;
    } else {
      buf_.resize(len);
      DmaResult r = Dma(src, buf_.data(), len, false);
      if (r == DmaResult::kOk) r = Dma(dst, buf_.data(), len, true);
      err = DmaErrno(r);
    }
    SetReg(kRegDmaStatus, err ? (kDmaStatusError | static_cast<uint32_t>(err)) : kDmaStatusDone);
    SetReg(kRegDmaDone, ++done_);
    if (ctrl & kDmaCtrlIrq) kernel_->RaiseMsi(dev_, (ctrl >> kDmaCtrlVectorShift) & 0xff);
  }

  static constexpr Poll kOpenIdlePoll{10 * kPollInterval.count()};
  uint32_t done_ = 0;  // jobs finished over the device's lifetime (DMA_DONE; survives resets)
  std::vector<uint8_t> buf_;
};

}  // namespace

std::unique_ptr<DeviceModel> NewCdxTestModel(MockKernel::Impl* kernel, CdxDevice* dev) {
  return std::make_unique<CdxTestModel>(kernel, dev);
}

}  // namespace mock
}  // namespace vfiocdx
