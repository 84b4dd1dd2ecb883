// Misuse from JavaScript must throw, never crash the process.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { CdxBus, Device, Mapping } from '../../lib';
import { MockKernel } from '../../lib/mock';
import { RawKernel } from '../../lib/raw';
import type { NativeKernelHandle, NativeMockControl } from '../../lib/native';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const addon = require('node-gyp-build')(path.join(__dirname, '..', '..', '..')) as Record<string, any>;

describe('abuse: wrong receivers, wrong types, calls after close', function () {
  let kernel: MockKernel;
  let bus: CdxBus;
  beforeEach(function () {
    kernel = MockKernel.fixture({ bound: true });
    bus = new CdxBus({ kernel });
  });

  it('native constructors cannot be called from JavaScript', function () {
    for (const name of ['NativeKernel', 'NativeDevice', 'NativeMapping']) {
      assert.throws(() => new addon[name](), { name: 'TypeError', code: 'ERR_ILLEGAL_CONSTRUCTOR' });
      assert.throws(() => new addon[name]({}), { name: 'TypeError', code: 'ERR_ILLEGAL_CONSTRUCTOR' });
    }
  });

  it('native methods called on a wrong object throw ERR_INVALID_THIS (type tags), for every method', function () {
    const k = addon.createMockKernel({ profile: 'linux-6.12' });
    const others = [{}, Object.create(null), k, addon.systemKernel(), [], () => 0];
    for (const cls of ['NativeKernel', 'NativeDevice', 'NativeMapping']) {
      const proto = addon[cls].prototype;
      for (const method of Object.getOwnPropertyNames(proto)) {
        if (method === 'constructor') continue;
        for (const self of others) {
          if (cls === 'NativeKernel' && (self === k || self === others[3])) continue;
          assert.throws(() => proto[method].call(self, 0, 0, 0), { name: 'TypeError', code: 'ERR_INVALID_THIS' },
            `${cls}.${method}`);
        }
        assert.throws(() => proto[method].call(undefined), { name: 'TypeError' });
        assert.throws(() => proto[method].call(42), { name: 'TypeError' });
      }
    }
  });

  it('TypeScript methods called on a wrong object throw TypeError', function () {
    using dev = bus.open('cdx-00:00');
    using map = dev.regions[0]!.map();
    assert.throws(() => Device.prototype.reset.call({}), TypeError);
    assert.throws(() => Mapping.prototype.read32.call(dev, 0), TypeError);
    assert.throws(() => Mapping.prototype.unmap.call({}), TypeError);
    void map;
  });

  it('raw calls reject wrong argument types with ERR_INVALID_ARG_TYPE', function () {
    const raw = new RawKernel(kernel);
    assert.throws(() => raw.open(1 as unknown as string, 0), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => raw.ioctl('3' as unknown as number, 0), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => raw.ioctl(3, -1), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => raw.read(3, {} as Uint8Array), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => raw.mmap(3, -1n, 4096, 1, 1), { code: 'ERR_OUT_OF_RANGE' });
  });

  it('the system kernel has no mock control side; control methods on any other object throw ERR_INVALID_THIS', function () {
    const system = addon.systemKernel();
    assert.throws(() => addon.mockControl(system), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => addon.mockControl({} as NativeKernelHandle), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal('mockStatus' in system, false);
    const ctor = (addon as unknown as { NativeMockControl: { prototype: NativeMockControl } }).NativeMockControl;
    assert.throws(() => ctor.prototype.status.call(system, 'cdx-00:00'), { code: 'ERR_INVALID_THIS' });
    assert.throws(() => new (ctor as unknown as new () => unknown)(), { code: 'ERR_ILLEGAL_CONSTRUCTOR' });
  });

  it('a CdxBus needs a Kernel', function () {
    assert.throws(() => new CdxBus({ kernel: {} as MockKernel }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => new CdxBus(null as unknown as object), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('every call on a closed device or unmapped mapping is ERR_VFIO_CLOSED, native handles included', function () {
    const dev = bus.open('cdx-00:00');
    const map = dev.regions[0]!.map({ accessor: 'native' });
    dev.close();
    for (const f of [() => dev.reset(), () => dev.fd, () => dev.busMaster.supported, () => map.read8(0),
      () => map.write64(0, 1n), () => dev.regions[1]!.map()]) {
      assert.throws(f, { code: 'ERR_VFIO_CLOSED' });
    }
    dev.close();
    map.unmap();
  });

  it('a mock with an unknown profile or an impossible device is a TypeError', function () {
    assert.throws(() => MockKernel.create({ profile: 'linux-2.6' as 'cdev' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => MockKernel.create({ devices: [{ dev: 0, deviceId: 1, regions: [{ size: 0 }] }] }),
      { name: 'TypeError' });
    assert.throws(() => MockKernel.create({ devices: [{ dev: 0, deviceId: 1 }, { dev: 0, deviceId: 2 }] }),
      { name: 'TypeError' });
  });
});
