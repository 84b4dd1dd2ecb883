// Device DMA through the IOMMU: the cdx-test device's bus-master copy engine
// (fixtures/cdx-test-devices.json, DMA_* registers) copies DMA_LEN bytes from
// IOVA DMA_SRC to IOVA DMA_DST through the IOMMU domain the device is attached
// to — the type1 container's, the iommufd IOAS's, none for a no-IOMMU group —
// and reports DMA_STATUS = DONE or ERROR | errno. On the mock this is the
// cdx-test model; in the VM the simulated controller translates with
// iommu_iova_to_phys() through the real SMMUv3 driver's page tables.
import * as assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Device, DmaBuffer, Mapping } from '../../lib';
import { DEV0, DMA, PAGE, REG, probeBug, useEnv } from '../helpers/target';
import { C, E, struct } from '../helpers/raw-open';
import { WHERE_BINDABLE, WHERE_CDEV, WHERE_IOMMU, describeWhen, skipHere } from '../helpers/pending';

const EFAULT = 14;

interface Job {
  src: bigint;
  dst: bigint;
  len: number;
  irq?: boolean;
  vector?: number;
  /** Start with Mapping.doorbell32 (store barrier, then the store) instead of write32. */
  doorbell?: boolean;
}

/** Programs one job (sources, length, then DMA_CTRL = GO last) and returns DMA_DONE before it. */
function start(regs: Mapping, job: Job): number {
  const done = regs.read32(REG.DMA_DONE);
  regs.write32(REG.DMA_SRC_LO, Number(job.src & 0xffffffffn));
  regs.write32(REG.DMA_SRC_HI, Number(job.src >> 32n));
  regs.write32(REG.DMA_DST_LO, Number(job.dst & 0xffffffffn));
  regs.write32(REG.DMA_DST_HI, Number(job.dst >> 32n));
  regs.write32(REG.DMA_LEN, job.len);
  const irq = job.irq ? DMA.ctrlIrq | ((job.vector ?? 0) << DMA.ctrlVectorShift) : 0;
  if (job.doorbell) regs.doorbell32(REG.DMA_CTRL, DMA.ctrlGo | irq);
  else regs.write32(REG.DMA_CTRL, DMA.ctrlGo | irq);
  return done;
}

/**
 * Waits until the device has finished the job (DMA_DONE moved) and returns DMA_STATUS. The
 * device works on its own clock (a poll), so this polls too; the bound only catches a device
 * that never answers (a hang guard two orders of magnitude above a job's time even under TCG
 * on a loaded host), it is no timing assertion.
 */
async function finish(regs: Mapping, before: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  while (regs.read32(REG.DMA_DONE) === before) {
    if (Date.now() > deadline) throw new Error('the copy engine never finished the job (DMA_DONE unchanged)');
    await sleep(1);
  }
  return regs.read32(REG.DMA_STATUS);
}

const run = async (regs: Mapping, job: Job) => finish(regs, start(regs, job));
const failed = (errno: number) => (DMA.statusError | errno) >>> 0;

function fill(buf: DmaBuffer, seed: number): void {
  for (let i = 0; i < buf.size; i++) buf.bytes[i] = (i * 7 + seed) & 0xff;
}

