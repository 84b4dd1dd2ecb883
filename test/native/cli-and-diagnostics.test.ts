// The CLI on the bundled fixture, NODE_DEBUG tracing, and the hints errors carry.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { nodeCommand } from '../helpers/node-exec';
import * as path from 'node:path';
import { CdxBus, VfioError } from '../../lib';
import { MockKernel } from '../../lib/mock';

const CLI = path.join(__dirname, '..', '..', 'lib', 'cli.js');
const cli = (...args: string[]) => execFileSync(...nodeCommand([CLI, ...args]), { encoding: 'utf8' });

describe('vfio-cdx CLI (--mock)', function () {
  it('list --json lists the fixture devices', function () {
    const list = JSON.parse(cli('list', '--json', '--mock'));
    assert.deepEqual(list.map((d: { name: string }) => d.name), ['cdx-00:00', 'cdx-00:01']);
    assert.equal(list[0].deviceId, 0x8084);
  });

  it('dump reads device memory with 32-bit reads', function () {
    const out = JSON.parse(cli('dump', 'cdx-00:00', '0', '0', '8', '--json', '--mock'));
    assert.deepEqual(out.words, [0xcd5e0000, 0x00010000]);
    assert.match(cli('dump', 'cdx-00:00', '1', '0', '16', '--mock'), /^0x00000000: 0xa5000000 0xa5000001 0xa5000002 0xa5000003$/m);
  });

  it('bind and info work; errors exit 1 with the message; usage errors exit 2', function () {
    assert.match(cli('bind', 'cdx-00:01', '--mock'), /bound to vfio-cdx/);
    const info = JSON.parse(cli('info', 'cdx-00:00', '--json', '--mock'));
    assert.equal(info.driver, null);
    const bad = spawnSync(...nodeCommand([CLI, 'info', 'cdx-00:7f', '--mock']), { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /ENOENT/);
    assert.equal(spawnSync(...nodeCommand([CLI, 'frobnicate']), { encoding: 'utf8' }).status, 2);
    assert.equal(spawnSync(...nodeCommand([CLI]), { encoding: 'utf8' }).status, 2);
  });

  it('demo on a machine without a CDX bus says it runs on the mock and walks through a device', function () {
    const out = cli('demo');
    assert.match(out, /running on the bundled mock kernel/);
    assert.match(out, /RESET_COUNT/);
    assert.match(out, /SCRATCH = 0x00000000/);
  });
});

describe('NODE_DEBUG=vfio-cdx', function () {
  it('traces each seam call with its result', function () {
    const script = `const { CdxBus } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib'))});
      const { MockKernel } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'mock'))});
      const bus = new CdxBus({ kernel: MockKernel.fixture({ bound: true }) });
      const dev = bus.open('cdx-00:00'); dev.reset(); try { dev.regions[1].map().write32(0, 1); } catch {} dev.close();`;
    const r = spawnSync(...nodeCommand(['-e', script]), { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'vfio-cdx' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /VFIO-CDX \d+: ioctl VFIO_GROUP_GET_DEVICE_FD cdx-00:00 fd=\d+ -> \d+/);
    assert.match(r.stderr, /ioctl VFIO_DEVICE_RESET cdx-00:00 fd=\d+ -> 0/);
    assert.match(r.stderr, /mmap cdx-00:00 region 1 fd=\d+ -> 0/);
    assert.match(r.stderr, /close \/dev\/vfio\/vfio fd=\d+ -> 0/);
  });
});

describe('hints', function () {
  it('EACCES opening a group node names the node, its mode and owner', function () {
    const kernel = MockKernel.fixture({ profile: 'linux-6.12', bound: true });
    kernel.injectFault({ open: '/dev/vfio/', errno: 'EACCES', times: -1 });
    assert.throws(() => new CdxBus({ kernel }).open('cdx-00:00'), (e: unknown) => {
      assert.ok(e instanceof VfioError);
      assert.equal(e.code, 'EACCES');
      assert.equal(e.syscall, 'open');
      assert.match(e.hint ?? '', /has mode 0\d{3}, owner uid \d+/);
      return true;
    });
  });

  it('a no-IOMMU group without CAP_SYS_RAWIO: EPERM, and the hint says so', function () {
    const kernel = MockKernel.fixture({ profile: 'noiommu', bound: true });
    kernel.capSysRawio = false;
    assert.throws(() => new CdxBus({ kernel }).open('cdx-00:00'), (e: unknown) => {
      assert.ok(e instanceof VfioError);
      assert.equal(e.code, 'EPERM');
      assert.match(e.hint ?? '', /CAP_SYS_RAWIO/);
      return true;
    });
  });

  it('binding a device with no IOMMU group when no-IOMMU mode is off: EINVAL, with the cure', function () {
    const kernel = MockKernel.fixture({ profile: 'noiommu', noiommuEnabled: false });
    assert.throws(() => new CdxBus({ kernel }).bind('cdx-00:00'), (e: unknown) => {
      assert.ok(e instanceof VfioError);
      assert.equal(e.code, 'EINVAL');
      assert.match(e.hint ?? '', /enable_unsafe_noiommu_mode/);
      return true;
    });
  });

  it('the group of an open device cannot be opened a second time by another thread: EBUSY with a hint', async function () {
    const kernel = MockKernel.fixture({ profile: 'linux-6.12', bound: true });
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    const { Worker } = await import('node:worker_threads');
    const lib = path.join(__dirname, '..', '..', 'lib');
    const w = new Worker(`const { CdxBus } = require(${JSON.stringify(lib)}); const { MockKernel } = require(${JSON.stringify(lib + '/mock')});
      const { parentPort, workerData } = require('node:worker_threads');
      try { new CdxBus({ kernel: MockKernel.attach(workerData) }).open('cdx-00:00'); parentPort.postMessage('opened'); }
      catch (e) { parentPort.postMessage({ code: e.code, hint: e.hint }); }`, { eval: true, workerData: kernel.token });
    const [msg] = await new Promise<unknown[]>((resolve) => w.once('message', (m) => resolve([m])));
    assert.equal((msg as { code: string }).code, 'EBUSY');
    assert.match((msg as { hint: string }).hint, /already open/);
    void dev;
  });
});

describe('the bind hint when the device tree keeps CDX devices away from the IOMMU', function () {
  it('an SMMU is registered but the controller node lacks dma-ranges: no group, and the hint names dma-ranges', function () {
    // what a board whose "xlnx,versal-net-cdx" node has no dma-ranges gets: cdx_dma_configure()
    // never reaches the IOMMU, and without no-IOMMU mode VFIO cannot make a group
    const kernel = MockKernel.fixture({ profile: 'cdev', dtDmaRanges: false });
    const bus = new CdxBus({ kernel });
    assert.throws(() => bus.bind('cdx-00:00'), (e: unknown) => {
      assert.ok(e instanceof VfioError);
      assert.equal(e.code, 'EINVAL');
      assert.match(e.hint ?? '', /no IOMMU group although an IOMMU is registered \(smmu3\.0x0000000009050000\)/);
      assert.match(e.hint ?? '', /dma-ranges/);
      return true;
    });
    assert.equal(bus.device('cdx-00:00').iommuGroup, null);
  });

  it('with no-IOMMU mode on, the same board binds into a no-IOMMU group although an SMMU exists', function () {
    const kernel = MockKernel.fixture({ profile: 'cdev', dtDmaRanges: false, noiommuConfig: true, noiommuEnabled: true });
    const bus = new CdxBus({ kernel });
    bus.bind('cdx-00:00');
    using dev = bus.open('cdx-00:00');
    assert.equal(dev.noiommu, true);
    assert.match(dev.node, /^\/dev\/vfio\/noiommu-\d+$/);
    assert.equal(dev.path, 'group', 'no-IOMMU devices get no cdev');
  });

  it('with dma-ranges the devices get a real group at bind time, and none before', function () {
    const kernel = MockKernel.fixture({ profile: 'cdev' });
    const bus = new CdxBus({ kernel });
    assert.equal(bus.device('cdx-00:00').iommuGroup, null);
    bus.bind('cdx-00:00');
    assert.equal(typeof bus.device('cdx-00:00').iommuGroup, 'number');
  });
});
