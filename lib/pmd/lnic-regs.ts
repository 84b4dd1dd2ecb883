/**
 * The register map and descriptor format of `lnic`, the simulated loopback NIC of the mock kernel
 * (docs/lnic.md). lnic is a device invented for this project: no public CDX design has a
 * descriptor-ring NIC. The same numbers, for C, are in src-native/mock/lnic_regs.h.
 */

/** CDX vendor and device id of an lnic. */
export const LNIC_VENDOR = 0x10ee;
export const LNIC_DEVICE = 0xf1c0;

/** Global registers: byte offsets in region 0 (32-bit little-endian). */
export const REG = {
  ID: 0x000,
  VERSION: 0x004,
  CAPS: 0x008,
  CTRL: 0x00c,
  STATUS: 0x010,
  ERR: 0x014,
  ERR_IOVA_LO: 0x018,
  ERR_IOVA_HI: 0x01c,
  MAC_LO: 0x020,
  MAC_HI: 0x024,
  MAX_FRAME: 0x028,
  GEN_PPS: 0x030,
  GEN_LEN: 0x034,
  GEN_FLOWS: 0x038,
  INT_CAUSE: 0x080,
  INT_ENABLE: 0x084,
  INT_VEC: 0x088,
  ITR: 0x08c,
  INT_CLEAR: 0x090,
} as const;

/** 64-bit counters: read each with one 64-bit load (Mapping.read64). */
export const STAT = {
  RX_PKTS: 0x100,
  RX_BYTES: 0x108,
  TX_PKTS: 0x110,
  TX_BYTES: 0x118,
  RX_DROP_NODESC: 0x120,
  RX_DROP_ERR: 0x128,
  TX_DROP_LINK: 0x130,
} as const;

/** Queue register blocks and the offsets inside a block. */
export const TXQ = 0x1000;
export const RXQ = 0x1040;
export const Q = {
  BASE_LO: 0x00,
  BASE_HI: 0x04,
  SIZE: 0x08,
  CTRL: 0x0c,
  PIDX: 0x10,
  CIDX: 0x14,
  HWB_LO: 0x18,
  HWB_HI: 0x1c,
} as const;

export const ID_VALUE = 0x4c4e4943;  // "LNIC"
export const RING_MIN = 64;
export const RING_MAX = 4096;

export const CTRL_ENABLE = 1 << 0;
export const CTRL_RESET = 1 << 1;
export const CTRL_MODE_SHIFT = 4;
export const MODE_LOOPBACK = 0;
export const MODE_GENERATOR = 1;
export const MODE_SINK = 2;
export const CTRL_LINK_FORCE_DOWN = 1 << 8;

export const STATUS_LINK_UP = 1 << 0;
export const STATUS_READY = 1 << 1;
export const STATUS_TX_RUN = 1 << 2;
export const STATUS_RX_RUN = 1 << 3;
export const STATUS_HALTED = 1 << 4;

export const ERR_TX_DESC_FAULT = 1 << 0;
export const ERR_TX_BUF_FAULT = 1 << 1;
export const ERR_RX_DESC_FAULT = 1 << 2;
export const ERR_RX_BUF_FAULT = 1 << 3;
export const ERR_BUS_MASTER_OFF = 1 << 4;
export const ERR_BAD_LEN = 1 << 5;
export const ERR_RING_CONFIG = 1 << 6;
export const ERR_PIDX_OVERRUN = 1 << 7;
export const ERR_HWB_FAULT = 1 << 8;

export const CAUSE_RX = 1 << 0;
export const CAUSE_TX = 1 << 1;
export const CAUSE_LINK = 1 << 2;
export const CAUSE_ERR = 1 << 3;

export const QCTRL_ENABLE = 1 << 0;
export const QCTRL_HWB = 1 << 1;
export const QCTRL_DROP_EN = 1 << 2;

export const MAX_FRAME_DEFAULT = 1518;
export const MAX_FRAME_LIMIT = 9018;

/** Descriptors: 16 bytes, four 32-bit words. */
export const DESC_SIZE = 16;
export const DESC_ADDR_LO = 0;
export const DESC_ADDR_HI = 1;
export const DESC_LEN = 2;
/** Word 3 holds `id | flags << 16`. */
export const DESC_ID_FLAGS = 3;
export const FLAG_DD = 1 << 0;
export const FLAG_EOP = 1 << 1;
export const FLAG_RS = 1 << 2;
export const FLAG_ERR = 1 << 8;

/** Offset of the generator's sequence number (u32 LE) in its frames: the UDP payload. */
export const GEN_SEQ_OFFSET = 42;
