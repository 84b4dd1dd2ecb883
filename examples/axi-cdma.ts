/**
 * A userspace driver for an AXI CDMA copy engine (simple mode, AMD PG034) on
 * the CDX bus, in TypeScript: program the registers through the mapping, hand
 * the engine IOVAs of DMA buffers, wait for its completion MSI.
 *
 *   node node_modules/vfio-cdx/dist/examples/axi-cdma.js             # installed: on the mock
 *   node node_modules/vfio-cdx/dist/examples/axi-cdma.js cdx-00:00   # a real AXI CDMA bound to vfio-cdx
 *
 * It imports the package by its name, as your own driver would; copy it as a starting point.
 */
import { CdxBus, type Device, type DmaBuffer, type Mapping, type MsiVector } from 'vfio-cdx';
import { MockKernel } from 'vfio-cdx/mock';

export const CDMACR = 0x00;
export const CDMASR = 0x04;
export const SA = 0x18;
export const SA_MSB = 0x1c;
export const DA = 0x20;
export const DA_MSB = 0x24;
export const BTT = 0x28;

export const CR_RESET = 1 << 2;
export const CR_IOC_IRQ_EN = 1 << 12;
export const CR_ERR_IRQ_EN = 1 << 14;
export const SR_IDLE = 1 << 1;
export const SR_INT_ERR = 1 << 4;
export const SR_SLV_ERR = 1 << 5;
export const SR_DEC_ERR = 1 << 6;
export const SR_IOC_IRQ = 1 << 12;
export const SR_ERR_IRQ = 1 << 14;

/** A transfer the engine reported as failed. */
export class CdmaError extends Error {
  constructor(readonly status: number) {
    const kinds = [[SR_INT_ERR, 'internal'], [SR_SLV_ERR, 'slave'], [SR_DEC_ERR, 'decode']] as const;
    const names = kinds.filter(([bit]) => status & bit).map(([, n]) => n);
    super(`AXI CDMA transfer failed: ${names.join(', ') || 'unknown'} error (CDMASR 0x${status.toString(16)})`);
    this.name = 'CdmaError';
  }
}

/** Options of {@link AxiCdma}. */
export interface AxiCdmaOptions {
  /** Milliseconds to wait for the engine's reset and for each transfer (default 1000; Infinity: no limit). */
  timeout?: number;
}

/** The driver. One transfer at a time (simple mode). */
export class AxiCdma {
  readonly #regs: Mapping;
  readonly #irq: MsiVector;
  readonly #timeout: number;

  constructor(readonly device: Device, options: AxiCdmaOptions = {}) {
    this.#timeout = options.timeout ?? 1000;
    this.#regs = device.regions[0]!.map();
    [this.#irq] = device.msi.enable(1) as [MsiVector];
    device.busMaster.set(true);
    this.reset();
  }

  /** Soft reset; the engine clears the bit when it is done (readl_poll_timeout on CDMACR). */
  reset(): void {
    this.#regs.write32(CDMACR, CR_RESET);
    this.#regs.poll32Sync(CDMACR, { mask: CR_RESET, value: 0, timeout: this.#timeout, interval: 10, name: 'CDMACR' });
  }

  /** Copies `length` bytes from `src` to `dst` by DMA; resolves on the completion interrupt. */
  async copy(src: DmaBuffer | bigint, dst: DmaBuffer | bigint, length: number, signal?: AbortSignal): Promise<void> {
    const from = typeof src === 'bigint' ? src : src.iova;
    const to = typeof dst === 'bigint' ? dst : dst.iova;
    const r = this.#regs;
    r.write32(CDMACR, CR_IOC_IRQ_EN | CR_ERR_IRQ_EN);
    r.write32(SA, Number(from & 0xffffffffn));
    r.write32(SA_MSB, Number(from >> 32n));
    r.write32(DA, Number(to & 0xffffffffn));
    r.write32(DA_MSB, Number(to >> 32n));
    const limit = signal ?? (Number.isFinite(this.#timeout) ? AbortSignal.timeout(this.#timeout) : undefined);
    const done = this.#irq.wait(limit === undefined ? {} : { signal: limit });
    r.write32(BTT, length);  // starts the transfer
    await done;
    const status = r.read32(CDMASR);
    r.write32(CDMASR, status & (SR_IOC_IRQ | SR_ERR_IRQ));  // write 1 to clear the interrupt bits
    if (status & (SR_INT_ERR | SR_SLV_ERR | SR_DEC_ERR)) throw new CdmaError(status);
  }

  /** The status register. */
  get status(): number {
    return this.#regs.read32(CDMASR);
  }

  close(): void {
    this.device.close();
  }
}

async function main(): Promise<void> {
  const name = process.argv[2];
  const onHardware = name !== undefined;
  const kernel = onHardware ? undefined : MockKernel.create({
    profile: 'linux-6.12',
    devices: [{ dev: 0, vendorId: 0x10ee, deviceId: 0x8084, model: 'axi-cdma', msiCount: 1, regions: [{ size: 0x10000 }], bound: true }],
  });
  if (!onHardware) console.log('no device named: running on a mock AXI CDMA (vfio-cdx/mock, linux-6.12 profile)');
  const bus = new CdxBus({ kernel });
  const cdma = new AxiCdma(bus.open(name ?? 'cdx-00:00'));
  try {
    using src = cdma.device.dma.alloc(1 << 16);
    using dst = cdma.device.dma.alloc(1 << 16);
    for (let i = 0; i < src.size; i++) src.bytes[i] = (i * 7 + 3) & 0xff;
    const t0 = process.hrtime.bigint();
    await cdma.copy(src, dst, src.size);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    const same = Buffer.compare(Buffer.from(src.bytes), Buffer.from(dst.bytes)) === 0;
    console.log(`copied ${src.size} bytes from IOVA 0x${src.iova.toString(16)} to 0x${dst.iova.toString(16)} in ${us.toFixed(0)} us: ${same ? 'identical' : 'MISMATCH'}`);
    if (!same) process.exitCode = 1;
  } finally {
    cdma.close();
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
