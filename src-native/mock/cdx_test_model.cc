// cdx_test_model.cc — the mock CDX controller's dev_configure() (drivers/cdx/controller/
// cdx_controller.c:cdx_configure_device) and the device models behind it.
//
// A device without a model is plain memory: reset restores each region's initial contents. The
// "cdx-test" model (fixtures/cdx-test-devices.json) adds a register page in region 0:
//   ID 0, VERSION 4, BUS_MASTER 8, RESET_COUNT 12, MSI_ENABLE 16, MSI_DOORBELL 20, MSI_FIRED 24,
//   MSI_TABLE 32 (addr_lo, addr_hi, data per vector), SCRATCH 256.
// Reset restores every region, then RESET_COUNT = ++resets, BUS_MASTER = 0, MSI_ENABLE = 0.
// Runs with Impl::mu held.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

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
constexpr uint32_t kMsiDoorbellAddr = 0x08020040;  // where the (simulated) interrupt controller listens

bool HasTestModel(const CdxDevice* dev) { return dev->spec.model == "cdx-test"; }

const char* FaultName(DevConfig type) {
  switch (type) {
    case DevConfig::kReset: return "reset";
    case DevConfig::kBusMasterEnable: return "set_master";
    case DevConfig::kBusMasterDisable: return "clear_master";
    case DevConfig::kMsiEnable: return "msi_enable";
    default: return nullptr;  // disable and MSI_CONF cannot fail (their callers ignore the result)
  }
}

}  // namespace

void MockKernel::Impl::ModelWriteReg(CdxDevice* dev, uint32_t offset, uint32_t value) {
  if (dev->res.empty() || offset + 4 > dev->res[0]->size) return;
  __atomic_store_n(reinterpret_cast<uint32_t*>(dev->res[0]->view + offset), value, __ATOMIC_SEQ_CST);
}

// The contents every region has after power-on and after each reset.
void MockKernel::Impl::ModelPowerOn(CdxDevice* dev) {
  for (RegionMemory* r : dev->res) {
    memset(r->view, 0, r->mapped);
    if (!r->init.empty()) memcpy(r->view, r->init.data(), r->init.size());
  }
  if (!HasTestModel(dev)) return;
  ModelWriteReg(dev, kRegId, kIdBase | dev->dev_num);
  ModelWriteReg(dev, kRegVersion, kVersion);
}

void MockKernel::Impl::ModelReset(CdxDevice* dev) {
  ModelPowerOn(dev);
  dev->resets++;
  dev->bus_master = false;
  dev->msi_enabled = false;
  if (!HasTestModel(dev)) return;
  ModelWriteReg(dev, kRegResetCount, static_cast<uint32_t>(dev->resets));
  ModelWriteReg(dev, kRegBusMaster, 0);
  ModelWriteReg(dev, kRegMsiEnable, 0);
}

// MSI_CONF for every vector, as msi_domain_alloc_irqs() → cdx_msi_write_msg() programs them.
void MockKernel::Impl::ModelWriteMsiTable(CdxDevice* dev, uint32_t nvec) {
  if (!HasTestModel(dev)) return;
  for (uint32_t v = 0; v < nvec; v++) {
    uint32_t off = kRegMsiTable + v * kMsiEntrySize;
    if (off + kMsiEntrySize > kRegScratch) break;
    ModelWriteReg(dev, off, kMsiDoorbellAddr);
    ModelWriteReg(dev, off + 4, 0);
    ModelWriteReg(dev, off + 8, v);
  }
}

// cdx_configure_device() (drivers/cdx/controller/cdx_controller.c): the firmware call behind
// cdx_dev_reset, cdx_set/clear_master and cdx_enable/disable_msi. An injected kController fault
// makes the firmware fail the request with no effect.
int MockKernel::Impl::CdxConfigureDevice(CdxDevice* dev, DevConfig type) {
  const char* name = FaultName(type);
  if (name) {
    int ret = CheckFault(Fault::Op::kController, name, dev->name);
    if (ret) return ret;
  }
  switch (type) {
    case DevConfig::kReset:
      ModelReset(dev);
      return 0;
    case DevConfig::kBusMasterEnable:
    case DevConfig::kBusMasterDisable:
      if (!dev->spec.bus_master_supported) return -EOPNOTSUPP;
      dev->bus_master = type == DevConfig::kBusMasterEnable;
      if (HasTestModel(dev)) ModelWriteReg(dev, kRegBusMaster, dev->bus_master ? 1 : 0);
      return 0;
    case DevConfig::kMsiEnable:
    case DevConfig::kMsiDisable:
      dev->msi_enabled = type == DevConfig::kMsiEnable;
      if (HasTestModel(dev)) ModelWriteReg(dev, kRegMsiEnable, dev->msi_enabled ? 1 : 0);
      if (dev->msi_enabled) model_cv.notify_all();  // start watching the doorbell
      return 0;
  }
  return -EINVAL;
}

// The device raises MSI vector `vector` (a hardware event): the write reaches the interrupt
// controller, whose handler (vfio_cdx_msihandler, intr.c:16-22) signals the vector's eventfd.
// Returns 0 when an eventfd was signalled, -EAGAIN when the message was lost (MSI disabled in the
// device, or no trigger on the vector), -EINVAL for a vector the device does not have.
int MockKernel::Impl::RaiseMsi(CdxDevice* dev, uint32_t vector) {
  if (vector >= dev->num_msi) return -EINVAL;
  if (!dev->msi_enabled) return -EAGAIN;
  dev->msi_fired++;
  if (HasTestModel(dev)) ModelWriteReg(dev, kRegMsiFired, static_cast<uint32_t>(dev->msi_fired));
  VfioDevice* v = dev->vdev.get();
  if (!v || !v->config_msi || vector >= v->msi_count || v->cdx_irqs[vector].trigger < 0) return -EAGAIN;
  EventfdSignal(v->cdx_irqs[vector].trigger);
  return 0;
}

// One pass over the cdx-test devices whose MSI is enabled: a non-zero MSI_DOORBELL (v+1) makes the
// device write 0 back and raise vector v. Returns whether any device is being watched.
bool MockKernel::Impl::ModelPollDoorbells() {
  bool active = false;
  for (auto& kv : devices) {
    CdxDevice* dev = kv.second.get();
    if (!HasTestModel(dev) || dev->dead || !dev->msi_enabled) continue;
    active = true;
    auto* reg = reinterpret_cast<uint32_t*>(dev->res[0]->view + kRegMsiDoorbell);
    uint32_t v = __atomic_exchange_n(reg, 0u, __ATOMIC_SEQ_CST);
    if (v != 0) RaiseMsi(dev, v - 1);
  }
  return active;
}

// The device-model thread: sleeps while no cdx-test device has MSI enabled, else polls the
// doorbells every 100 µs. Stopped by ~Impl.
void MockKernel::Impl::ModelThreadMain() {
  Lock lk(mu);
  while (!model_stop) {
    if (ModelPollDoorbells()) {
      model_cv.wait_for(lk, std::chrono::microseconds(100));
    } else {
      model_cv.wait(lk);
    }
  }
}

// eventfd_signal(): add 1 to the counter.
void EventfdSignal(int fd) {
  uint64_t one = 1;
  ssize_t n = write(fd, &one, sizeof(one));
  (void)n;  // a saturated counter would block the kernel's signal too; nothing to report
}

}  // namespace mock
}  // namespace vfiocdx
