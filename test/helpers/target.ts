/**
 * Where the conformance suite's kernel comes from — the one place that decides.
 *
 *   VFIO_CDX_TEST_KERNEL=mock    (default) a fresh MockKernel with the fixture
 *                                devices for every test; VFIO_CDX_TEST_PROFILE picks
 *                                its profile (default 'noiommu', the twin of the VM kernel)
 *   VFIO_CDX_TEST_KERNEL=system  the running kernel (the VM tier), whose CDX bus
 *                                must carry the fixture devices (scripts/vm);
 *                                VFIO_CDX_TEST_VARIANT=stock marks the kernel whose
 *                                vfio-cdx probe fails (IOMMUFD=y without the fix);
 *                                VFIO_CDX_VM_ARCH=arm64 the arm64 guest, whose
 *                                controller is on a DT node (rescan works)
 *   VFIO_CDX_TEST_RESCAN=none    the kernel's controller cannot be rescanned (the x86
 *                                VM's sim has no DT node): set for the x86 VM's mock twin
 *
 * Expectations are derived from what the kernel is (no-IOMMU or not, cdev or
 * not), never from which backend runs, so the same test means the same thing
 * on both.
 */
import { CdxBus, type Kernel } from '../../lib';
import { FIXTURE_PATH, fixtureDevices, MockKernel, type MockDeviceSpec, type MockKernelOptions } from '../../lib/mock';
import { RawKernel } from '../../lib/raw';
import { readFileSync } from 'node:fs';
import { WHERE_MOCK, itWhen } from './pending';

export const kind: 'mock' | 'system' = process.env.VFIO_CDX_TEST_KERNEL === 'system' ? 'system' : 'mock';

/**
 * Mock configurations by name: the five MockKernel profiles, plus
 * 'noiommu-stock', the twin of the VM tier's `stock` kernel (no IOMMU,
 * no-IOMMU mode on, CONFIG_IOMMUFD=y and an unpatched vfio-cdx), and
 * 'smmu-no-dma-ranges', the twin of the arm64 VM behind an SMMU whose device
 * tree gives the CDX controller no dma-ranges.
 */
const MOCK_CONFIGS: Record<string, MockKernelOptions> = {
  'linux-6.12': { profile: 'linux-6.12' },
  'linux-6.12-iommufd': { profile: 'linux-6.12-iommufd' },
  cdev: { profile: 'cdev' },
  'iommufd-compat': { profile: 'iommufd-compat' },
  noiommu: { profile: 'noiommu' },
  'noiommu-stock': { profile: 'noiommu', vfioCdxDetachIoas: false },
  // an SMMU, but a CDX controller node without dma-ranges: no-IOMMU groups (the arm64 VM's
  // smmuv3-no-dma-ranges machine)
  'smmu-no-dma-ranges': { profile: 'cdev', dtDmaRanges: false, noiommuConfig: true, noiommuEnabled: true },
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

const fixture = JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as {
  model: { registers: Record<string, number>; dma: Record<string, string | number> };
};

/** The cdx-test register map, from the fixture the mock and the VM's simulated controller are built from. */
export const REG = fixture.model.registers as Readonly<Record<
  'ID' | 'VERSION' | 'BUS_MASTER' | 'RESET_COUNT' | 'MSI_ENABLE' | 'MSI_DOORBELL' | 'MSI_FIRED' | 'MSI_TABLE' |
  'DMA_SRC_LO' | 'DMA_SRC_HI' | 'DMA_DST_LO' | 'DMA_DST_HI' | 'DMA_LEN' | 'DMA_CTRL' | 'DMA_STATUS' | 'DMA_DONE' |
  'SCRATCH', number>>;

/** The copy engine's DMA_CTRL / DMA_STATUS encoding (fixture `model.dma`). */
export const DMA = Object.fromEntries(Object.entries(fixture.model.dma).map(([k, v]) => [k, Number(v)])) as Readonly<
  Record<'ctrlGo' | 'ctrlIrq' | 'ctrlVectorShift' | 'maxLength' | 'statusDone' | 'statusError', number>>;

/**
 * Whether writing /sys/bus/cdx/rescan brings the devices back: it finds controllers only
 * through a "xlnx,versal-net-cdx" DT node, which the arm64 VM's simulated controller has and
 * the x86 VM's has not (there rescan removes the devices for good).
 */
export const rescanWorks = kind === 'system' ? process.env.VFIO_CDX_VM_ARCH === 'arm64'
  : process.env.VFIO_CDX_TEST_RESCAN !== 'none';

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
export function itMock(title: string, fn: Mocha.Func | Mocha.AsyncFunc): void {
  itWhen(kind === 'mock', title, WHERE_MOCK, fn);
}
