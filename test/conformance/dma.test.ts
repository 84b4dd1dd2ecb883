// DMA: VFIO_IOMMU_MAP_DMA / UNMAP_DMA on a type1 container (vfio_iommu_type1.c)
// and IOMMU_IOAS_MAP / UNMAP on iommufd (iommufd/ioas.c). A no-IOMMU group has
// no translation, so on such a kernel (the VM tier's) only the refusal is
// checked; the mapping rules run where an IOMMU exists (the mock's profiles).
import * as assert from 'node:assert/strict';
import { DEV0, PAGE, probeBug, useEnv } from '../helpers/target';

const P = BigInt(PAGE);  // the kernel's page, the smallest IOMMU page on these kernels
import { C, E, SYS, containerIsIommufd, openGroup, struct } from '../helpers/raw-open';
import type { RawKernel } from '../../lib/raw';
import { WHERE_BINDABLE, WHERE_IOMMU, WHERE_NOIOMMU, WHERE_TYPE1, describeWhen, skipHere } from '../helpers/pending';

describeWhen(!probeBug, 'DMA through the IOMMU', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });

  it('a no-IOMMU group refuses DMA buffers (no translation); with an IOMMU they map inside the windows', function () {
    using dev = env().bus.open(DEV0);
    if (dev.noiommu) {
      assert.throws(() => dev.dma.alloc(4096), { code: 'ERR_VFIO_NO_IOMMU_DMA' });
      assert.throws(() => dev.dma.ranges, { code: 'ERR_VFIO_NO_IOMMU_DMA' });
      return;
    }
    const ranges = dev.dma.ranges;
    assert.ok(ranges.length > 0);
    using a = dev.dma.alloc(5000);
    using b = dev.dma.alloc(4096);
    assert.equal(a.size, Math.ceil(5000 / PAGE) * PAGE, 'rounded up to pages');
    assert.ok(ranges.some((r) => a.iova >= r.start && a.iova + BigInt(a.size) - 1n <= r.last));
    assert.ok(a.iova + BigInt(a.size) <= b.iova || b.iova + BigInt(b.size) <= a.iova, 'IOVAs do not overlap');
    assert.notEqual(a.iova, 0n);
    a.bytes.fill(0x5a);
    assert.equal(a.bytes[a.size - 1], 0x5a);
  });

  it('free() unmaps and detaches the bytes; closing the device frees the rest', function () {
    const dev = env().bus.open(DEV0);
    if (dev.noiommu) {
      dev.close();
      skipHere(this, WHERE_IOMMU);  // nothing can be mapped (checked by the test above)
    }
    const a = dev.dma.alloc(4096);
    const bytes = a.bytes;
    a.free();
    assert.equal(bytes.byteLength, 0);
    assert.equal(a.live, false);
    assert.throws(() => a.bytes, { code: 'ERR_VFIO_CLOSED' });
    a.free();
    const b = dev.dma.alloc(4096);
    const bb = b.bytes;
    dev.close();
    assert.equal(bb.byteLength, 0);
    assert.equal(b.live, false);
  });
});

