// The cdev + iommufd path (drivers/vfio/device_cdev.c, drivers/iommu/iommufd).
// Only a kernel with CONFIG_IOMMUFD, an IOMMU, and a vfio-cdx that has
// .detach_ioas offers it; the VM tier has no IOMMU, so there it is pending.
import * as assert from 'node:assert/strict';
import { DEV0, makeEnv, probeBug, useEnv } from '../helpers/target';
import { C, E, SYS, struct } from '../helpers/raw-open';
import { WHERE_BINDABLE, WHERE_CDEV, describeWhen, itWhen } from '../helpers/pending';

function cdevAvailable(): boolean {
  const env = makeEnv();
  env.bus.bind(DEV0);
  const vfio = env.bus.device(DEV0).vfioDevice;
  const ok = vfio !== null && typeof env.raw.stat(`/dev/vfio/devices/${vfio}`) !== 'number';
  env.bus.unbind(DEV0);
  return ok;
}

let available = false;
try {
  available = cdevAvailable();
} catch {
  available = false;
}

describeWhen(available, 'VFIO cdev + iommufd (device_cdev.c, K-CDEV-1..3)', WHERE_CDEV, function () {
  const env = useEnv({ bind: true });

  it("'auto' prefers the cdev; the device is usable through it", function () {
    using dev = env().bus.open(DEV0);
    assert.equal(dev.path, 'cdev');
    assert.match(dev.node, /^\/dev\/vfio\/devices\/vfio\d+$/);
    using regs = dev.regions[0]!.map();
    assert.equal(regs.read32(0), 0xcd5e0000);
  });

  it('a cdev fd answers every ioctl but BIND_IOMMUFD with EINVAL until bound, mmap too', function () {
    const { raw, bus } = env();
    const node = `/dev/vfio/devices/${bus.device(DEV0).vfioDevice}`;
    const fd = raw.open(node, SYS.O_RDWR! | SYS.O_CLOEXEC!);
    assert.ok(fd >= 0);
    assert.equal(raw.ioctl(fd, C.VFIO_DEVICE_GET_INFO!, struct('vfio_device_info').bytes), -E.EINVAL);
    assert.equal(raw.mmap(fd, 0n, 4096, SYS.PROT_READ!, SYS.MAP_SHARED!).result, -E.EINVAL);
    assert.equal(raw.read(fd, new Uint8Array(4)), -E.EINVAL);
    raw.close(fd);
  });

  it('BIND_IOMMUFD: flags != 0 or a negative iommufd is EINVAL, a non-iommufd EBADFD, a closed fd EBADF', function () {
    const { raw, bus } = env();
    const node = `/dev/vfio/devices/${bus.device(DEV0).vfioDevice}`;
    const fd = raw.open(node, SYS.O_RDWR! | SYS.O_CLOEXEC!);
    const iommu = raw.open('/dev/iommu', SYS.O_RDWR! | SYS.O_CLOEXEC!);
    const bind = (init: Record<string, number>) => raw.ioctl(fd, C.VFIO_DEVICE_BIND_IOMMUFD!, struct('vfio_device_bind_iommufd', init).bytes);
    assert.equal(bind({ iommufd: iommu, flags: 1 }), -E.EINVAL);
    assert.equal(bind({ iommufd: -1 }), -E.EINVAL);
    const efd = raw.eventfd(0, SYS.EFD_CLOEXEC!);
    assert.equal(bind({ iommufd: efd }), -E.EBADFD);
    assert.equal(bind({ iommufd: 100000 }), -E.EBADF);
    assert.equal(bind({ iommufd: iommu }), 0);
    assert.equal(bind({ iommufd: iommu }), -E.EINVAL, 'already bound');
    raw.close(efd);
    raw.close(fd);
    raw.close(iommu);
  });

  it('only one fd of a device can be bound: a second open through the cdev fails with EINVAL', function () {
    const { bus } = env();
    using a = bus.open(DEV0, { path: 'cdev' });
    assert.throws(() => bus.open(DEV0, { path: 'cdev' }), { code: 'EINVAL', request: 'VFIO_DEVICE_BIND_IOMMUFD' });
    assert.equal(a.closed, false);
  });

  it('the group of a device bound through its cdev cannot be opened: EBUSY', function () {
    const { bus } = env();
    using a = bus.open(DEV0, { path: 'cdev' });
    void a;
    assert.throws(() => bus.open(DEV0, { path: 'group' }), { code: 'EBUSY' });
  });
});

describe('VFIO cdev availability (K-CDEV-4, K-CFG-2)', function () {
  itWhen(!probeBug, available ? 'this kernel offers the cdev path' : 'this kernel has no cdev for vfio-cdx devices: the group path is used',
    WHERE_BINDABLE, function () {
      const env = makeEnv();
      env.bus.bind(DEV0);
      try {
        if (!available) {
          assert.throws(() => env.bus.open(DEV0, { path: 'cdev' }), { code: 'ERR_VFIO_NO_CDEV' });
          using dev = env.bus.open(DEV0);
          assert.equal(dev.path, 'group');
        }
      } finally {
        env.bus.unbind(DEV0);
      }
    });
});
