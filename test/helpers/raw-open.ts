/**
 * Opening a device by hand with raw seam calls — the group/container sequence of
 * Documentation/driver-api/vfio.rst, and the cdev/iommufd one — so conformance tests and the
 * fuzzer can issue ioctls the typed API never would. The one place tests and the fuzzer find a
 * device's group node and tell a no-IOMMU group from a real one, by the node's name as the
 * library does (src-native/iommu_backend.cc) — K-GROUP-7: /dev/vfio/N, else /dev/vfio/noiommu-N.
 *
 * Two layers: `*Steps` functions make the calls and report results as the kernel gave them,
 * never asserting, and hand every descriptor they make to a `keep` callback (the fuzzer tracks
 * them, failures included); the asserting helpers below them are for tests that expect success.
 */
import * as assert from 'node:assert/strict';
import { abi, struct, type RawKernel } from '../../lib/raw';

export const C = abi().constants;
export const SYS = abi().sys;

export interface RawGroup {
  groupNumber: number;
  node: string;
  noiommu: boolean;
  container: number;
  group: number;
  close(): void;
}

export type Keep = (fd: number, kind: 'container' | 'group' | 'device' | 'iommu') => void;

/**
 * The device's group node — /dev/vfio/N, or /dev/vfio/noiommu-N when only that exists (a
 * no-IOMMU group) — or the -errno of reading its iommu_group link (no group: not probed, or no IOMMU).
 */
export function findGroupNode(raw: RawKernel, name: string): { n: number; node: string; noiommu: boolean } | number {
  const link = raw.readLink(`/sys/bus/cdx/devices/${name}/iommu_group`);
  if (typeof link === 'number') return link;
  const n = Number(link.slice(link.lastIndexOf('/') + 1));
  if (raw.stat(`/dev/vfio/${n}`) === -E.ENOENT && typeof raw.stat(`/dev/vfio/noiommu-${n}`) !== 'number') {
    return { n, node: `/dev/vfio/noiommu-${n}`, noiommu: true };
  }
  return { n, node: `/dev/vfio/${n}`, noiommu: false };
}

/**
 * The group path, step by step: open /dev/vfio/vfio and the group node, SET_CONTAINER, SET_IOMMU
 * of the group's kind (its result is not checked: a second group on a container answers EBUSY
 * there), GET_DEVICE_FD. Returns the device fd, or the first failing step's -errno.
 */
export function openGroupPathSteps(raw: RawKernel, name: string, keep: Keep): number {
  const rw = SYS.O_RDWR! | SYS.O_CLOEXEC!;
  const container = raw.open('/dev/vfio/vfio', rw);
  keep(container, 'container');
  const g = findGroupNode(raw, name);
  if (typeof g === 'number') return g;
  const group = raw.open(g.node, rw);
  keep(group, 'group');
  if (group < 0) return group;
  const rc = raw.ioctl(group, C.VFIO_GROUP_SET_CONTAINER!, new Int32Array([container]));
  if (rc < 0) return rc;
  raw.ioctl(container, C.VFIO_SET_IOMMU!, g.noiommu ? C.VFIO_NOIOMMU_IOMMU! : C.VFIO_TYPE1v2_IOMMU!);
  const dev = getDeviceFd(raw, group, name);
  keep(dev, 'device');
  return dev;
}

/**
 * The cdev path, step by step: open the device's /dev/vfio/devices/vfioN (from its vfio-dev
 * directory) and /dev/iommu, BIND_IOMMUFD, IOAS_ALLOC, ATTACH_IOMMUFD_PT (K-CDEV-1..3).
 * Returns the device fd, or the first failing step's -errno.
 */
export function openCdevPathSteps(raw: RawKernel, name: string, keep: Keep): number {
  const rw = SYS.O_RDWR! | SYS.O_CLOEXEC!;
  const list = raw.readDir(`/sys/bus/cdx/devices/${name}/vfio-dev`);
  const node = typeof list === 'number' ? 'vfio0' : list[0] ?? 'vfio0';
  const dev = raw.open(`/dev/vfio/devices/${node}`, rw);
  keep(dev, 'device');
  const iommufd = raw.open('/dev/iommu', rw);
  keep(iommufd, 'iommu');
  const bind = struct('vfio_device_bind_iommufd', { iommufd: iommufd < 0 ? 0xffffffff : iommufd });
  let rc = raw.ioctl(dev, C.VFIO_DEVICE_BIND_IOMMUFD!, bind.bytes);
  if (rc < 0) return rc;
  const ioas = struct('iommu_ioas_alloc');
  rc = raw.ioctl(iommufd, C.IOMMU_IOAS_ALLOC!, ioas.bytes);
  if (rc < 0) return rc;
  rc = raw.ioctl(dev, C.VFIO_DEVICE_ATTACH_IOMMUFD_PT!, struct('vfio_device_attach_iommufd_pt', { pt_id: ioas.get('out_ioas_id') }).bytes);
  return rc < 0 ? rc : dev;
}

