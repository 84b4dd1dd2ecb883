// NODE_DEBUG tracing, and the hints errors carry. (The CLI's own tests are the other cli-*.test.ts.)
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { nodeCommand } from '../helpers/node-exec';
import * as path from 'node:path';
import { CdxBus, VfioError } from '../../lib';
import { MockKernel } from '../../lib/mock';
import { native } from '../../lib/native';

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

  it('traces the sysfs calls of list() and bind() too: every system call goes through the traced layer', function () {
    const script = `const { CdxBus } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib'))});
      const { MockKernel } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'mock'))});
      const bus = new CdxBus({ kernel: MockKernel.fixture() });
      bus.list(); bus.bind('cdx-00:01');`;
    const r = spawnSync(...nodeCommand(['-e', script]), { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'vfio-cdx' } });
    assert.equal(r.status, 0, r.stderr);
    // list(): the directory, each device's attributes and links
    assert.match(r.stderr, /VFIO-CDX \d+: scandir \/sys\/bus\/cdx\/devices fd=-1 -> \d+/);
    assert.match(r.stderr, /read \/sys\/bus\/cdx\/devices\/cdx-00:00\/vendor fd=-1 -> \d+/);
    assert.match(r.stderr, /readlink \/sys\/bus\/cdx\/devices\/cdx-00:01\/driver fd=-1 -> -ENOENT/);
    // bind(): driver_override, then the driver's bind file, which reports the probe
    assert.match(r.stderr, /write \/sys\/bus\/cdx\/devices\/cdx-00:01\/driver_override fd=-1 -> 8/);
    assert.match(r.stderr, /write \/sys\/bus\/cdx\/drivers\/vfio-cdx\/bind fd=-1 -> 9/);
  });

  it('a trace hook set with setTrace() sees the same sysfs calls, in order', function () {
    const calls: string[] = [];
    native().setTrace((syscall, request, target) => calls.push(`${syscall} ${request}${target}`));
    try {
      const bus = new CdxBus({ kernel: MockKernel.fixture() });
      bus.list();
      bus.bind('cdx-00:01');
    } finally {
      native().setTrace(null);
    }
    const at = (call: string) => {
      const i = calls.indexOf(call);
      assert.ok(i >= 0, `${call} not traced:\n${calls.join('\n')}`);
      return i;
    };
    assert.ok(at('scandir /sys/bus/cdx/devices') < at('read /sys/bus/cdx/devices/cdx-00:00/vendor'));
    assert.ok(at('write /sys/bus/cdx/devices/cdx-00:01/driver_override') <
      at('write /sys/bus/cdx/drivers/vfio-cdx/bind'));
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
