// cdx_test_model.cc — the "cdx-test" device model (fixtures/cdx-test-devices.json), a register
// page in region 0:
//   ID 0, VERSION 4, BUS_MASTER 8, RESET_COUNT 12, MSI_ENABLE 16, MSI_DOORBELL 20, MSI_FIRED 24,
//   MSI_TABLE 32 (addr_lo, addr_hi, data per vector), SCRATCH 256.
// Reset restores every region (the controller does that for every device), then RESET_COUNT =
// resets, BUS_MASTER = 0, MSI_ENABLE = 0. The VM tier's simulated controller implements the same
// fixture, so this behaviour must not change.
//
// Its thread sleeps unless MSI is enabled; then it polls MSI_DOORBELL every kPollInterval: a
// non-zero value v+1 is swapped for 0 and vector v is raised. Runs with Impl::mu held.
#include "mock_internal.h"

namespace vfiocdx {
namespace mock {
namespace {

constexpr uint32_t kRegId = 0;
constexpr uint32_t kRegVersion = 4;
constexpr uint32_t kRegBusMaster = 8;
constexpr uint32_t kRegResetCount = 12;
constexpr uint32_t kRegMsiEnable = 16;
constexpr uint32_t kRegMsiDoorbell = 20;
constexpr uint32_t kRegMsiFired = 24;
constexpr uint32_t kRegMsiTable = 32;
constexpr uint32_t kRegScratch = 256;
constexpr uint32_t kMsiEntrySize = 12;
constexpr uint32_t kIdBase = 0xcd5e0000;
constexpr uint32_t kVersion = 0x00010000;

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
    if (off + kMsiEntrySize > kRegScratch) return;
    SetReg(off, static_cast<uint32_t>(addr));
    SetReg(off + 4, static_cast<uint32_t>(addr >> 32));
    SetReg(off + 8, data);
  }

  void MsiRaised(uint64_t total) override { SetReg(kRegMsiFired, static_cast<uint32_t>(total)); }

  Poll Step() override {
    if (dev_->dead || !dev_->msi_enabled) return kIdle;
    uint32_t v = XchgReg(kRegMsiDoorbell, 0);
    if (v != 0) kernel_->RaiseMsi(dev_, v - 1);
    return kPollInterval;
  }
};

}  // namespace

std::unique_ptr<DeviceModel> NewCdxTestModel(MockKernel::Impl* kernel, CdxDevice* dev) {
  return std::make_unique<CdxTestModel>(kernel, dev);
}

}  // namespace mock
}  // namespace vfiocdx
