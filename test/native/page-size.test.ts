// A kernel whose PAGE_SIZE is larger than the host's (arm64 kernels built with 16K or 64K
// pages): the library must take the page size from the kernel it talks to, never from the
// host's sysconf, wherever it aligns offsets, rounds mmap lengths or reports the page size.
import * as assert from 'node:assert/strict';
import { CdxBus } from '../../lib';
import { MockKernel } from '../../lib/mock';
import { abi, RawKernel } from '../../lib/raw';
import { deviceMappings } from '../helpers/process-state';

const SYS = abi().sys;

for (const page of [16384, 65536]) {
  describe(`a kernel with ${page / 1024} KiB pages (mock pageSize ${page})`, function () {
    const make = (): { kernel: MockKernel; bus: CdxBus } => {
      const kernel = MockKernel.create({
        pageSize: page,
        profile: 'linux-6.12',
        devices: [{ dev: 0, deviceId: 7, regions: [{ size: 4 * page }], bound: true }],
      });
      return { kernel, bus: new CdxBus({ kernel }) };
    };

    it('the device reports the kernel\'s page size, and map offsets must be multiples of it', function () {
      const { bus } = make();
      using dev = bus.open('cdx-00:00');
      assert.equal(dev.pageSize, page);
      assert.throws(() => dev.regions[0]!.map({ offset: 4096 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: new RegExp(`page size \\(${page}\\)`) });
      using m = dev.regions[0]!.map({ offset: page, length: 8 });
      m.write32(4, 0x1234);
      assert.equal(m.read32(4), 0x1234);
    });

    it('a mapping shorter than a page covers the whole kernel page, and close() releases it: openCount 0, no mapping left, unbind does not block', function () {
      const { kernel, bus } = make();
      const hw = kernel.device('cdx-00:00');
      const before = deviceMappings().length;
      const dev = bus.open('cdx-00:00');
      const m = dev.regions[0]!.map({ length: 4096 });
      m.write32(0, 0xfeed);
      assert.equal(hw.openCount, 1);
      dev.close();
      assert.equal(hw.openCount, 0, 'the vma of the mapping no longer holds the device file');
      assert.deepEqual(deviceMappings().length, before);
      bus.unbind('cdx-00:00');  // blocks forever while the device file is still referenced
      assert.equal(hw.driver, null);
    });

    it('mmap returns page-aligned addresses; munmap rounds the length up to the kernel page and refuses an unaligned start (EINVAL)', function () {
      const { kernel, bus } = make();
      const hw = kernel.device('cdx-00:00');
      const raw = new RawKernel(kernel);
      using dev = bus.open('cdx-00:00');
      const fd = dev.fd;
      const offset = dev.regions[0]!.offset;
      const r = raw.mmap(fd, offset, 4096, SYS.PROT_READ!, SYS.MAP_SHARED!);
      assert.equal(r.result, 0);
      assert.equal(r.address % BigInt(page), 0n, 'aligned to the kernel page');
      const anon = raw.mmap(-1, 0n, 100, SYS.PROT_READ! | SYS.PROT_WRITE!, SYS.MAP_PRIVATE! | SYS.MAP_ANONYMOUS!);
      assert.equal(anon.result, 0);
      assert.equal(anon.address % BigInt(page), 0n);
      assert.equal(raw.munmap(anon.address + 4096n, 4096), -22, 'start not aligned to the kernel page');
      assert.equal(raw.munmap(anon.address, 100), 0);
      assert.equal(raw.munmap(r.address + 4096n, 4096), -22);
      assert.equal(raw.munmap(r.address, 4096), 0, 'a 4 KiB munmap unmaps the whole kernel page');
      dev.close();
      assert.equal(hw.openCount, 0);
    });

    it('DMA buffers are whole kernel pages at IOVAs aligned to the kernel page', function () {
      const { bus } = make();
      using dev = bus.open('cdx-00:00');
      using b = dev.dma.alloc(100);
      assert.equal(b.size, page);
      assert.equal(b.iova % BigInt(page), 0n);
      assert.equal(b.bytes.byteLength, page);
    });
  });
}
