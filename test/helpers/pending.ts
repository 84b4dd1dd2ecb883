/**
 * A test that cannot run on this kernel or machine is a visible pending test, and its title says
 * where it does run: "[pending here; runs <where>]". Never a silent skip, never a bare skip().
 *
 * The WHERE_* strings name the mock profiles (VFIO_CDX_TEST_PROFILE) and VM kernels
 * (scripts/vm, VFIO_CDX_TEST_VARIANT) that run each kind of test.
 */

/** vfio-cdx binds: the probe does not fail (K-CORE-1). */
export const WHERE_BINDABLE = 'where vfio-cdx binds: mock profiles linux-6.12, cdev, iommufd-compat, noiommu; ' +
  'the VM\'s `fixed` kernel';
/** The 6.12 probe failure itself (CONFIG_IOMMUFD=y, no .detach_ioas). */
export const WHERE_PROBE_BUG = 'on a CONFIG_IOMMUFD=y kernel whose vfio-cdx lacks .detach_ioas: mock profile ' +
  'linux-6.12-iommufd; the VM\'s `stock` kernel';
/** DMA needs translation: an IOMMU group, not a no-IOMMU one. */
export const WHERE_IOMMU = 'behind an IOMMU: mock profiles linux-6.12, cdev, iommufd-compat; the arm64 VM with an SMMU';
/** A no-IOMMU group (vfio's enable_unsafe_noiommu_mode). */
export const WHERE_NOIOMMU = 'on a no-IOMMU group: mock profile noiommu (the default); the x86 VM';
/** type1's own rules: an IOMMU and /dev/vfio/vfio from CONFIG_VFIO_CONTAINER. */
export const WHERE_TYPE1 = 'on a type1 container: mock profiles linux-6.12 and cdev';
/** The VFIO cdev and iommufd (K-CDEV, K-CFG-2). */
export const WHERE_CDEV = 'where the kernel offers the VFIO cdev (CONFIG_IOMMUFD=y, vfio-cdx with .detach_ioas, an ' +
  'IOMMU): mock profiles cdev and iommufd-compat';
/** /dev/iommu exists. */
export const WHERE_IOMMUFD = 'on a CONFIG_IOMMUFD=y kernel (/dev/iommu): mock profiles linux-6.12-iommufd, cdev, ' +
  'iommufd-compat, noiommu; the VM kernels';
/** /dev/vfio/vfio is iommufd's (CONFIG_IOMMUFD_VFIO_CONTAINER, K-COMPAT-1). */
export const WHERE_COMPAT = 'where iommufd provides /dev/vfio/vfio (CONFIG_IOMMUFD_VFIO_CONTAINER): mock profile ' +
  'iommufd-compat';
/** Rescan needs the controller on a device-tree node (K-BUS-5). */
export const WHERE_RESCAN = 'where the CDX controller is a device-tree node: the mock (unless ' +
  'VFIO_CDX_TEST_RESCAN=none) and the arm64 VM';
/** The mock's control side or fault injection. */
export const WHERE_MOCK = 'on the mock only (it needs the mock\'s control side or fault injection)';
/** global.gc. */
export const WHERE_GC = 'under node --expose-gc (npm test passes it)';

function note(where: string): string {
  return ` [pending here; runs ${where}]`;
}

/** describe() when `run`, else a pending describe whose title says where it runs. */
export function describeWhen(run: boolean, title: string, where: string, fn: (this: Mocha.Suite) => void): void {
  if (run) describe(title, fn);
  else describe.skip(title + note(where), fn);
}

/** it() when `run`, else a pending it() whose title says where it runs. */
export function itWhen(run: boolean, title: string, where: string, fn: Mocha.Func | Mocha.AsyncFunc): void {
  if (run) it(title, fn);
  else it.skip(title + note(where));
}

/** Ends the running test as pending, its title saying where it runs. */
export function skipHere(ctx: Mocha.Context, where: string): never {
  if (ctx.test) ctx.test.title += note(where);
  ctx.skip();
}
