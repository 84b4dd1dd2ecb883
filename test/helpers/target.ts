/**
 * Where the conformance suite's kernel comes from — the one place that decides.
 *
 *   VFIO_CDX_TEST_KERNEL=mock    (default) a fresh MockKernel with the fixture
 *                                devices for every test; VFIO_CDX_TEST_PROFILE picks
 *                                its profile (default 'noiommu', the twin of the VM kernel)
 *   VFIO_CDX_TEST_KERNEL=system  the running kernel (the VM tier), whose CDX bus
 *                                must carry the fixture devices (scripts/vm);
 *                                VFIO_CDX_TEST_VARIANT=stock marks the kernel whose
 *                                vfio-cdx probe fails (IOMMUFD=y without the fix)
 *
 * Expectations are derived from what the kernel is (no-IOMMU or not, cdev or
 * not), never from which backend runs, so the same test means the same thing
 * on both.
 */
import { CdxBus, type Kernel } from '../../lib';
import { fixtureDevices, MockKernel, type MockDeviceSpec, type MockKernelOptions } from '../../lib/mock';
import { RawKernel } from '../../lib/raw';

export const kind: 'mock' | 'system' = process.env.VFIO_CDX_TEST_KERNEL === 'system' ? 'system' : 'mock';

/**
 * Mock configurations by name: the four MockKernel profiles, plus
 * 'noiommu-stock', the twin of the VM tier's `stock` kernel (no IOMMU,
 * no-IOMMU mode on, CONFIG_IOMMUFD=y and an unpatched vfio-cdx).
 */
const MOCK_CONFIGS: Record<string, MockKernelOptions> = {
  'linux-6.12': { profile: 'linux-6.12' },
  'linux-6.12-iommufd': { profile: 'linux-6.12-iommufd' },
  cdev: { profile: 'cdev' },
  noiommu: { profile: 'noiommu' },
  'noiommu-stock': { profile: 'noiommu', vfioCdxDetachIoas: false },
};

/**
 * VFIO_CDX_TEST_PAGE_SIZE: the mock kernel's PAGE_SIZE (4096, 16384 or 65536),
 * as an arm64 kernel built with 4K, 16K or 64K pages has it. Default: the host's.
 */
export const mockPageSize: number | undefined = process.env.VFIO_CDX_TEST_PAGE_SIZE
  ? Number(process.env.VFIO_CDX_TEST_PAGE_SIZE) : undefined;
if (kind === 'mock' && mockPageSize !== undefined) {
  for (const c of Object.values(MOCK_CONFIGS)) c.pageSize = mockPageSize;
}

export const profile: string = kind === 'system' ? 'system' : (process.env.VFIO_CDX_TEST_PROFILE ?? 'noiommu');
if (kind === 'mock' && !(profile in MOCK_CONFIGS)) throw new Error(`unknown VFIO_CDX_TEST_PROFILE ${profile}`);

/** The kernel's vfio-cdx fails to probe (CONFIG_IOMMUFD=y without .detach_ioas). */
export const probeBug = kind === 'system'
  ? process.env.VFIO_CDX_TEST_VARIANT === 'stock'
  : MOCK_CONFIGS[profile]!.vfioCdxDetachIoas === false || profile === 'linux-6.12-iommufd';

export const DEV0 = 'cdx-00:00';  // 4 KiB registers (cdx-test model) + 4 KiB read-only, 4 MSI
export const DEV1 = 'cdx-00:01';  // 64 KiB + 2 KiB (not mappable), no MSI

/** The cdx-test register map (fixtures/cdx-test-devices.json). */
export const REG = { ID: 0x00, VERSION: 0x04, BUS_MASTER: 0x08, RESET_COUNT: 0x0c, MSI_ENABLE: 0x10, SCRATCH: 0x100 };

export interface Env {
  kernel: Kernel | undefined;
  mock: MockKernel | undefined;
  bus: CdxBus;
  raw: RawKernel;
}

/**
 * The kernel's PAGE_SIZE. A region is mappable only when its start and size are multiples of
 * it, and mmap offsets and lengths are counted in it.
 */
export const PAGE: number = new RawKernel(kind === 'mock' ? MockKernel.create(MOCK_CONFIGS[profile]) : undefined).pageSize();

/**
 * The fixture as hardware for a kernel with PAGE_SIZE pages would be laid out: every region that
 * is a whole number of 4 KiB pages becomes a whole number of kernel pages (a 4 KiB register page
 * becomes one 16 KiB or 64 KiB page, as vfio-cdx could not map it otherwise); other sizes stay,
 * and so stay unmappable. On a 4 KiB kernel this is the fixture unchanged.
 */
function fixtureForPage(): MockDeviceSpec[] {
  return fixtureDevices().map((d) => ({
    ...d,
    regions: (d.regions ?? []).map((r) => (r.size % 4096 === 0 ? { ...r, size: Math.ceil(r.size / PAGE) * PAGE } : r)),
  }));
}

/** The size of a fixture region on this kernel (see fixtureForPage). */
export function regionSize(fixtureSize: number): number {
  return fixtureSize % 4096 === 0 ? Math.ceil(fixtureSize / PAGE) * PAGE : fixtureSize;
}

/** A kernel for one test: a fresh fixture mock, or the system kernel. */
export function makeEnv(): Env {
  const mock = kind === 'mock' ? MockKernel.create({ ...MOCK_CONFIGS[profile], devices: fixtureForPage() }) : undefined;
  return { kernel: mock, mock, bus: new CdxBus({ kernel: mock }), raw: new RawKernel(mock) };
}

/**
 * Declares a fresh environment per test and returns a getter for it. On the
 * system kernel every fixture device is unbound again after each test, so no
 * test depends on another's leftovers.
 */
export function useEnv(options: { bind?: boolean } = {}): () => Env {
  let env: Env | undefined;
  beforeEach(function () {
    env = makeEnv();
    if (options.bind) for (const d of [DEV0, DEV1]) env.bus.bind(d);
  });
  afterEach(function () {
    if (env && kind === 'system') for (const d of [DEV0, DEV1]) env.bus.unbind(d);
    env = undefined;
  });
  return () => {
    if (!env) throw new Error('useEnv() used outside a test');
    return env;
  };
}

/** `it` on the mock; a visible pending test on the real kernel (for mock-only control or fault injection). */
export const itMock: Mocha.TestFunction | Mocha.PendingTestFunction = kind === 'mock' ? it : it.skip;
