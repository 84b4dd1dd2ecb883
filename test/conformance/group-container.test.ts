// The legacy path: container (drivers/vfio/container.c) and group (drivers/vfio/group.c).
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEV0, DEV1, makeEnv, probeBug, useEnv } from '../helpers/target';
import { C, E, SYS, containerIsIommufd, getDeviceFd, groupNode, openGroup, struct, type1IovaRanges } from '../helpers/raw-open';
import { WHERE_BINDABLE, WHERE_COMPAT, describeWhen } from '../helpers/pending';

// With CONFIG_IOMMUFD_VFIO_CONTAINER, /dev/vfio/vfio is an iommufd and its container ioctls are
// iommufd's vfio_compat.c (on the compat IOAS a group creates), not container.c's.
const compat = containerIsIommufd(makeEnv().raw);
const ENODEV = 19;

describeWhen(!probeBug, 'VFIO container and group (container.c, group.c)', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });
  const RW = () => SYS.O_RDWR! | SYS.O_CLOEXEC!;

  describe('container (K-CONT-1..4)', function () {
    it('VFIO_GET_API_VERSION returns 0', function () {
      const { raw } = env();
      const c = raw.open('/dev/vfio/vfio', RW());
      assert.equal(raw.ioctl(c, C.VFIO_GET_API_VERSION!), 0);
      raw.close(c);
    });

    it('VFIO_CHECK_EXTENSION never fails: 0 for what no driver offers', function () {
      const { raw } = env();
      const c = raw.open('/dev/vfio/vfio', RW());
      assert.equal(raw.ioctl(c, C.VFIO_CHECK_EXTENSION!, 0x7777), 0);
      assert.equal(raw.ioctl(c, C.VFIO_CHECK_EXTENSION!, C.VFIO_TYPE1v2_IOMMU!), 1);
      raw.close(c);
    });

    it(compat ? 'VFIO_SET_IOMMU without a group is ENODEV (iommufd: no compat IOAS yet)' : 'VFIO_SET_IOMMU without a group is EINVAL',
      function () {
        const { raw } = env();
        const c = raw.open('/dev/vfio/vfio', RW());
        assert.equal(raw.ioctl(c, C.VFIO_SET_IOMMU!, C.VFIO_TYPE1v2_IOMMU!), compat ? -ENODEV : -E.EINVAL);
        raw.close(c);
      });

    it(compat ? 'an IOMMU ioctl before a group is attached is ENODEV (iommufd: no compat IOAS)'
      : 'an IOMMU ioctl before an IOMMU driver is set is EINVAL, not ENOTTY', function () {
      const { raw } = env();
      const c = raw.open('/dev/vfio/vfio', RW());
      const info = struct('vfio_iommu_type1_info');
      assert.equal(raw.ioctl(c, C.VFIO_IOMMU_GET_INFO!, info.bytes), compat ? -ENODEV : -E.EINVAL);
      raw.close(c);
    });

    it(compat ? 'VFIO_SET_IOMMU a second time succeeds (iommufd keeps no driver state)' : 'VFIO_SET_IOMMU a second time is EINVAL',
      function () {
        const { raw } = env();
        const g = openGroup(raw, DEV0);
        const type = g.noiommu ? C.VFIO_NOIOMMU_IOMMU! : C.VFIO_TYPE1v2_IOMMU!;
        assert.equal(raw.ioctl(g.container, C.VFIO_SET_IOMMU!, type), compat ? 0 : -E.EINVAL);
        g.close();
      });

    it(compat ? 'VFIO_SET_IOMMU with a type iommufd does not emulate is EINVAL' : 'VFIO_SET_IOMMU with a driver no one offers is ENODEV',
      function () {
        const { raw } = env();
        const g = openGroup(raw, DEV0, false);
        assert.equal(raw.ioctl(g.container, C.VFIO_SET_IOMMU!, 0x7777), compat ? -E.EINVAL : -E.ENODEV);
        g.close();
      });
  });

  describe('group (K-GROUP-1..7)', function () {
    it('is named /dev/vfio/noiommu-N exactly when the group is a no-IOMMU group', function () {
      const { raw } = env();
      const { n, node, noiommu } = groupNode(raw, DEV0);
      assert.equal(node, noiommu ? `/dev/vfio/noiommu-${n}` : `/dev/vfio/${n}`);
      const name = raw.readFile(`/sys/kernel/iommu_groups/${n}/name`);
      if (noiommu) assert.equal(name, 'vfio-noiommu\n');
    });

    it('has one opener at a time: a second open is EBUSY', function () {
      const { raw } = env();
      const { node } = groupNode(raw, DEV0);
      const a = raw.open(node, RW());
      assert.ok(a >= 0);
      assert.equal(raw.open(node, RW()), -E.EBUSY);
      raw.close(a);
      const b = raw.open(node, RW());
      assert.ok(b >= 0);
      raw.close(b);
    });

    it('VFIO_GROUP_GET_STATUS: VIABLE, then VIABLE|CONTAINER_SET', function () {
      const { raw } = env();
      const { node } = groupNode(raw, DEV0);
      const c = raw.open('/dev/vfio/vfio', RW());
      const g = raw.open(node, RW());
      const st = struct('vfio_group_status');
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_GET_STATUS!, st.bytes), 0);
      assert.equal(st.get('flags'), C.VFIO_GROUP_FLAGS_VIABLE);
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_SET_CONTAINER!, new Int32Array([c])), 0);
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_GET_STATUS!, st.bytes), 0);
      assert.equal(st.get('flags'), C.VFIO_GROUP_FLAGS_VIABLE! | C.VFIO_GROUP_FLAGS_CONTAINER_SET!);
      raw.close(g);
      raw.close(c);
    });

    it('VFIO_GROUP_GET_STATUS: argsz < 8 is EINVAL, a bad pointer EFAULT', function () {
      const { raw } = env();
      const { node } = groupNode(raw, DEV0);
      const g = raw.open(node, RW());
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_GET_STATUS!, struct('vfio_group_status', { argsz: 4 }).bytes), -E.EINVAL);
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_GET_STATUS!, 0n), -E.EFAULT);
      raw.close(g);
    });

    it('VFIO_GROUP_SET_CONTAINER: EFAULT for a bad pointer, EBADF for a closed fd, EBADFD for a non-container', function () {
      const { raw } = env();
      const { node } = groupNode(raw, DEV0);
      const g = raw.open(node, RW());
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_SET_CONTAINER!, 0n), -E.EFAULT);
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_SET_CONTAINER!, new Int32Array([100000])), -E.EBADF);
      const efd = raw.eventfd(0, SYS.EFD_CLOEXEC!);
      assert.equal(raw.ioctl(g, C.VFIO_GROUP_SET_CONTAINER!, new Int32Array([efd])), -E.EBADFD);
      raw.close(efd);
      raw.close(g);
    });

    it('VFIO_GROUP_SET_CONTAINER on a group that has one is EINVAL', function () {
      const { raw } = env();
      const grp = openGroup(raw, DEV0);
      const c2 = raw.open('/dev/vfio/vfio', RW());
      assert.equal(raw.ioctl(grp.group, C.VFIO_GROUP_SET_CONTAINER!, new Int32Array([c2])), -E.EINVAL);
      raw.close(c2);
      grp.close();
    });

    it(compat ? 'VFIO_GROUP_GET_DEVICE_FD needs a container (EINVAL before); an iommufd one needs no SET_IOMMU'
      : 'VFIO_GROUP_GET_DEVICE_FD needs a container and an IOMMU driver: EINVAL before either', function () {
      const { raw } = env();
      const { node } = groupNode(raw, DEV0);
      const g = raw.open(node, RW());
      assert.equal(getDeviceFd(raw, g, DEV0), -E.EINVAL);
      raw.close(g);
      const grp = openGroup(raw, DEV0, false);
      const fd = getDeviceFd(raw, grp.group, DEV0);
      if (compat) {
        assert.ok(fd >= 0, `GET_DEVICE_FD: ${fd}`);
        raw.close(fd);
      } else {
        assert.equal(fd, -E.EINVAL);
      }
      grp.close();
    });

    it('VFIO_GROUP_GET_DEVICE_FD of a name not in the group is ENODEV, of a bad pointer EFAULT', function () {
      const { raw } = env();
      const grp = openGroup(raw, DEV0);
      assert.equal(getDeviceFd(raw, grp.group, DEV1), -E.ENODEV);
      assert.equal(getDeviceFd(raw, grp.group, 'cdx-00:0'), -E.ENODEV);
      assert.equal(raw.ioctl(grp.group, C.VFIO_GROUP_GET_DEVICE_FD!, 0n), -E.EFAULT);
      grp.close();
    });

    it('VFIO_GROUP_GET_DEVICE_FD returns an O_RDWR|O_CLOEXEC fd', function () {
      const { raw } = env();
      const grp = openGroup(raw, DEV0);
      const fd = getDeviceFd(raw, grp.group, DEV0);
      assert.ok(fd >= 0);
      const flags = Number.parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      assert.equal(flags & SYS.O_CLOEXEC!, SYS.O_CLOEXEC);
      assert.equal(flags & 3, SYS.O_RDWR);
      raw.close(fd);
      grp.close();
    });

    it(compat ? 'VFIO_GROUP_UNSET_CONTAINER of an iommufd succeeds even with a device fd open; then EINVAL'
      : 'VFIO_GROUP_UNSET_CONTAINER: EBUSY while a device fd is open, EINVAL when none is set', function () {
      const { raw } = env();
      const grp = openGroup(raw, DEV0);
      const fd = getDeviceFd(raw, grp.group, DEV0);
      if (compat) {
        assert.equal(raw.ioctl(grp.group, C.VFIO_GROUP_UNSET_CONTAINER!), 0);
        raw.close(fd);
      } else {
        assert.equal(raw.ioctl(grp.group, C.VFIO_GROUP_UNSET_CONTAINER!), -E.EBUSY);
        raw.close(fd);
        assert.equal(raw.ioctl(grp.group, C.VFIO_GROUP_UNSET_CONTAINER!), 0);
      }
      assert.equal(raw.ioctl(grp.group, C.VFIO_GROUP_UNSET_CONTAINER!), -E.EINVAL);
      grp.close();
    });

    it('an unknown ioctl on a group is ENOTTY', function () {
      const { raw } = env();
      const grp = openGroup(raw, DEV0);
      assert.equal(raw.ioctl(grp.group, C.VFIO_DEVICE_GET_INFO!, struct('vfio_device_info').bytes), -E.ENOTTY);
      grp.close();
    });
  });
});