describeWhen(!probeBug, 'device DMA through the IOMMU (the cdx-test copy engine)', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });

  /** The device, opened the default way, with its registers mapped and bus mastering on. */
  function open(): { dev: Device; regs: Mapping } {
    const dev = env().bus.open(DEV0);
    const regs = dev.regions[0]!.map();
    dev.busMaster.set(true);
    return { dev, regs };
  }

  it('copies between two DMA buffers through the IOMMU, then raises the completion MSI', async function () {
    const { dev, regs } = open();
    using _dev = dev;
    if (dev.noiommu) skipHere(this, WHERE_IOMMU);  // nothing can be mapped: checked below
    using src = dev.dma.alloc(3 * 4096);
    using dst = dev.dma.alloc(3 * 4096);
    fill(src, 3);
    dst.bytes.fill(0);
    const [v1] = dev.msi.enable(2).slice(1);
    const irq = v1!.wait();
    const before = start(regs, { src: src.iova + 100n, dst: dst.iova + 8n, len: 2 * 4096 + 60, irq: true, vector: 1 });
    assert.equal(await irq, 1, 'vector 1 fired once');
    assert.equal(regs.read32(REG.DMA_DONE), before + 1, 'DMA_DONE and DMA_STATUS are written before the MSI');
    assert.equal(regs.read32(REG.DMA_STATUS), DMA.statusDone);
    assert.deepEqual(dst.bytes.subarray(8, 8 + 2 * 4096 + 60), src.bytes.subarray(100, 100 + 2 * 4096 + 60));
    assert.equal(dst.bytes[7], 0, 'nothing before the destination');
    assert.equal(dst.bytes[8 + 2 * 4096 + 60], 0, 'nothing after it');
  });

  it('doorbell32 (store barrier, then the store): what the CPU wrote just before it is what the device copies',
    async function () {
      const { dev, regs } = open();
      using _dev = dev;
      if (dev.noiommu) skipHere(this, WHERE_IOMMU);
      using src = dev.dma.alloc(4096);
      using dst = dev.dma.alloc(4096);
      const words = new Uint32Array(src.bytes.buffer, src.bytes.byteOffset, 1024);
      for (let round = 1; round <= 8; round++) {
        words.fill(0x01010101 * round);
        const before = start(regs, { src: src.iova, dst: dst.iova, len: 4096, doorbell: true });
        assert.equal(await finish(regs, before), DMA.statusDone);
        assert.ok(dst.bytes.subarray(0, 4096).every((b) => b === round), `round ${round}: the device copied the bytes of this round`);
      }
    });

  it('takes the job: DMA_CTRL reads 0 once the device has it', async function () {
    const { dev, regs } = open();
    using _dev = dev;
    if (dev.noiommu) skipHere(this, WHERE_IOMMU);
    using a = dev.dma.alloc(4096);
    assert.equal(await run(regs, { src: a.iova, dst: a.iova + 2048n, len: 16 }), DMA.statusDone);
    assert.equal(regs.read32(REG.DMA_CTRL), 0);
  });

  it('refuses while bus mastering is off: ERROR | EPERM, nothing copied', async function () {
    const { dev, regs } = open();
    using _dev = dev;
    dev.busMaster.set(false);
    if (dev.noiommu) {
      assert.equal(await run(regs, { src: 0x100000n, dst: 0x200000n, len: 64 }), failed(E.EPERM));
      return;
    }
    using src = dev.dma.alloc(4096);
    using dst = dev.dma.alloc(4096);
    fill(src, 9);
    dst.bytes.fill(0);
    assert.equal(await run(regs, { src: src.iova, dst: dst.iova, len: src.size }), failed(E.EPERM));
    assert.ok(dst.bytes.every((b) => b === 0));
    dev.busMaster.set(true);
    assert.equal(await run(regs, { src: src.iova, dst: dst.iova, len: src.size }), DMA.statusDone);
    assert.deepEqual(dst.bytes, src.bytes);
  });

  it('a length of 0 or above the maximum is refused with EINVAL', async function () {
    const { dev, regs } = open();
    using _dev = dev;
    assert.equal(await run(regs, { src: 0x100000n, dst: 0x200000n, len: 0 }), failed(E.EINVAL));
    assert.equal(await run(regs, { src: 0x100000n, dst: 0x200000n, len: DMA.maxLength + 1 }), failed(E.EINVAL));
  });

  it('faults (EFAULT) on an IOVA nothing is mapped at; without an IOMMU domain every IOVA faults', async function () {
    const { dev, regs } = open();
    using _dev = dev;
    if (dev.noiommu) {
      assert.equal(await run(regs, { src: 0x100000n, dst: 0x200000n, len: 64 }), failed(EFAULT));
      return;
    }
    using a = dev.dma.alloc(4096);
    const ranges = dev.dma.ranges;
    const hole = (ranges[ranges.length - 1]!.last - 0xfffffn) & ~BigInt(PAGE - 1);  // far above anything allocated
    assert.equal(await run(regs, { src: a.iova, dst: hole, len: 64 }), failed(EFAULT));
    assert.equal(await run(regs, { src: hole, dst: a.iova, len: 64 }), failed(EFAULT));
    assert.equal(await run(regs, { src: a.iova, dst: a.iova + BigInt(a.size) - 32n, len: 64 }), failed(EFAULT),
      'a copy that runs past the end of a mapping');
  });

  it('faults after free(): the IOVA is unmapped before the memory goes', async function () {
    const { dev, regs } = open();
    using _dev = dev;
    if (dev.noiommu) skipHere(this, WHERE_IOMMU);
    using src = dev.dma.alloc(4096);
    const dst = dev.dma.alloc(4096);
    const iova = dst.iova;
    assert.equal(await run(regs, { src: src.iova, dst: iova, len: 128 }), DMA.statusDone);
    dst.free();
    assert.equal(await run(regs, { src: src.iova, dst: iova, len: 128 }), failed(EFAULT));
    assert.equal(await run(regs, { src: iova, dst: src.iova, len: 128 }), failed(EFAULT));
  });

  it('on the cdev path, DETACH_IOMMUFD_PT leaves the device in the blocking domain: DMA faults', async function () {
    const { dev, regs } = open();
    using _dev = dev;
    if (dev.path !== 'cdev') skipHere(this, WHERE_CDEV);
    using src = dev.dma.alloc(4096);
    using dst = dev.dma.alloc(4096);
    assert.equal(await run(regs, { src: src.iova, dst: dst.iova, len: 256 }), DMA.statusDone);
    const { raw } = env();
    assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_DETACH_IOMMUFD_PT!, struct('vfio_device_detach_iommufd_pt').bytes), 0);
    assert.equal(await run(regs, { src: src.iova, dst: dst.iova, len: 256 }), failed(EFAULT));
  });
});
