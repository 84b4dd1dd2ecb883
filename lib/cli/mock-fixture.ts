/**
 * The kernel behind `--mock [profile]`: a fresh mock kernel per command, with the bundled fixture
 * (fixtures/cdx-test-devices.json). cdx-00:00, the device with the cdx-test register model and 4
 * MSI vectors, starts bound to vfio-cdx, so `read`, `write`, `watch`, `info` and `dump` work on it
 * directly; cdx-00:01 starts unbound, so `bind` has something to do. Where the profile's kernel
 * cannot bind (linux-6.12-iommufd), cdx-00:00 is left as a boot script would leave it: unbound,
 * with driver_override set. {@link describeMock} says which state the devices are in.
 * @internal
 */
import { CdxBus } from '../bus';
import { fixtureDevices, MockKernel, type MockProfile } from '../mock';

const PROFILE_TEXT: Record<MockProfile, string> = {
  'linux-6.12': 'type1 IOMMU, CONFIG_IOMMUFD=n: the group/container path',
  'linux-6.12-iommufd': 'stock 6.12 with CONFIG_IOMMUFD=y: the vfio-cdx probe fails with EINVAL',
  cdev: 'CONFIG_IOMMUFD=y and a vfio-cdx with .detach_ioas: cdev/iommufd and group paths',
  'iommufd-compat': 'CONFIG_IOMMUFD_VFIO_CONTAINER=y: iommufd provides /dev/vfio/vfio for the group path',
  noiommu: 'no IOMMU, no-IOMMU mode on: noiommu-N groups, no DMA mapping',
};

/** The fixture on a fresh mock kernel of `profile`. */
export function fixtureKernel(profile: MockProfile): MockKernel {
  return MockKernel.create({ profile, devices: fixtureDevices().map((d, i) => ({ ...d, bound: i === 0 })) });
}

/** One line saying what the mock is and what state its devices start in. */
export function describeMock(kernel: MockKernel, profile: MockProfile): string {
  const states = new CdxBus({ kernel }).list().map((e) => {
    if (e.driver === 'vfio-cdx') return `${e.name} bound to vfio-cdx`;
    if (e.driverOverride === 'vfio-cdx') return `${e.name} unbound (driver_override vfio-cdx, but its probe failed)`;
    return `${e.name} unbound`;
  });
  return `mock kernel '${profile}' (${PROFILE_TEXT[profile]}), fresh for this command: ${states.join(', ')}`;
}