// IOMMUFD_VFIO_CONTAINER: the differences from VFIO's own type1 container that a library must
// respect (vfio_compat.c). Pending where /dev/vfio/vfio is VFIO's.
describeWhen(!(probeBug || !compat), 'the iommufd-provided /dev/vfio/vfio (IOMMUFD_VFIO_CONTAINER, K-COMPAT-1)', WHERE_COMPAT, function () {
  const env = useEnv({ bind: true });

  it('reports one full IOVA range until a device fd is opened; then the windows leave out the MSI window', function () {
    const { raw } = env();
    const g = openGroup(raw, DEV0);
    assert.ok(!g.noiommu);
    assert.deepEqual(type1IovaRanges(raw, g.container), [{ start: 0n, end: (1n << 64n) - 1n }]);
    const fd = getDeviceFd(raw, g.group, DEV0);
    assert.ok(fd >= 0);
    const ranges = type1IovaRanges(raw, g.container)!;
    assert.ok(ranges.length >= 2, 'the device\'s reserved regions now cut the space');
    assert.ok(ranges.every((r) => r.end < 0x8000000n || r.start > 0x80fffffn), 'no range touches the MSI window');
    raw.close(fd);
    g.close();
  });

  it('CHECK_EXTENSION(NOIOMMU) is 1 although the group is a real one (/dev/vfio/N): only the node name tells', function () {
    const { raw } = env();
    const g = openGroup(raw, DEV0);
    assert.equal(g.node, `/dev/vfio/${g.groupNumber}`);
    assert.equal(raw.ioctl(g.container, C.VFIO_CHECK_EXTENSION!, C.VFIO_NOIOMMU_IOMMU!), 1);
    assert.equal(raw.ioctl(g.container, C.VFIO_CHECK_EXTENSION!, C.VFIO_TYPE1v2_IOMMU!), 1);
    g.close();
  });

  it('the library opens through it and allocates DMA inside the windows read after the device fd opened', function () {
    using dev = env().bus.open(DEV0, { path: 'group' });
    assert.equal(dev.noiommu, false);
    const ranges = dev.dma.ranges;
    assert.ok(ranges.every((r) => r.last < 0x8000000n || r.start > 0x80fffffn));
    using buf = dev.dma.alloc(4096);
    assert.ok(ranges.some((r) => buf.iova >= r.start && buf.iova + 4095n <= r.last));
  });
});
