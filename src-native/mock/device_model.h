// device_model.h — simulated CDX devices ("models") behind the mock kernel.
//
// A DeviceModel owns the register behaviour of one CdxDevice and runs on its own thread, the way
// real hardware runs concurrently with its driver. It reacts to two things:
//   - the controller's dev_configure() (reset, bus master on/off, MSI on/off) and the MSI message
//     programming, delivered as calls on the caller's thread (Configure(), MsiWriteMsg(), ...);
//   - register writes by the driver. Region memory is a plain shared mapping, so a model cannot
//     trap a store: its thread wakes every kPollInterval while it has something to watch and
//     compares the registers with what it last published (Step()).
// What a model can do to the rest of the system: read and write process memory by IOVA through
// the IOMMU domain its device is attached to (Dma()), raise MSI vectors (Impl::RaiseMsi), and
// update its own registers (Reg()/SetReg()/CasReg(), 32-bit LE atomics on region 0).
//
// Threads and locking (docs/mock-device-models.md):
//   - Every hook and every Step() runs with MockKernel::Impl::mu held, so a model's own state, the
//     CdxDevice and the IOMMU tables are all guarded by that one mutex. A model never sleeps or
//     blocks with it held; its thread drops it while waiting (condition variable on Impl::mu).
//   - DMA translates and copies under the mutex: an UNMAP (which takes the mutex) happens either
//     before or after a DMA access, never during it. Long transfers are split into chunks with
//     the mutex released in between, so an UNMAP can land between two chunks (the next chunk
//     faults, as it would behind a real IOMMU).
//   - Register memory is shared with the user's mapping, so models access it only with atomics.
//   - The thread is started when the device is added (CdxDeviceAdd), stopped and joined when the
//     device is unregistered (CdxUnregisterDevice drops the mutex to join) and, for every device
//     left, at the start of ~Impl. No model thread outlives its device or the MockKernel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "mock_kernel.h"

namespace vfiocdx {
namespace mock {

struct CdxDevice;

// Controller dev_configure() requests (struct cdx_device_config, include/linux/cdx/cdx_bus.h).
enum class DevConfig { kReset, kBusMasterEnable, kBusMasterDisable, kMsiEnable, kMsiDisable };

// The outcome of one DMA access. Everything but kOk is a device-visible DMA error (what an
// IOMMU fault or a bus error response looks like to the device).
enum class DmaResult {
  kOk,
  kUnmapped,      // no translation: IOVA not mapped, or the device has no DMA domain at all
                  // (not attached, no container/IOAS, noiommu)
  kPermission,    // mapped, but without READ (device reads) / WRITE (device writes) permission
  kBusMasterOff,  // the controller has bus mastering disabled for the device
  kHostFault,     // translated, but the process memory behind the mapping is gone (the mock cannot
                  // pin pages: a user munmap() of a still-mapped DMA buffer lands here)
};

// The errno MockKernel::DmaRead/DmaWrite return for a result: 0, -EFAULT, -EACCES, -EPERM, -EIO.
int DmaResultErrno(DmaResult r);

class DeviceModel {
 public:
  using Poll = std::chrono::microseconds;
  static constexpr Poll kPollInterval{100};  // register poll period while a model is watching
  static constexpr Poll kIdle{-1};           // Step(): nothing to watch; sleep until Wake()
  static constexpr Poll kAgain{0};           // Step(): more work now (the mutex is released briefly)

  // Checks that `spec` suits its model (name known, region 0 large enough). 0, or -EINVAL with *why.
  static int Validate(const DeviceSpec& spec, std::string* why);
  // The model named spec.model, or null for "" (plain memory: no model, no thread).
  static std::unique_ptr<DeviceModel> Create(MockKernel::Impl* kernel, CdxDevice* dev);

  DeviceModel(MockKernel::Impl* kernel, CdxDevice* dev) : kernel_(kernel), dev_(dev) {}
  virtual ~DeviceModel();
  DeviceModel(const DeviceModel&) = delete;
  DeviceModel& operator=(const DeviceModel&) = delete;

  // ---- hooks, called with Impl::mu held on the thread that caused the event
  // Power-on: the regions have just got their initial contents.
  virtual void PowerOn() {}
  // A successful dev_configure(), after the generic state (dev->bus_master, dev->msi_enabled,
  // dev->resets) changed. For kReset the regions have already been restored to their initial
  // contents; the model puts its registers to their reset values.
  virtual void Configure(DevConfig /*type*/) {}
  // MSI_CONF: the controller programs vector `vector` with address/data (cdx_msi_write_msg()).
  virtual void MsiWriteMsg(uint32_t /*vector*/, uint64_t /*addr*/, uint32_t /*data*/) {}
  // The device sent an MSI (any source, MockKernel::RaiseMsi too); `total` counts them.
  virtual void MsiRaised(uint64_t /*total*/) {}
  // ---- the device's own activity, on its thread with Impl::mu held. Returns how long to wait
  // before the next call: kPollInterval while watching registers, kAgain to continue a transfer
  // at once, kIdle to sleep until the next hook (Wake()).
  virtual Poll Step() = 0;

  // ---- thread control. Start/Wake/RequestStop with Impl::mu held, Join without it. Virtual so
  // that a model may run its own thread instead of the Step() loop (lnic_model.cc); the contract
  // is the same: no thread of the model runs once Join() has returned.
  virtual void Start();
  virtual void Wake();
  virtual void RequestStop();
  virtual void Join();
  virtual bool Joinable() const { return thread_.joinable(); }

 protected:
  // Region 0 registers, 32-bit little-endian, atomic (the user's mapping shares the memory).
  // Offsets outside region 0 read as 0 and ignore writes.
  uint32_t Reg(uint32_t off) const;
  void SetReg(uint32_t off, uint32_t value);
  // Stores `desired` only if the register still holds `expected` (no user write in between).
  bool CasReg(uint32_t off, uint32_t expected, uint32_t desired);
  // Stores `value` and returns what the register held (a read-and-clear doorbell).
  uint32_t XchgReg(uint32_t off, uint32_t value);
  // DMA by the device: IOVA → process memory through the device's IOMMU domain.
  DmaResult Dma(uint64_t iova, void* buf, size_t len, bool write);
  // True while some file has the device open (its registers can be mapped and written).
  bool DeviceOpen() const;
  size_t Region0Size() const;

  MockKernel::Impl* const kernel_;
  CdxDevice* const dev_;

 private:
  void ThreadMain();

  std::thread thread_;
  std::condition_variable cv_;  // waits on Impl::mu
  bool stop_ = false;
  bool woken_ = false;
};

// The models (cdx_test_model.cc, axi_cdma_model.cc, lnic_model.cc).
std::unique_ptr<DeviceModel> NewCdxTestModel(MockKernel::Impl* kernel, CdxDevice* dev);
std::unique_ptr<DeviceModel> NewAxiCdmaModel(MockKernel::Impl* kernel, CdxDevice* dev);
std::unique_ptr<DeviceModel> NewLnicModel(MockKernel::Impl* kernel, CdxDevice* dev);  // lnic_model.cc

}  // namespace mock
}  // namespace vfiocdx