/** The device's group node: /dev/vfio/N, or /dev/vfio/noiommu-N for a no-IOMMU group. */
export function groupNode(raw: RawKernel, name: string): { n: number; node: string; noiommu: boolean } {
  const g = findGroupNode(raw, name);
  assert.notEqual(typeof g, 'number', `${name} has an iommu_group link`);
  return g as { n: number; node: string; noiommu: boolean };
}

/** Container + group, attached and with the IOMMU driver set (unless `setIommu` is false). */
export function openGroup(raw: RawKernel, name: string, setIommu = true): RawGroup {
  const { n, node, noiommu } = groupNode(raw, name);
  const container = raw.open('/dev/vfio/vfio', SYS.O_RDWR! | SYS.O_CLOEXEC!);
  assert.ok(container >= 0, `open /dev/vfio/vfio: ${container}`);
  const group = raw.open(node, SYS.O_RDWR! | SYS.O_CLOEXEC!);
  assert.ok(group >= 0, `open ${node}: ${group}`);
  const fdArg = new Int32Array([container]);
  assert.equal(raw.ioctl(group, C.VFIO_GROUP_SET_CONTAINER!, fdArg), 0);
  if (setIommu) {
    const type = noiommu ? C.VFIO_NOIOMMU_IOMMU! : C.VFIO_TYPE1v2_IOMMU!;
    assert.equal(raw.ioctl(container, C.VFIO_SET_IOMMU!, type), 0);
  }
  return {
    groupNumber: n, node, noiommu, container, group,
    close() {
      raw.close(group);
      raw.close(container);
    },
  };
}

/** VFIO_GROUP_GET_DEVICE_FD with a NUL-terminated name. */
export function getDeviceFd(raw: RawKernel, group: number, name: string): number {
  return raw.ioctl(group, C.VFIO_GROUP_GET_DEVICE_FD!, Buffer.from(name + '\0'));
}

/** A device fd on a fresh group/container; close() releases all three. */
export function openDeviceRaw(raw: RawKernel, name: string): RawGroup & { device: number } {
  const g = openGroup(raw, name);
  const device = getDeviceFd(raw, g.group, name);
  assert.ok(device >= 0, `VFIO_GROUP_GET_DEVICE_FD ${name}: ${device}`);
  return {
    ...g, device,
    close() {
      raw.close(device);
      g.close();
    },
  };
}

export { struct };

/**
 * Whether /dev/vfio/vfio is iommufd's (CONFIG_IOMMUFD_VFIO_CONTAINER, VFIO_CONTAINER=n) rather
 * than VFIO's own container: only an iommufd file answers IOMMU_IOAS_ALLOC.
 */
export function containerIsIommufd(raw: RawKernel): boolean {
  const c = raw.open('/dev/vfio/vfio', SYS.O_RDWR! | SYS.O_CLOEXEC!);
  if (c < 0) return false;
  const rc = raw.ioctl(c, C.IOMMU_IOAS_ALLOC!, struct('iommu_ioas_alloc').bytes);
  raw.close(c);
  return rc === 0;
}

/** The IOVA_RANGE capability of VFIO_IOMMU_GET_INFO on a container, or null when absent. */
export function type1IovaRanges(raw: RawKernel, container: number): { start: bigint; end: bigint }[] | null {
  const buf = new Uint8Array(4096);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, buf.length, true);
  assert.equal(raw.ioctl(container, C.VFIO_IOMMU_GET_INFO!, buf), 0);
  const capsFlag = C.VFIO_IOMMU_INFO_CAPS!;
  if (!(dv.getUint32(4, true) & capsFlag)) return null;
  for (let off = dv.getUint32(16, true); off !== 0 && off + 8 <= buf.length; off = dv.getUint32(off + 4, true)) {
    if (dv.getUint16(off, true) !== C.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) continue;
    const n = dv.getUint32(off + 8, true);
    const out = [];
    for (let i = 0; i < n; i++) {
      out.push({ start: dv.getBigUint64(off + 16 + 16 * i, true), end: dv.getBigUint64(off + 24 + 16 * i, true) });
    }
    return out;
  }
  return null;
}

/** -errno for a name, for readable assertions: `assert.equal(rc, -E.EINVAL)`. */
export const E = {
  EPERM: 1, ENOENT: 2, EIO: 5, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17,
  ENODEV: 19, EINVAL: 22, ENOTTY: 25, ENOSPC: 28, E2BIG: 7, EBADFD: 77, EOPNOTSUPP: 95,
} as const;
