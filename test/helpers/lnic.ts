/** An lnic device on a mock kernel, stepped, with a port or with bare rings, for tests. */
import { CdxBus, type Device, type DmaBuffer, type Mapping } from '../../lib';
import { MockKernel, type LnicControl, type MockProfile } from '../../lib/mock';
import { LnicPort, type LnicPortOptions } from '../../lib/pmd';
import * as R from '../../lib/pmd/lnic-regs';

export { R };

/** A kernel with one bound lnic, cdx-00:00, two MSI vectors, 64 KiB of registers. */
export function lnicKernel(profile: MockProfile = 'linux-6.12'): MockKernel {
  return MockKernel.create({
    profile,
    devices: [{ dev: 0, deviceId: R.LNIC_DEVICE, model: 'lnic', msiCount: 2, regions: [{ size: 0x10000 }], bound: true }],
  });
}

export interface Rig {
  kernel: MockKernel;
  ctl: LnicControl;
  step: (budget?: number, advanceNs?: number) => number;
  dev: Device;
}

/** The kernel, the device open, the model stepped. */
export function rig(profile: MockProfile = 'linux-6.12'): Rig {
  const kernel = lnicKernel(profile);
  const ctl = kernel.device('cdx-00:00').lnic;
  ctl.setScheduler('stepped');
  const dev = new CdxBus({ kernel }).open('cdx-00:00');
  return { kernel, ctl, step: ctl.step, dev };
}

/** An LnicPort on a stepped rig; the model's clock moves 1 µs per tick while the port waits. */
export function portRig(options: LnicPortOptions = {}, profile: MockProfile = 'linux-6.12'): Rig & { port: LnicPort } {
  const r = rig(profile);
  const port = LnicPort.open(r.dev, { tick: () => r.step(64, 1000), ...options });
  return { ...r, port };
}

/** Bare rings programmed by hand: for tests that write descriptors and registers themselves. */
export interface BareRings {
  regs: Mapping;
  mem: DmaBuffer;      // TX ring at 0, RX ring at 0x1000, HWB slots at 0x2000 / 0x2040
  pool: DmaBuffer;     // 64 buffers of 2 KiB
  tx: Int32Array;
  rx: Int32Array;
  lo(x: bigint): number;
  hi(x: bigint): number;
  /** Writes TX descriptor `slot` for pool buffer `buf` (or a raw IOVA). */
  txDesc(slot: number, buf: number | bigint, len: number, flags?: number): void;
  rxDesc(slot: number, buf: number | bigint, cap?: number): void;
}

export function bareRings(r: Rig, size = 64, qctrl = R.QCTRL_ENABLE | R.QCTRL_HWB): BareRings {
  const regs = r.dev.regions[0]!.map();
  regs.write32(R.REG.CTRL, R.CTRL_RESET);
  while (regs.read32(R.REG.STATUS) !== R.STATUS_READY) r.step(64, 1000);
  r.dev.busMaster.set(true);
  const mem = r.dev.dma.alloc(0x3000);
  const pool = r.dev.dma.alloc(64 * 2048);
  const lo = (x: bigint) => Number(x & 0xffffffffn);
  const hi = (x: bigint) => Number(x >> 32n);
  const addr = (b: number | bigint) => (typeof b === 'bigint' ? b : pool.iova + BigInt(b * 2048));
  const tx = new Int32Array(mem.bytes.buffer, 0, size * 4);
  const rx = new Int32Array(mem.bytes.buffer, 0x1000, size * 4);
  for (const [block, off, hwb] of [[R.TXQ, 0n, 0x2000n], [R.RXQ, 0x1000n, 0x2040n]] as const) {
    regs.write32(block + R.Q.BASE_LO, lo(mem.iova + off));
    regs.write32(block + R.Q.BASE_HI, hi(mem.iova + off));
    regs.write32(block + R.Q.SIZE, size);
    regs.write32(block + R.Q.HWB_LO, lo(mem.iova + hwb));
    regs.write32(block + R.Q.HWB_HI, hi(mem.iova + hwb));
    regs.write32(block + R.Q.CTRL, qctrl);
  }
  return {
    regs, mem, pool, tx, rx, lo, hi,
    txDesc(slot, buf, len, flags = 0) {
      const a = addr(buf);
      const w = (slot % size) * 4;
      tx[w] = lo(a); tx[w + 1] = hi(a); tx[w + 2] = len; tx[w + 3] = (typeof buf === 'number' ? buf : 0) | flags << 16;
    },
    rxDesc(slot, buf, cap = 2048) {
      const a = addr(buf);
      const w = (slot % size) * 4;
      rx[w] = lo(a); rx[w + 1] = hi(a); rx[w + 2] = cap; rx[w + 3] = typeof buf === 'number' ? buf : 0;
    },
  };
}

/** A deterministic PRNG (xorshift32) for tests that write arbitrary values. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}
