// The typed API on top of the kernel: what a driver author sees.
import * as assert from 'node:assert/strict';
import { VfioError } from '../../lib';
import { DEV0, DEV1, PAGE, REG, probeBug, regionSize, useEnv } from '../helpers/target';
import { WHERE_BINDABLE, describeWhen } from '../helpers/pending';

const R0 = regionSize(4096);    // DEV0's register region: one 4 KiB page, or one larger kernel page
const R1 = regionSize(65536);   // DEV1's 64 KiB region

const closed = { code: 'ERR_VFIO_CLOSED' };

describeWhen(!probeBug, 'Device, Region and Mapping', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });

  it('opens through the group path when the kernel has no cdev for the device', function () {
    const { bus, raw } = env();
    using dev = bus.open(DEV0);
    const hasCdev = dev.path === 'cdev';
    if (!hasCdev) {
      assert.equal(dev.path, 'group');
      assert.match(dev.node, /^\/dev\/vfio\/(noiommu-)?\d+$/);
      assert.equal(dev.noiommu, dev.node.includes('noiommu'));
      assert.equal(typeof dev.group, 'number');
    } else {
      assert.ok(typeof raw.stat('/dev/iommu') !== 'number');
    }
  });

  it('describes the device: info and regions', function () {
    using dev = env().bus.open(DEV0);
    assert.deepEqual({ ...dev.info }, { flags: 0x101, numRegions: 2, numIrqs: 1, resettable: true });
    assert.equal(dev.regions.length, 2);
    const [r0, r1] = dev.regions;
    assert.deepEqual([r0!.index, r0!.size, r0!.offset, r0!.readable, r0!.writable, r0!.mappable], [0, R0, 0n, true, true, true]);
    assert.deepEqual([r1!.index, r1!.size, r1!.offset, r1!.readable, r1!.writable, r1!.mappable],
      [1, R0, 1n << 40n, true, false, true]);
  });

  it('reads and writes registers with exact-width accessors, in both accessor modes', function () {
    using dev = env().bus.open(DEV0);
    for (const accessor of ['js', 'native'] as const) {
      using regs = dev.regions[0]!.map({ accessor });
      assert.equal(regs.accessor, accessor);
      assert.equal(regs.read32(REG.ID), 0xcd5e0000);
      regs.write32(REG.SCRATCH, 0x11223344);
      assert.equal(regs.read32(REG.SCRATCH), 0x11223344);
      assert.equal(regs.read16(REG.SCRATCH), 0x3344);
      assert.equal(regs.read16(REG.SCRATCH + 2), 0x1122);
      assert.equal(regs.read8(REG.SCRATCH + 3), 0x11);
      regs.write64(REG.SCRATCH + 8, 0x0123456789abcdefn);
      assert.equal(regs.read64(REG.SCRATCH + 8), 0x0123456789abcdefn);
      assert.equal(regs.read32(REG.SCRATCH + 8), 0x89abcdef);
      regs.write16(REG.SCRATCH + 16, 0xbeef);
      regs.write8(REG.SCRATCH + 18, 0x7f);
      assert.equal(regs.read32(REG.SCRATCH + 16), 0x007fbeef);
    }
  });

  it('the read-only region reads its pattern and refuses writes (ERR_VFIO_READ_ONLY), never faulting', function () {
    using dev = env().bus.open(DEV0);
    for (const accessor of ['js', 'native'] as const) {
      using ro = dev.regions[1]!.map({ accessor });
      assert.equal(ro.read32(0), 0xa5000000);
      assert.equal(ro.read32(4 * 17), (0xa5000000 | 17) >>> 0);
      assert.throws(() => ro.write32(0, 1), { code: 'ERR_VFIO_READ_ONLY' });
    }
  });

  it('accessors take naturally aligned, in-bounds offsets only (RangeError) and typed values', function () {
    using dev = env().bus.open(DEV0);
    for (const accessor of ['js', 'native'] as const) {
      using regs = dev.regions[0]!.map({ accessor });
      assert.throws(() => regs.read32(2), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.read64(4), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.read16(1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.read32(R0), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.read32(-4), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.read32(1.5), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.read32('4' as unknown as number), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => regs.write32(0, 2 ** 32), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.write8(0, -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.write64(0, -1n), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => regs.write32(0, '1' as unknown as number), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    }
  });

  it('maps part of a region at a page offset', function () {
    using dev = env().bus.open(DEV1);
    const offset = Math.min(2 * PAGE, R1 - PAGE);  // with 64 KiB pages the region is one page: offset 0
    using a = dev.regions[0]!.map();
    using b = dev.regions[0]!.map({ offset, length: 4096 });
    a.write32(offset + 12, 0xfeedface);
    assert.equal(b.read32(12), 0xfeedface);
    assert.equal(b.length, 4096);
    assert.throws(() => dev.regions[0]!.map({ offset: 100 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => dev.regions[0]!.map({ offset: 0, length: R1 + 1 }), { code: 'ERR_OUT_OF_RANGE' });
  });

  it('a region without MMAP cannot be mapped: the kernel says EINVAL', function () {
    using dev = env().bus.open(DEV1);
    assert.equal(dev.regions[1]!.mappable, false);
    assert.throws(() => dev.regions[1]!.map(), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL' && e.syscall === 'mmap');
  });

  it('the buffer is the mapping itself; unmap detaches it and later access throws ERR_VFIO_CLOSED', function () {
    using dev = env().bus.open(DEV0);
    const regs = dev.regions[0]!.map();
    const buffer = regs.buffer!;
    const view = new Uint32Array(buffer);
    assert.equal(buffer.byteLength, R0);
    assert.equal(view[0], 0xcd5e0000);
    regs.unmap();
    assert.equal(buffer.byteLength, 0);
    assert.equal(view.length, 0);
    assert.equal(regs.mapped, false);
    assert.throws(() => regs.read32(0), closed);
    assert.throws(() => regs.write32(REG.SCRATCH, 1), closed);
    assert.throws(() => regs.buffer, closed);
    regs.unmap();
  });

  it('closing the device unmaps its mappings, detaches their buffers, and makes every call ERR_VFIO_CLOSED', function () {
    const dev = env().bus.open(DEV0);
    const js = dev.regions[0]!.map();
    const nat = dev.regions[0]!.map({ accessor: 'native' });
    const buffer = js.buffer!;
    dev.close();
    assert.equal(dev.closed, true);
    assert.equal(buffer.byteLength, 0);
    assert.throws(() => js.read32(0), closed);
    assert.throws(() => nat.read32(0), closed);
    assert.throws(() => dev.reset(), closed);
    assert.throws(() => dev.fd, closed);
    assert.throws(() => dev.busMaster.supported, closed);
    assert.throws(() => dev.busMaster.set(true), closed);
    assert.throws(() => dev.regions[0]!.map(), closed);
    dev.close();
  });

  it('bus master: supported, and set() reaches the controller', function () {
    using dev = env().bus.open(DEV0);
    using regs = dev.regions[0]!.map();
    assert.equal(dev.busMaster.supported, true);
    dev.busMaster.set(true);
    assert.equal(regs.read32(REG.BUS_MASTER), 1);
    dev.busMaster.set(false);
    assert.equal(regs.read32(REG.BUS_MASTER), 0);
    assert.throws(() => dev.busMaster.set(1 as unknown as boolean), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('errors: bad names are TypeErrors; unknown devices ENOENT; unbound devices ERR_VFIO_NOT_BOUND', function () {
    const { bus } = env();
    assert.throws(() => bus.open(42 as unknown as string), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => bus.open('../../etc'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => bus.open('cdx-00:0A'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => bus.open(DEV0, { path: 'x' as 'auto' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => bus.open('cdx-00:7f'), (e: unknown) =>
      e instanceof VfioError && e.code === 'ENOENT' && e.errno === -2 && e.path === '/sys/bus/cdx/devices/cdx-00:7f');
    bus.unbind(DEV1);
    assert.throws(() => bus.open(DEV1), { code: 'ERR_VFIO_NOT_BOUND' });
  });

  it('errors carry code, negative errno, syscall, request and path, formatted like fs errors', function () {
    using dev = env().bus.open(DEV1);
    try {
      dev.regions[1]!.map();
      assert.fail('expected EINVAL');
    } catch (e) {
      assert.ok(e instanceof VfioError);
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.errno, -22);
      assert.equal(e.syscall, 'mmap');
      assert.match(e.message, /^EINVAL: invalid argument, mmap 'cdx-00:01 region 1'/);
    }
  });

  it('two devices in two groups are open at the same time; each closes independently', function () {
    const { bus } = env();
    using a = bus.open(DEV0);
    const b = bus.open(DEV1);
    b.close();
    assert.equal(a.closed, false);
    using regs = a.regions[0]!.map();
    assert.equal(regs.read32(REG.ID), 0xcd5e0000);
  });
});
