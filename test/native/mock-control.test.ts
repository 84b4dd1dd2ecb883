// The mock's control side: what the simulated hardware sees and does.
import * as assert from 'node:assert/strict';
import { CdxBus } from '../../lib';
import { MockKernel } from '../../lib/mock';

describe('MockKernel control side', function () {
  it('region(i) is the device side of the same memory a Mapping sees', function () {
    const kernel = MockKernel.create({ devices: [{ dev: 3, deviceId: 0x1234, regions: [{ size: 0x2000 }], bound: true }] });
    const hw = kernel.device('cdx-00:03');
    using dev = new CdxBus({ kernel }).open('cdx-00:03');
    using regs = dev.regions[0]!.map();
    regs.write32(0x1ff0, 0xdecafbad);
    assert.equal(new DataView(hw.region(0).buffer).getUint32(0x1ff0, true), 0xdecafbad);
    new DataView(hw.region(0).buffer).setUint32(0x20, 0x600df00d, true);
    assert.equal(regs.read32(0x20), 0x600df00d);
  });

  it('counts controller resets: first open, VFIO_DEVICE_RESET, last close', function () {
    const kernel = MockKernel.fixture({ bound: true });
    const hw = kernel.device('cdx-00:01');
    const before = hw.resets;
    const dev = new CdxBus({ kernel }).open('cdx-00:01');
    assert.equal(hw.resets, before + 1);
    dev.reset();
    assert.equal(hw.resets, before + 2);
    dev.close();
    assert.equal(hw.resets, before + 3);
  });

  it('reset restores the initial contents a device spec gives', function () {
    const init = Uint8Array.from([1, 2, 3, 4]);
    const kernel = MockKernel.create({ devices: [{ dev: 0, deviceId: 1, regions: [{ size: 4096, init }], bound: true }] });
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    using regs = dev.regions[0]!.map();
    assert.equal(regs.read32(0), 0x04030201);
    regs.write32(0, 0);
    regs.write32(8, 9);
    dev.reset();
    assert.equal(regs.read32(0), 0x04030201);
    assert.equal(regs.read32(8), 0);
  });

  it('busMaster follows the controller: cleared at open, set and cleared through the feature', function () {
    const kernel = MockKernel.fixture({ bound: true });
    const hw = kernel.device('cdx-00:00');
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    assert.equal(hw.busMaster, false);
    dev.busMaster.set(true);
    assert.equal(hw.busMaster, true);
    dev.busMaster.set(false);
    assert.equal(hw.busMaster, false);
  });

  it('a device with busMasterSupported: false answers the feature with ENOTTY', function () {
    const kernel = MockKernel.create({ devices: [{ dev: 0, deviceId: 1, regions: [{ size: 4096 }], busMasterSupported: false, bound: true }] });
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    assert.equal(dev.busMaster.supported, false);
    assert.throws(() => dev.busMaster.set(true), { code: 'ENOTTY', request: 'VFIO_DEVICE_FEATURE' });
  });

  it('addDevice hot-adds; driver and openCount are visible; a 16 KiB page size changes what is mappable', function () {
    const kernel = MockKernel.create({ pageSize: 16384 });
    kernel.addDevice({ dev: 0, deviceId: 7, regions: [{ size: 4096 }, { size: 16384 }], bound: true });
    const hw = kernel.device('cdx-00:00');
    assert.equal(hw.driver, 'vfio-cdx');
    using dev = new CdxBus({ kernel }).open('cdx-00:00');
    assert.equal(hw.openCount, 1);
    assert.equal(dev.regions[0]!.mappable, false, '4 KiB is not a multiple of a 16 KiB page');
    assert.equal(dev.regions[1]!.mappable, true);
    assert.deepEqual(kernel.devices, ['cdx-00:00']);
  });

  it('injected faults fail the named calls exactly `times` times after `skip` passes', function () {
    const kernel = MockKernel.fixture({ bound: true });
    const bus = new CdxBus({ kernel });
    kernel.injectFault({ sysfsWrite: 'driver_override', errno: 'ENOMEM', skip: 1, times: 2 });
    bus.unbind('cdx-00:01');  // the 1st write passes
    assert.throws(() => bus.bind('cdx-00:01'), { code: 'ENOMEM', syscall: 'write' });
    assert.throws(() => bus.bind('cdx-00:01'), { code: 'ENOMEM' });
    bus.bind('cdx-00:01');
    assert.throws(() => kernel.injectFault({ ioctl: 'X', open: 'y', errno: 'EIO' } as never), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => kernel.injectFault({ ioctl: 'X', errno: 'ENOPE' }), { code: 'ERR_INVALID_ARG_VALUE' });
  });
});
