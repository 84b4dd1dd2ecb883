// lnic_regs.h — the register map and descriptor format of `lnic`, the simulated loopback NIC
// (docs/lnic.md). lnic is a device invented for this project: no public CDX design has a
// descriptor-ring NIC. The model (lnic_model.cc) and the C reference driver (bench/native) use
// this header; the TypeScript driver has the same numbers in lib/pmd/lnic-regs.ts.
//
// Region 0 holds 32-bit little-endian registers (64 KiB recommended, so that the region can be
// mapped on 64 KiB-page kernels; the model needs the first kLnicRegionMin bytes).
#pragma once

#include <cstdint>

namespace vfiocdx {
namespace lnic {

constexpr uint16_t kVendor = 0x10ee;
constexpr uint16_t kDevice = 0xf1c0;  // no AMD/Xilinx CDX or PCI device uses it
constexpr uint32_t kRegionMin = 0x1060;

// ---- global registers
constexpr uint32_t kId = 0x000;          // RO "LNIC"
constexpr uint32_t kVersion = 0x004;     // RO
constexpr uint32_t kCaps = 0x008;        // RO
constexpr uint32_t kCtrl = 0x00c;        // RW
constexpr uint32_t kStatus = 0x010;      // RO
constexpr uint32_t kErr = 0x014;         // RO, sticky until reset
constexpr uint32_t kErrIovaLo = 0x018;   // RO: the first faulting IOVA
constexpr uint32_t kErrIovaHi = 0x01c;
constexpr uint32_t kMacLo = 0x020;       // RW: station MAC bytes 0..3
constexpr uint32_t kMacHi = 0x024;       // RW: bytes 4..5 in [15:0]
constexpr uint32_t kMaxFrame = 0x028;    // RW
constexpr uint32_t kGenPps = 0x030;      // RW: generator packets/s, 0 = as fast as RX buffers allow
constexpr uint32_t kGenLen = 0x034;      // RW: generator frame length
constexpr uint32_t kGenFlows = 0x038;    // RW: UDP flows the generator rotates through
constexpr uint32_t kIntCause = 0x080;    // RO: pending causes
constexpr uint32_t kIntEnable = 0x084;   // RW
constexpr uint32_t kIntVec = 0x088;      // RW: [3:0] RX vector, [7:4] TX, [11:8] misc (link, error)
constexpr uint32_t kItr = 0x08c;         // RW: [15:0] threshold, [31:16] delay in µs
constexpr uint32_t kIntClear = 0x090;    // W1C strobe for INT_CAUSE; reads 0 once applied
// 64-bit counters, each published with one 64-bit store: read them with one 64-bit load.
constexpr uint32_t kStatRxPkts = 0x100;
constexpr uint32_t kStatRxBytes = 0x108;
constexpr uint32_t kStatTxPkts = 0x110;
constexpr uint32_t kStatTxBytes = 0x118;
constexpr uint32_t kStatRxDropNoDesc = 0x120;
constexpr uint32_t kStatRxDropErr = 0x128;
constexpr uint32_t kStatTxDropLink = 0x130;
constexpr uint32_t kStatCount = 7;

// ---- queue blocks (TX at kTxq, RX at kRxq), offsets inside a block
constexpr uint32_t kTxq = 0x1000;
constexpr uint32_t kRxq = 0x1040;
constexpr uint32_t kQBaseLo = 0x00;  // RW: ring IOVA, 64-byte aligned
constexpr uint32_t kQBaseHi = 0x04;
constexpr uint32_t kQSize = 0x08;    // RW: entries, a power of two in [kRingMin, kRingMax]
constexpr uint32_t kQCtrl = 0x0c;    // RW
constexpr uint32_t kQPidx = 0x10;    // RW: the doorbell, a free-running count of entries posted
constexpr uint32_t kQCidx = 0x14;    // RO: free-running count of entries completed, in order
constexpr uint32_t kQHwbLo = 0x18;   // RW: IOVA of a 4-byte slot that receives CIDX by DMA
constexpr uint32_t kQHwbHi = 0x1c;

// ---- values
constexpr uint32_t kIdValue = 0x4c4e4943;  // "LNIC"
constexpr uint32_t kVersionValue = 0x00010000;
constexpr uint32_t kRingMinLog2 = 6;
constexpr uint32_t kRingMaxLog2 = 12;
constexpr uint32_t kCapsQueuePairs = 1;
constexpr uint32_t kCapsRsCoalescing = 1u << 16;
constexpr uint32_t kCapsHeadWriteBack = 1u << 17;
constexpr uint32_t kCapsGenerator = 1u << 18;
constexpr uint32_t kCapsSimulated = 1u << 19;
constexpr uint32_t kCapsValue = kCapsQueuePairs | kRingMinLog2 << 8 | kRingMaxLog2 << 12 | kCapsRsCoalescing |
                                kCapsHeadWriteBack | kCapsGenerator | kCapsSimulated;

constexpr uint32_t kCtrlEnable = 1u << 0;
constexpr uint32_t kCtrlReset = 1u << 1;  // self-clearing: reads 1 until the reset is done
constexpr uint32_t kCtrlModeShift = 4;
constexpr uint32_t kCtrlModeMask = 3u << kCtrlModeShift;
constexpr uint32_t kModeLoopback = 0;
constexpr uint32_t kModeGenerator = 1;
constexpr uint32_t kModeSink = 2;
constexpr uint32_t kCtrlLinkForceDown = 1u << 8;

constexpr uint32_t kStatusLinkUp = 1u << 0;
constexpr uint32_t kStatusReady = 1u << 1;
constexpr uint32_t kStatusTxRun = 1u << 2;
constexpr uint32_t kStatusRxRun = 1u << 3;
constexpr uint32_t kStatusHalted = 1u << 4;
constexpr uint32_t kStatusSpeedShift = 16;
constexpr uint32_t kSpeed10G = 100;  // in 100 Mb/s units

constexpr uint32_t kErrTxDescFault = 1u << 0;
constexpr uint32_t kErrTxBufFault = 1u << 1;
constexpr uint32_t kErrRxDescFault = 1u << 2;
constexpr uint32_t kErrRxBufFault = 1u << 3;
constexpr uint32_t kErrBusMasterOff = 1u << 4;
constexpr uint32_t kErrBadLen = 1u << 5;
constexpr uint32_t kErrRingConfig = 1u << 6;
constexpr uint32_t kErrPidxOverrun = 1u << 7;
constexpr uint32_t kErrHwbFault = 1u << 8;

constexpr uint32_t kCauseRx = 1u << 0;
constexpr uint32_t kCauseTx = 1u << 1;
constexpr uint32_t kCauseLink = 1u << 2;
constexpr uint32_t kCauseErr = 1u << 3;
constexpr uint32_t kCauseAll = 0xf;

constexpr uint32_t kQCtrlEnable = 1u << 0;
constexpr uint32_t kQCtrlHwb = 1u << 1;
constexpr uint32_t kQCtrlDropEn = 1u << 2;  // RX only

constexpr uint32_t kMaxFrameDefault = 1518;
constexpr uint32_t kMaxFrameLimit = 9018;
constexpr uint32_t kMinFrame = 60;
constexpr uint32_t kIntVecDefault = 0x100;  // RX and TX on vector 0, misc on vector 1
constexpr uint32_t kItrDefault = 1;         // threshold 1, no delay: every completion signals

// ---- descriptors: 16 bytes, 16-byte aligned, the same for TX and RX
//   +0  addr_lo   buffer IOVA
//   +4  addr_hi
//   +8  len       TX: frame length; RX: buffer capacity, replaced by the frame length
//   +12 id | flags << 16   id: the driver's cookie, preserved; flags below
constexpr uint32_t kDescSize = 16;
constexpr uint32_t kDescAddrLo = 0;
constexpr uint32_t kDescAddrHi = 4;
constexpr uint32_t kDescLen = 8;
constexpr uint32_t kDescIdFlags = 12;
constexpr uint32_t kFlagDd = 1u << 0;    // descriptor done: set by the device; the driver posts 0
constexpr uint32_t kFlagEop = 1u << 1;   // RX: end of packet (always, one buffer per frame)
constexpr uint32_t kFlagRs = 1u << 2;    // TX: report status (write DD back for this descriptor)
constexpr uint32_t kFlagErr = 1u << 8;   // RX: frame truncated to the buffer (len = bytes written)

// The generator's frames: Ethernet II / IPv4 / UDP, the sequence number (u32 LE) first in the payload.
constexpr uint32_t kGenSeqOffset = 42;
constexpr uint16_t kGenSrcPortBase = 1024;
constexpr uint16_t kGenDstPort = 9;

}  // namespace lnic
}  // namespace vfiocdx
