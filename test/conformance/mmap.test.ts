// mmap of the device fd (vfio_cdx_mmap / vfio_cdx_mmap_mmio, drivers/vfio/cdx/main.c).
import * as assert from 'node:assert/strict';
import { DEV0, DEV1, PAGE, probeBug, regionSize, useEnv } from '../helpers/target';
import { E, SYS } from '../helpers/raw-open';
import { WHERE_BINDABLE, describeWhen } from '../helpers/pending';

describeWhen(!probeBug, 'mmap of the device fd (vfio_cdx_mmap, K-CDX-10)', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });
  const R = () => SYS.PROT_READ!;
  const RW = () => SYS.PROT_READ! | SYS.PROT_WRITE!;
  const page = PAGE;
  const dev1Pages = regionSize(65536) / PAGE;  // DEV1's 64 KiB region in kernel pages
  const region = (i: number) => BigInt(i) << 40n;

  function mmapRc(fd: number, offset: bigint, length: number, prot: number, flags = SYS.MAP_SHARED!): number {
    const { raw } = env();
    const m = raw.mmap(fd, offset, length, prot, flags);
    if (m.result === 0) raw.munmap(m.address, length);
    return m.result;
  }

  it('maps a read-write region read-write', function () {
    using dev = env().bus.open(DEV0);
    assert.equal(mmapRc(dev.fd, region(0), page, RW()), 0);
  });

  it('maps a read-only region for reading, and refuses PROT_WRITE with EPERM, MAP_PRIVATE too', function () {
    using dev = env().bus.open(DEV0);
    assert.equal(mmapRc(dev.fd, region(1), page, R()), 0);
    assert.equal(mmapRc(dev.fd, region(1), page, RW()), -E.EPERM);
    assert.equal(mmapRc(dev.fd, region(1), page, RW(), SYS.MAP_PRIVATE!), -E.EPERM);
  });

  it('refuses a region without the MMAP flag (2 KiB: not page sized) with EINVAL', function () {
    using dev = env().bus.open(DEV1);
    assert.equal(mmapRc(dev.fd, region(1), page, R()), -E.EINVAL);
  });

  it('refuses an index past the last region with EINVAL', function () {
    using dev = env().bus.open(DEV0);
    assert.equal(mmapRc(dev.fd, region(5), page, R()), -E.EINVAL);
  });

  it('refuses a mapping that runs past the end of the region with EINVAL', function () {
    using dev = env().bus.open(DEV0);
    assert.equal(mmapRc(dev.fd, region(0), 2 * page, R()), -E.EINVAL);
    using dev1 = env().bus.open(DEV1);
    assert.equal(mmapRc(dev1.fd, region(0) + BigInt((dev1Pages - 1) * page), 2 * page, R()), -E.EINVAL);
  });

  it('allows a partial mapping at any page offset inside a region', function () {
    using dev = env().bus.open(DEV1);
    const first = Math.min(3, dev1Pages - 1);  // with 64 KiB pages the region is a single page
    const pages = Math.min(2, dev1Pages - first);
    assert.equal(mmapRc(dev.fd, region(0) + BigInt(first * page), pages * page, RW()), 0);
  });

  it('refuses an offset that is not page aligned, and length 0, with EINVAL (mmap(2))', function () {
    using dev = env().bus.open(DEV0);
    assert.equal(mmapRc(dev.fd, region(0) + 8n, page, R()), -E.EINVAL);
    assert.equal(mmapRc(dev.fd, region(0), 0, R()), -E.EINVAL);
  });
});
