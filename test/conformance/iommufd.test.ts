// The iommufd ioctl framework and IOAS mapping (drivers/iommu/iommufd/main.c,
// ioas.c, io_pagetable.c), on /dev/iommu itself: no device needs to be
// attached, so this runs wherever CONFIG_IOMMUFD is on (the VM tier included).
import * as assert from 'node:assert/strict';
import { makeEnv } from '../helpers/target';
import { C, E, SYS, struct } from '../helpers/raw-open';
import type { RawKernel } from '../../lib/raw';
import { WHERE_IOMMUFD, describeWhen } from '../helpers/pending';

const EOVERFLOW = 75;
const U64_MAX = (1n << 64n) - 1n;

const hasIommufd = typeof makeEnv().raw.stat('/dev/iommu') !== 'number';

describeWhen(hasIommufd, 'iommufd IOAS (drivers/iommu/iommufd, K-IOMMUFD-1..4)', WHERE_IOMMUFD, function () {
  let raw: RawKernel;
  let fd: number;
  let mem: bigint;
  const LEN = 0x10000;
  beforeEach(function () {
    raw = makeEnv().raw;
    fd = raw.open('/dev/iommu', SYS.O_RDWR! | SYS.O_CLOEXEC!);
    assert.ok(fd >= 0);
    const m = raw.mmap(-1, 0, LEN, SYS.PROT_READ! | SYS.PROT_WRITE!, SYS.MAP_SHARED! | SYS.MAP_ANONYMOUS!);
    assert.equal(m.result, 0);
    mem = m.address;
  });
  afterEach(function () {
    raw.munmap(mem, LEN);
    raw.close(fd);
  });
  const alloc = () => {
    const s = struct('iommu_ioas_alloc');
    assert.equal(raw.ioctl(fd, C.IOMMU_IOAS_ALLOC!, s.bytes), 0);
    return Number(s.get('out_ioas_id'));
  };
  const RW = () => C.IOMMU_IOAS_MAP_READABLE! | C.IOMMU_IOAS_MAP_WRITEABLE!;
  const map = (init: Record<string, number | bigint>) => {
    const s = struct('iommu_ioas_map', { flags: RW() | C.IOMMU_IOAS_MAP_FIXED_IOVA!, user_va: mem, length: 0x1000, ...init });
    return { rc: raw.ioctl(fd, C.IOMMU_IOAS_MAP!, s.bytes), iova: s.get('iova') as bigint };
  };
  const unmap = (ioas: number, iova: bigint, length: bigint) => {
    const s = struct('iommu_ioas_unmap', { ioas_id: ioas, iova, length });
    return { rc: raw.ioctl(fd, C.IOMMU_IOAS_UNMAP!, s.bytes), length: s.get('length') as bigint };
  };

  it('IOAS_ALLOC with flags is EOPNOTSUPP; a size below the minimum EINVAL', function () {
    assert.equal(raw.ioctl(fd, C.IOMMU_IOAS_ALLOC!, struct('iommu_ioas_alloc', { flags: 1 }).bytes), -E.EOPNOTSUPP);
    assert.equal(raw.ioctl(fd, C.IOMMU_IOAS_ALLOC!, struct('iommu_ioas_alloc', { size: 8 }).bytes), -E.EINVAL);
    assert.equal(raw.ioctl(fd, C.IOMMU_IOAS_ALLOC!, 0n), -E.EFAULT);
  });

  it('a size beyond the struct is accepted with a zero tail and E2BIG with a non-zero one', function () {
    const ok = struct('iommu_ioas_alloc', {}, 8);
    assert.equal(raw.ioctl(fd, C.IOMMU_IOAS_ALLOC!, ok.bytes), 0);
    const bad = struct('iommu_ioas_alloc', {}, 8);
    bad.bytes[15] = 1;
    assert.equal(raw.ioctl(fd, C.IOMMU_IOAS_ALLOC!, bad.bytes), -E.E2BIG);
  });

  it('IOAS_MAP: unknown flags or __reserved are EOPNOTSUPP, no permission EINVAL, an unknown IOAS ENOENT, length 0 EINVAL', function () {
    const ioas = alloc();
    assert.equal(map({ ioas_id: ioas, flags: RW() | 0x100 }).rc, -E.EOPNOTSUPP);
    assert.equal(map({ ioas_id: ioas, __reserved: 1 }).rc, -E.EOPNOTSUPP);
    assert.equal(map({ ioas_id: ioas, flags: C.IOMMU_IOAS_MAP_FIXED_IOVA! }).rc, -E.EINVAL);
    assert.equal(map({ ioas_id: ioas + 1000 }).rc, -E.ENOENT);
    assert.equal(map({ ioas_id: ioas, length: 0 }).rc, -E.EINVAL);
    assert.equal(map({ ioas_id: ioas, iova: U64_MAX }).rc, -EOVERFLOW);
  });

  it('IOAS_MAP with FIXED_IOVA maps there; any overlap is EEXIST; without it the kernel picks the IOVA', function () {
    const ioas = alloc();
    assert.deepEqual(map({ ioas_id: ioas, iova: 0x100000n, length: 0x2000 }), { rc: 0, iova: 0x100000n });
    assert.equal(map({ ioas_id: ioas, iova: 0x101000n }).rc, -E.EEXIST);
    const picked = map({ ioas_id: ioas, flags: RW(), iova: 0n });
    assert.equal(picked.rc, 0);
    assert.ok(picked.iova >= 0x102000n || picked.iova + 0x1000n <= 0x100000n, 'a free IOVA');
  });

  it('IOAS_UNMAP: splitting a mapping or unmapping nothing is ENOENT; (0, U64_MAX) unmaps all, even nothing', function () {
    const ioas = alloc();
    assert.equal(map({ ioas_id: ioas, iova: 0x100000n, length: 0x2000 }).rc, 0);
    assert.equal(map({ ioas_id: ioas, iova: 0x200000n, length: 0x1000 }).rc, 0);
    assert.equal(unmap(ioas, 0x101000n, 0x1000n).rc, -E.ENOENT);
    assert.equal(unmap(ioas, 0x400000n, 0x1000n).rc, -E.ENOENT);
    assert.deepEqual(unmap(ioas, 0n, U64_MAX), { rc: 0, length: 0x3000n });
    assert.deepEqual(unmap(ioas, 0n, U64_MAX), { rc: 0, length: 0n }, 'iopt_unmap_all: empty is success');
    assert.equal(unmap(ioas, U64_MAX - 1n, 0x1000n).rc, -EOVERFLOW);
  });

  it('IOMMU_DESTROY of an unknown id is ENOENT; of an IOAS, 0', function () {
    const ioas = alloc();
    assert.equal(raw.ioctl(fd, C.IOMMU_DESTROY!, struct('iommu_destroy', { id: ioas + 1000 }).bytes), -E.ENOENT);
    assert.equal(raw.ioctl(fd, C.IOMMU_DESTROY!, struct('iommu_destroy', { id: ioas }).bytes), 0);
  });
});
