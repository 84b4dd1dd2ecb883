// `vfio-cdx doctor`: its findings on each mock profile (the spawned binary), on kernels the CLI's
// --mock cannot make (in process, through diagnose()), and — where it predicts something — that the
// kernel then does what it predicted.
import * as assert from 'node:assert/strict';
import { CdxBus, VfioError } from '../../lib';
import { diagnose, type DoctorReport, type Finding } from '../../lib/cli/doctor';
import { fixtureDevices, MockKernel } from '../../lib/mock';
import { assertOk, cli } from '../helpers/cli-run';

const MiB = 1024 * 1024;

function find(r: DoctorReport, id: string): Finding {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f, `no '${id}' finding in ${JSON.stringify(r.findings.map((x) => x.id))}`);
  return f;
}

function doctorJson(...args: string[]): { status: number | null; report: DoctorReport } {
  const r = cli('doctor', '--json', ...args);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return { status: r.status, report: JSON.parse(r.stdout) as DoctorReport };
}

/** Every finding that is not ok says what to do; ok ones say there is nothing to do. */
function assertActionable(r: DoctorReport): void {
  for (const f of r.findings) {
    if (f.status === 'ok') assert.equal(f.action, 'nothing to do', f.summary);
    if (f.status === 'fail' || f.status === 'warn') assert.notEqual(f.action, 'nothing to do', f.summary);
  }
  assert.equal(r.usable, r.findings.every((f) => f.status !== 'fail'));
}

describe('vfio-cdx doctor on each mock profile (spawned)', function () {
  this.timeout(Math.max(this.timeout(), 120_000));

  it('linux-6.12 (CONFIG_IOMMUFD=n): not affected by the .detach_ioas bug, certain; cdx-00:00 usable, exit 0', function () {
    const { status, report } = doctorJson('cdx-00:00', '--mock', 'linux-6.12');
    assert.equal(status, 0);
    assert.equal(report.usable, true);
    assert.equal(report.kernel, "mock kernel 'linux-6.12'");
    const bug = find(report, 'iommufd');
    assert.deepEqual([bug.status, bug.certainty], ['ok', 'certain']);
    assert.match(bug.evidence.join('\n'), /neither exists, so CONFIG_IOMMUFD is off/);
    assert.equal(find(report, 'driver').status, 'ok');
    const group = find(report, 'iommu-group');
    assert.deepEqual([group.status, group.certainty], ['ok', 'certain'], 'GET_STATUS confirmed what sysfs suggested');
    assert.match(find(report, 'open').evidence.join('\n'), /asked VFIO_GROUP_GET_STATUS: VIABLE/);
    assert.equal(find(report, 'noiommu').status, 'info');
    assertActionable(report);
  });

  it('linux-6.12-iommufd: predicts the EINVAL bind, as likely, from CONFIG_IOMMUFD and the failed probe; exit 1', function () {
    const { status, report } = doctorJson('--mock', 'linux-6.12-iommufd');
    assert.equal(status, 1);
    const bug = find(report, 'iommufd');
    assert.deepEqual([bug.status, bug.certainty], ['fail', 'likely']);
    const evidence = bug.evidence.join('\n');
    assert.match(evidence, /\/sys\/module\/iommufd exists/);
    assert.match(evidence, /\/dev\/iommu exists/);
    assert.match(evidence, /cdx-00:00 has driver_override vfio-cdx but no driver: a vfio-cdx probe was tried and failed/);
    assert.match(bug.action, /CONFIG_IOMMUFD=n.*\.detach_ioas = vfio_iommufd_physical_detach_ioas/);
    assertActionable(report);
  });

  it('linux-6.12-iommufd with a device: not bound although driver_override says vfio-cdx', function () {
    const { status, report } = doctorJson('cdx-00:00', '--mock', 'linux-6.12-iommufd');
    assert.equal(status, 1);
    assert.match(find(report, 'driver').summary, /not bound, although driver_override is vfio-cdx: a vfio-cdx probe failed/);
  });

  it('cdev: a device bound to vfio-cdx proves registration works; both paths open; exit 0', function () {
    const { status, report } = doctorJson('cdx-00:00', '--mock', 'cdev');
    assert.equal(status, 0);
    const bug = find(report, 'iommufd');
    assert.deepEqual([bug.status, bug.certainty], ['ok', 'certain']);
    assert.match(bug.summary, /cdx-00:00 is bound to vfio-cdx/);
    assert.match(find(report, 'open').summary, /group path, and the cdev path/);
    assert.match(find(report, 'vfio-nodes').evidence.join('\n'), /\/dev\/vfio\/devices\/vfio0: mode 0600/);
  });

  it('noiommu: no-IOMMU mode on with CAP_SYS_RAWIO; memlock does not apply; a noiommu group; exit 0', function () {
    const { status, report } = doctorJson('cdx-00:00', '--mock', 'noiommu');
    assert.equal(status, 0);
    assert.equal(find(report, 'noiommu').status, 'ok');
    assert.match(find(report, 'noiommu').evidence.join('\n'), /enable_unsafe_noiommu_mode is Y/);
    assert.equal(find(report, 'memlock').status, 'info');
    assert.match(find(report, 'open').evidence.join('\n'), /opened \/dev\/vfio\/noiommu-0/);
  });

  it('an unbound device: exit 1, and the finding says how to bind it', function () {
    const { status, report } = doctorJson('cdx-00:01', '--mock');
    assert.equal(status, 1);
    const driver = find(report, 'driver');
    assert.equal(driver.status, 'fail');
    assert.match(driver.action, /`vfio-cdx bind cdx-00:01` \(as root\)/);
  });

  it('a device that does not exist: exit 1', function () {
    const { status, report } = doctorJson('cdx-00:7f', '--mock');
    assert.equal(status, 1);
    assert.match(find(report, 'device').summary, /cdx-00:7f: no such CDX device/);
  });

  it('text output: one line per finding with evidence and action, and the verdict last', function () {
    const r = cli('doctor', 'cdx-00:00', '--mock', 'linux-6.12-iommufd');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^vfio-cdx doctor: mock kernel 'linux-6.12-iommufd', uid 0 gid 0, device cdx-00:00\n/);
    assert.match(r.stdout, /^\[FAIL\] vfio-cdx and CONFIG_IOMMUFD: binding a device to vfio-cdx will fail with EINVAL \(likely\)$/m);
    assert.match(r.stdout, /^ {9}-> use a kernel built with CONFIG_IOMMUFD=n/m);
    assert.match(r.stdout, /\ncdx-00:00: NOT usable: 2 problems \(FAIL above\)\n$/);
    assertOk(cli('doctor', '--mock', 'cdev'), /\nvfio-cdx: usable by this user on this system\n$/);
  });
});