describeWhen(!probeBug, 'VFIO_IOMMU_MAP_DMA / UNMAP_DMA rules (type1v2, K-TYPE1-2..4, K-CONT-6)', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });
  let mem: { raw: RawKernel; address: bigint; length: number }[] = [];
  afterEach(function () {
    for (const m of mem) m.raw.munmap(m.address, m.length);
    mem = [];
  });
  function anon(raw: RawKernel, length: number): bigint {
    const m = raw.mmap(-1, 0, length, SYS.PROT_READ! | SYS.PROT_WRITE!, SYS.MAP_SHARED! | SYS.MAP_ANONYMOUS!);
    assert.equal(m.result, 0);
    mem.push({ raw, address: m.address, length });
    return m.address;
  }
  const map = (raw: RawKernel, c: number, vaddr: bigint, iova: bigint, size: bigint, flags = 3) =>
    raw.ioctl(c, C.VFIO_IOMMU_MAP_DMA!, struct('vfio_iommu_type1_dma_map', { flags, vaddr, iova, size }).bytes);
  const unmap = (raw: RawKernel, c: number, iova: bigint, size: bigint, flags = 0) => {
    const s = struct('vfio_iommu_type1_dma_unmap', { flags, iova, size });
    return { rc: raw.ioctl(c, C.VFIO_IOMMU_UNMAP_DMA!, s.bytes), size: s.get('size') };
  };

  // A type1 container with the device's group attached; pending on a kernel
  // without an IOMMU (its container has the no-IOMMU driver instead), and where
  // /dev/vfio/vfio is iommufd's: these are vfio_iommu_type1.c's rules.
  function type1(ctx: Mocha.Context): { raw: RawKernel; c: number; close(): void } {
    const { raw } = env();
    if (containerIsIommufd(raw)) skipHere(ctx, WHERE_TYPE1);
    const g = openGroup(raw, DEV0);
    if (g.noiommu) {
      g.close();
      skipHere(ctx, WHERE_TYPE1);
    }
    return { raw, c: g.container, close: () => g.close() };
  }

  it('a no-IOMMU container answers the IOMMU ioctls with ENOTTY (container.c)', function () {
    const { raw } = env();
    const g = openGroup(raw, DEV0);
    if (!g.noiommu) {
      g.close();
      skipHere(this, WHERE_NOIOMMU);
    }
    assert.equal(map(raw, g.container, 0n, 0n, 4096n), -E.ENOTTY);
    assert.equal(raw.ioctl(g.container, C.VFIO_IOMMU_GET_INFO!, struct('vfio_iommu_type1_info').bytes), -E.ENOTTY);
    g.close();
  });

  it('maps page-aligned ranges; misaligned size/iova/vaddr, size 0 or no permission are EINVAL', function () {
    const t = type1(this);
    const va = anon(t.raw, 4 * PAGE);
    assert.equal(map(t.raw, t.c, va, 0x100000n, P), 0);
    assert.equal(map(t.raw, t.c, va, 0x200000n, P / 2n), -E.EINVAL);
    assert.equal(map(t.raw, t.c, va, 0x200000n + P / 2n, P), -E.EINVAL);
    assert.equal(map(t.raw, t.c, va + 8n, 0x200000n, P), -E.EINVAL);
    assert.equal(map(t.raw, t.c, va, 0x200000n, 0n), -E.EINVAL);
    assert.equal(map(t.raw, t.c, va, 0x200000n, P, 0), -E.EINVAL);
    assert.equal(map(t.raw, t.c, va, 0x200000n, P, 0x80), -E.EINVAL);
    t.close();
  });

  it('any overlap with an existing mapping is EEXIST', function () {
    const t = type1(this);
    const va = anon(t.raw, 4 * PAGE);
    assert.equal(map(t.raw, t.c, va, 0x100000n, 2n * P), 0);
    assert.equal(map(t.raw, t.c, va, 0x100000n + P, 2n * P), -E.EEXIST);
    assert.equal(map(t.raw, t.c, va, 0x100000n - P, 2n * P), -E.EEXIST);
    t.close();
  });

  it('unmap returns the bytes unmapped; an empty range succeeds with size 0; bisecting a mapping is EINVAL', function () {
    const t = type1(this);
    const va = anon(t.raw, 4 * PAGE);
    assert.equal(map(t.raw, t.c, va, 0x100000n, 2n * P), 0);
    assert.deepEqual(unmap(t.raw, t.c, 0x100000n + P, P), { rc: -E.EINVAL, size: P });
    assert.deepEqual(unmap(t.raw, t.c, 0x500000n, P), { rc: 0, size: 0n });
    assert.deepEqual(unmap(t.raw, t.c, 0x100000n, 2n * P), { rc: 0, size: 2n * P });
    t.close();
  });

  it('VFIO_IOMMU_GET_INFO reports page sizes and rewrites argsz when the capabilities do not fit', function () {
    const t = type1(this);
    const info = struct('vfio_iommu_type1_info');
    assert.equal(t.raw.ioctl(t.c, C.VFIO_IOMMU_GET_INFO!, info.bytes), 0);
    assert.ok(Number(info.get('flags')) & C.VFIO_IOMMU_INFO_PGSIZES!);
    assert.ok(Number(info.get('argsz')) > 24, 'argsz now says how much the capability chain needs');
    assert.equal(t.raw.ioctl(t.c, C.VFIO_IOMMU_GET_INFO!, struct('vfio_iommu_type1_info', { argsz: 12 }).bytes), -E.EINVAL);
    t.close();
  });
});
