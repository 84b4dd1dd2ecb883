// The AXI CDMA example driver against the mock's axi-cdma model: DMA through
// the mock IOMMU, completion and error MSIs. (Mock only: the VM tier has no
// IOMMU, so nothing can be DMA-mapped there.)
import * as assert from 'node:assert/strict';
import { CdxBus } from '../../lib';
import { MockKernel, type MockProfile } from '../../lib/mock';
import { AxiCdma, CdmaError, SR_DEC_ERR, SR_ERR_IRQ, SR_SLV_ERR } from '../../examples/axi-cdma';

for (const profile of ['linux-6.12', 'cdev'] as MockProfile[]) {
  describe(`AXI CDMA driver on the mock (${profile}: ${profile === 'cdev' ? 'iommufd IOAS_MAP' : 'type1 MAP_DMA'})`, function () {
    let kernel: MockKernel;
    let cdma: AxiCdma;
    beforeEach(function () {
      kernel = MockKernel.create({
        profile,
        devices: [{ dev: 0, deviceId: 0x8084, model: 'axi-cdma', msiCount: 1, regions: [{ size: 0x10000 }], bound: true }],
      });
      // No time limits in a test: a busy machine may delay the model's thread, never fail the test.
      cdma = new AxiCdma(new CdxBus({ kernel }).open('cdx-00:00'), { timeout: Infinity });
    });
    afterEach(function () {
      cdma.close();
    });

    it('copies between two DMA buffers and signals completion with MSI vector 0', async function () {
      using src = cdma.device.dma.alloc(3 * 4096);
      using dst = cdma.device.dma.alloc(3 * 4096);
      for (let i = 0; i < src.size; i++) src.bytes[i] = (i * 31) & 0xff;
      await cdma.copy(src, dst, src.size);
      assert.deepEqual(Buffer.from(dst.bytes), Buffer.from(src.bytes));
      assert.equal(kernel.device('cdx-00:00').dmaErrors, 0);
    });

    it('an unmapped source IOVA is a decode error, with the error interrupt', async function () {
      using dst = cdma.device.dma.alloc(4096);
      dst.bytes.fill(0xee);
      await assert.rejects(cdma.copy(0x7f000000n, dst, 4096), (e: unknown) => {
        assert.ok(e instanceof CdmaError);
        assert.ok(e.status & SR_DEC_ERR);
        assert.ok(e.status & SR_ERR_IRQ);
        return true;
      });
      assert.equal(dst.bytes[0], 0xee, 'nothing was written');
      assert.ok(kernel.device('cdx-00:00').dmaErrors > 0);
    });

    it('a freed buffer is unmapped from the IOMMU: the engine faults instead of reaching freed memory', async function () {
      using dst = cdma.device.dma.alloc(4096);
      const src = cdma.device.dma.alloc(4096);
      const iova = src.iova;
      src.free();
      await assert.rejects(cdma.copy(iova, dst, 4096), CdmaError);
    });

    it('with bus mastering cleared the engine cannot DMA (slave error)', async function () {
      using src = cdma.device.dma.alloc(4096);
      using dst = cdma.device.dma.alloc(4096);
      src.bytes.fill(1);
      cdma.device.busMaster.set(false);
      await assert.rejects(cdma.copy(src, dst, 4096), (e: unknown) => e instanceof CdmaError && (e.status & SR_SLV_ERR) !== 0);
      assert.equal(dst.bytes[0], 0);
      cdma.reset();
      cdma.device.busMaster.set(true);
      await cdma.copy(src, dst, 4096);
      assert.equal(dst.bytes[4095], 1);
    });

    it('the device side sees the same memory through the IOMMU', function () {
      using buf = cdma.device.dma.alloc(4096);
      buf.bytes.set([1, 2, 3, 4]);
      assert.deepEqual(kernel.device('cdx-00:00').dmaRead(buf.iova, 4), Uint8Array.from([1, 2, 3, 4]));
      assert.equal(kernel.device('cdx-00:00').dmaWrite(buf.iova + 8n, Uint8Array.from([9])), 0);
      assert.equal(buf.bytes[8], 9);
      assert.ok((kernel.device('cdx-00:00').dmaRead(0x7f000000n, 4) as number) < 0);
    });
  });
}

describe('DMA limits on the mock', function () {
  it('RLIMIT_MEMLOCK exhaustion is ENOMEM with a hint naming ulimit -l', function () {
    const kernel = MockKernel.create({ profile: 'linux-6.12', memlockLimit: 64 * 1024,
      devices: [{ dev: 0, deviceId: 1, regions: [{ size: 4096 }], bound: true }] });
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    using a = dev.dma.alloc(32 * 1024);
    void a;
    assert.throws(() => dev.dma.alloc(64 * 1024), (e: unknown) =>
      (e as { code?: string }).code === 'ENOMEM' && /ulimit -l/.test((e as { hint?: string }).hint ?? ''));
    using b = dev.dma.alloc(16 * 1024);
    void b;
  });

  it('type1 refuses mappings past dma_entry_limit with ENOSPC (vfio_iommu_type1)', function () {
    const kernel = MockKernel.create({ profile: 'linux-6.12', dmaEntryLimit: 3,
      devices: [{ dev: 0, deviceId: 1, regions: [{ size: 4096 }], bound: true }] });
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    const bufs = [dev.dma.alloc(4096), dev.dma.alloc(4096), dev.dma.alloc(4096)];
    assert.throws(() => dev.dma.alloc(4096), { code: 'ENOSPC', request: 'VFIO_IOMMU_MAP_DMA' });
    bufs[0]!.free();
    dev.dma.alloc(4096);
  });

  it('a raised MSI is delivered only while the vector has a trigger', async function () {
    const kernel = MockKernel.fixture({ bound: true });
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    assert.equal(kernel.device('cdx-00:00').raiseMsi(1), false, 'MSI not enabled: lost');
    const [, v1] = dev.msi.enable(2);
    const got = v1!.wait();
    assert.equal(kernel.device('cdx-00:00').raiseMsi(1), true);
    assert.equal(await got, 1);
    assert.throws(() => kernel.device('cdx-00:00').raiseMsi(9), { code: 'ERR_OUT_OF_RANGE' });
  });
});