describe('vfio-cdx doctor on other kernels (in process), and the kernel then doing what it predicted', function () {
  it('vfio-cdx not loaded: fails with modprobe; CONFIG_IOMMUFD still known to be off from /sys/module/vfio', function () {
    const r = diagnose(MockKernel.fixture({ vfioCdxLoaded: false }), null);
    assert.equal(r.usable, false);
    assert.match(find(r, 'vfio-cdx').action, /modprobe vfio-cdx/);
    const bug = find(r, 'iommufd');
    assert.deepEqual([bug.status, bug.certainty], ['ok', 'certain']);
    assert.match(bug.evidence[0]!, /^\/sys\/module\/vfio exists: vfio is loaded/);
    assertActionable(r);
  });

  it('a kernel without a CDX bus: the bus finding fails and a named device does not exist', function () {
    const r = diagnose(MockKernel.create({ cdxBus: false }), 'cdx-00:00');
    assert.equal(r.usable, false);
    assert.equal(find(r, 'cdx-bus').status, 'fail');
    assert.match(find(r, 'device').summary, /no such CDX device \(no CDX bus\)/);
    assert.equal(r.findings.some((f) => f.id === 'iommufd'), false, 'nothing to say about vfio-cdx without a bus');
  });

  it('a non-root user: /dev/vfio/N is 0600 root, so doctor says the open fails, with the udev fix; and it does fail', function () {
    const kernel = MockKernel.fixture({ uid: 1000, gid: 1000, bound: true });
    const r = diagnose(kernel, 'cdx-00:00');
    assert.equal(r.usable, false);
    assert.deepEqual(r.user, { uid: 1000, gid: 1000, groups: [], capEff: '0' });
    const open = find(r, 'open');
    assert.equal(open.status, 'fail');
    assert.match(open.summary, /this user cannot open \/dev\/vfio\/0$/);
    assert.match(open.action, /SUBSYSTEM=="vfio", GROUP="vfio", MODE="0660"/);
    assert.match(open.action, /sudo chown 1000 \/dev\/vfio\/0/);
    assert.throws(() => new CdxBus({ kernel }).open('cdx-00:00'), (e: unknown) => e instanceof VfioError && e.code === 'EACCES');
    const system = diagnose(kernel, null);
    assert.equal(find(system, 'vfio-nodes').status, 'fail');
    assert.match(find(system, 'vfio-nodes').summary, /cannot open the nodes of cdx-00:00, cdx-00:01/);
  });

  it('gid 0 gets the group bits: /dev/iommu (0660 root:root) opens, /dev/vfio/N (0600) does not', function () {
    const r = diagnose(MockKernel.fixture({ profile: 'cdev', uid: 1000, gid: 0, bound: true }), 'cdx-00:00');
    const nodes = find(r, 'open').evidence.join('\n');
    assert.match(nodes, /\/dev\/iommu: mode 0660, owner uid 0 gid 0: this user can open it/);
    assert.match(nodes, /\/dev\/vfio\/devices\/vfio0: mode 0600, owner uid 0 gid 0: this user cannot open it/);
  });

  it('RLIMIT_MEMLOCK below the DMA to pin: warns by default, fails with --dma; and the kernel refuses the mapping', function () {
    const kernel = MockKernel.fixture({ memlockLimit: 1 * MiB, bound: true });
    const warned = find(diagnose(kernel, 'cdx-00:00'), 'memlock');
    assert.equal(warned.status, 'warn');
    assert.match(warned.summary, /RLIMIT_MEMLOCK: 1 MiB, below the 64 MiB of DMA/);
    assert.match(warned.action, /ulimit -l 65536|memlock 65536/);
    const failed = diagnose(kernel, 'cdx-00:00', { dmaBytes: 2 * MiB, dmaExplicit: true });
    assert.equal(find(failed, 'memlock').status, 'fail');
    assert.equal(failed.usable, false);
    assert.equal(find(diagnose(kernel, 'cdx-00:00', { dmaBytes: MiB, dmaExplicit: true }), 'memlock').status, 'ok');
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    assert.throws(() => dev.dma.alloc(2 * MiB), (e: unknown) => e instanceof VfioError && e.code === 'ENOMEM');
  });

  it('an SMMU registered but no dma-ranges in the CDX node: once a probe has run and left no group, doctor warns (likely) and names dma-ranges', function () {
    // cdx_dma_configure() -> of_dma_configure_id(force_dma=false) stops before the IOMMU without
    // dma-ranges; the group would only appear at probe, so before any probe nothing can be told.
    const kernel = MockKernel.fixture({ profile: 'cdev', dtDmaRanges: false });
    const before = find(diagnose(kernel, 'cdx-00:00'), 'iommu');
    assert.equal(before.status, 'info');
    assert.match(before.evidence.join('\n'), /cdx-00:00: no iommu_group link: never probed by a driver/);
    const bus = new CdxBus({ kernel });
    assert.throws(() => bus.bind('cdx-00:00'), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL');
    const failed = find(diagnose(kernel, 'cdx-00:00'), 'iommu');
    assert.deepEqual([failed.status, failed.certainty], ['warn', 'likely']);
    assert.match(failed.summary, /smmu3\.0x0000000009050000 is registered, but cdx-00:00 has no IOMMU group of its own/);
    assert.match(failed.action, /dma-ranges \(and iommu-map\)/);
    assert.match(failed.evidence.join('\n'), /cdx-00:00: no iommu_group link after a probe/);
  });

  it('the same board with no-IOMMU mode on: the bind makes a vfio-noiommu group, and doctor still warns that the SMMU is not used', function () {
    const kernel = MockKernel.fixture({ profile: 'cdev', dtDmaRanges: false, noiommuConfig: true, noiommuEnabled: true });
    const bus = new CdxBus({ kernel });
    bus.bind('cdx-00:00');
    const f = find(diagnose(kernel, 'cdx-00:00'), 'iommu');
    assert.equal(f.status, 'warn');
    assert.match(f.evidence.join('\n'), /a vfio-noiommu group, made by no-IOMMU mode/);
    using dev = bus.open('cdx-00:00');
    assert.equal(dev.noiommu, true, 'as predicted: the device is not behind the SMMU');
  });

  it('an unprobed device on an IOMMU kernel has no group yet, and that is no no-IOMMU problem', function () {
    const kernel = MockKernel.fixture({ profile: 'cdev' });
    const r = diagnose(kernel, 'cdx-00:01');
    assert.equal(find(r, 'noiommu').status, 'info');
    new CdxBus({ kernel }).bind('cdx-00:01');
    assert.equal(find(diagnose(kernel, 'cdx-00:01'), 'iommu').status, 'ok', 'the probe gave it a group');
  });

  it('with dma-ranges the SMMU translates for the bound device: the iommu finding is ok, and the device opens with a real group', function () {
    const kernel = MockKernel.fixture({ profile: 'cdev', bound: true });
    const f = find(diagnose(kernel, 'cdx-00:00'), 'iommu');
    assert.equal(f.status, 'ok');
    assert.match(f.summary, /smmu3\.0x0000000009050000 translates for cdx-00:00/);
    using dev = new CdxBus({ kernel }).open('cdx-00:00', { path: 'group' });
    assert.equal(dev.noiommu, false);
  });

  it('no IOMMU registered at all: the iommu finding is information, not a warning', function () {
    const f = find(diagnose(MockKernel.fixture({ profile: 'noiommu', bound: true }), 'cdx-00:00'), 'iommu');
    assert.equal(f.status, 'info');
    assert.match(f.summary, /none registered/);
  });

  it('no-IOMMU mode off and a device without IOMMU group: doctor says the bind fails with EINVAL, and it does', function () {
    const kernel = MockKernel.fixture({ profile: 'noiommu', noiommuEnabled: false });
    const f = find(diagnose(kernel, 'cdx-00:00'), 'noiommu');
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /off, and cdx-00:00 has no IOMMU group: binding to vfio-cdx fails with EINVAL/);
    assert.match(f.action, /echo 1 \| sudo tee \/sys\/module\/vfio\/parameters\/enable_unsafe_noiommu_mode/);
    assert.throws(() => new CdxBus({ kernel }).bind('cdx-00:00'), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL');
  });

  it('a no-IOMMU group without CAP_SYS_RAWIO: doctor says so, its own open of the group gets EPERM, as the library\'s does', function () {
    const kernel = MockKernel.fixture({ profile: 'noiommu', bound: true, capSysRawio: false });
    const r = diagnose(kernel, 'cdx-00:00');
    assert.equal(find(r, 'noiommu').status, 'fail');
    assert.match(find(r, 'noiommu').summary, /needs CAP_SYS_RAWIO, which this process lacks/);
    assert.match(find(r, 'open').summary, /opening \/dev\/vfio\/noiommu-0 is refused \(EPERM\)/);
    assert.throws(() => new CdxBus({ kernel }).open('cdx-00:00'), (e: unknown) => e instanceof VfioError && e.code === 'EPERM');
  });

  it('a group open elsewhere: the group node is exclusive, so doctor gets EBUSY and says another process holds it', function () {
    const kernel = MockKernel.fixture({ bound: true });
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    const open = find(diagnose(kernel, 'cdx-00:00'), 'open');
    assert.equal(open.status, 'fail');
    assert.match(open.summary, /\/dev\/vfio\/0 is already open \(EBUSY\)/);
    assert.match(open.action, /fuser -v \/dev\/vfio\/0/);
    void dev;
  });

  it('doctor never resets the device: it opens the group node, not the device', function () {
    const kernel = MockKernel.fixture({ bound: true });
    const before = kernel.device('cdx-00:00').resets;
    diagnose(kernel, 'cdx-00:00');
    assert.equal(kernel.device('cdx-00:00').resets, before);
    assert.equal(kernel.openObjects(), 0, 'and it closed what it opened');
  });

  it('stock 6.12 with CONFIG_IOMMUFD: predicted likely, and the bind then fails with EINVAL', function () {
    const kernel = MockKernel.fixture({ profile: 'linux-6.12-iommufd' });
    const bug = find(diagnose(kernel, null), 'iommufd');
    assert.deepEqual([bug.status, bug.certainty], ['fail', 'likely']);
    assert.doesNotMatch(bug.evidence.join('\n'), /probe was tried/, 'nothing was bound yet, so no failed probe is evidence');
    assert.throws(() => new CdxBus({ kernel }).bind('cdx-00:00'), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL');
    const after = find(diagnose(kernel, null), 'iommufd');
    assert.match(after.evidence.join('\n'), /cdx-00:00 has driver_override vfio-cdx but no driver/);
  });

  it('a patched vfio-cdx with nothing bound looks the same — hence "likely" — and the bind then succeeds', function () {
    const kernel = MockKernel.fixture({ profile: 'cdev' });
    const bug = find(diagnose(kernel, null), 'iommufd');
    assert.deepEqual([bug.status, bug.certainty], ['fail', 'likely']);
    new CdxBus({ kernel }).bind('cdx-00:00');
    const after = find(diagnose(kernel, null), 'iommufd');
    assert.deepEqual([after.status, after.certainty], ['ok', 'certain']);
  });

  it('an IOMMU group of two devices: both are members; the group is viable while the other has no driver', function () {
    const [a, b] = fixtureDevices();
    // The IOMMU groups a CDX device when a driver probes it, and the group stays after unbind.
    const kernel = MockKernel.create({ devices: [{ ...a!, iommuGroup: 5, bound: true }, { ...b!, iommuGroup: 5, bound: true }] });
    new CdxBus({ kernel }).unbind('cdx-00:01');
    const group = find(diagnose(kernel, 'cdx-00:00'), 'iommu-group');
    assert.equal(group.status, 'ok');
    assert.match(group.summary, /IOMMU group 5, members cdx-00:00, cdx-00:01/);
    assert.match(group.evidence.join('\n'), /cdx-00:00 \(vfio-cdx\), cdx-00:01 \(no driver\)/);
  });
});
