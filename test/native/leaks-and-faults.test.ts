// Ownership: nothing leaks on success or on any failing call (fault injection
// at every open/ioctl/mmap/readlink/eventfd of the open → map → reset → bus master →
// MSI → DMA → close sequence).
import * as assert from 'node:assert/strict';
import { CdxBus, VfioError } from '../../lib';
import { MockKernel, type FaultSpec } from '../../lib/mock';
import { deviceMappings, fdDiff, openFds } from '../helpers/process-state';
import { readFileSync } from 'node:fs';

// Shared anonymous mappings (what DMA buffers are): "rw-s ... /dev/zero (deleted)" in /proc/self/maps.
function anonMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => /^\S+ ...s /.test(l) && l.includes('/dev/zero')).length;
}

function cycle(bus: CdxBus, kernel: MockKernel): void {
  using dev = bus.open('cdx-00:00');
  using regs = dev.regions[0]!.map();
  regs.write32(0x100, regs.read32(0));
  using ro = dev.regions[1]!.map({ accessor: 'native' });
  ro.read32(0);
  dev.reset();
  if (dev.busMaster.supported) dev.busMaster.set(true);
  const vectors = dev.msi.enable();
  vectors[0]!.on('interrupt', () => undefined);
  dev.msi.trigger(0);
  if (!dev.noiommu) {
    const a = dev.dma.alloc(8192);
    dev.dma.alloc(4096);  // left for close() to free
    a.free();
  }
  void kernel;
}

// Cycles of the leak check: 10,000 by default; fewer under qemu-user, where each costs ~12x more.
const CYCLES = Number(process.env.VFIO_CDX_TEST_CYCLES ?? 10000);

for (const profile of ['linux-6.12', 'noiommu', 'cdev'] as const) {
  describe(`leaks and fault injection (mock, ${profile})`, function () {
    let kernel: MockKernel;
    let bus: CdxBus;
    beforeEach(function () {
      kernel = MockKernel.fixture({ profile, bound: true });
      bus = new CdxBus({ kernel });
    });

    it(`${CYCLES.toLocaleString('en')} open/map/close cycles leave /proc/self/fd and /proc/self/maps as they were`, function () {
      cycle(bus, kernel);  // warm up lazily-created state (the addon, the kernel handle)
      const fds = openFds();
      const maps = deviceMappings();
      const anon = anonMappings();
      const objects = kernel.openObjects();
      for (let i = 0; i < CYCLES; i++) cycle(bus, kernel);
      assert.equal(anonMappings(), anon, 'DMA buffers left mapped');
      assert.deepEqual(fdDiff(fds, openFds()), []);
      assert.deepEqual(deviceMappings(), maps);
      assert.equal(kernel.openObjects(), objects);
      assert.equal(kernel.device('cdx-00:00').openCount, 0);
    });

    it('a fault at any call of the sequence throws that errno and leaks nothing', function () {
      cycle(bus, kernel);
      kernel.startTrace();
      cycle(bus, kernel);
      const calls = kernel.takeTrace();
      const ops: Record<string, string> = {
        open: 'open', ioctl: 'ioctl', mmap: 'mmap', readlink: 'readLink', eventfd: 'eventfd',
      };
      // Release paths never throw (there is nothing a caller could do): a
      // failing UNMAP or the disabling SET_IRQS at close is traced and the
      // close goes on; the kernel drops what is left when the fd closes.
      const lastSetIrqs = calls.map((c) => c.name).lastIndexOf('VFIO_DEVICE_SET_IRQS');
      const isRelease = (i: number) => /^(VFIO_IOMMU_UNMAP_DMA|IOMMU_IOAS_UNMAP)$/.test(calls[i]!.name) || i === lastSetIrqs;
      const seen = new Map<string, number>();
      let injected = 0;
      const fds = openFds();
      const maps = deviceMappings();
      for (const [index, call] of calls.entries()) {
        const op = ops[call.op];
        if (op === undefined) continue;
        const key = `${call.op} ${call.name}`;
        const skip = seen.get(key) ?? 0;
        seen.set(key, skip + 1);
        const match = op === 'mmap' || op === 'eventfd' ? '*' : call.name;
        kernel.injectFault({ [op]: match, errno: 'EIO', skip, times: 1 } as FaultSpec);
        if (isRelease(index)) {
          cycle(bus, kernel);
        } else {
          assert.throws(() => cycle(bus, kernel), (e: unknown) => e instanceof VfioError && e.code === 'EIO',
            `fault at ${key} #${skip}`);
        }
        kernel.clearFaults();
        injected++;
        assert.deepEqual(fdDiff(fds, openFds()), [], `fds after a fault at ${key} #${skip}`);
        assert.deepEqual(deviceMappings(), maps, `mappings after a fault at ${key} #${skip}`);
        assert.equal(kernel.device('cdx-00:00').openCount, 0, `device left open after a fault at ${key}`);
        cycle(bus, kernel);  // and everything still works afterwards
      }
      assert.ok(injected >= 10, `only ${injected} calls were faulted`);
    });

    it('a controller reset failure at first open fails the open with that errno (vfio_cdx_open_device)', function () {
      kernel.injectFault({ controller: 'reset', errno: 'ETIMEDOUT' });
      // The kernel's open_device runs inside GET_DEVICE_FD (group path) or BIND_IOMMUFD (cdev path).
      assert.throws(() => bus.open('cdx-00:00'), (e: unknown) => e instanceof VfioError && e.code === 'ETIMEDOUT' &&
        /^VFIO_(GROUP_GET_DEVICE_FD|DEVICE_BIND_IOMMUFD)$/.test(e.request ?? ''));
      using dev = bus.open('cdx-00:00');
      assert.equal(dev.closed, false);
    });

    it('a controller that cannot clear bus master at open makes bus master unsupported (ENOTTY)', function () {
      kernel.injectFault({ controller: 'clear_master', errno: 'EIO' });
      using dev = bus.open('cdx-00:00');
      assert.equal(dev.busMaster.supported, false);
      assert.throws(() => dev.busMaster.set(true), { code: 'ENOTTY' });
    });

    it('VFIO_DEVICE_RESET reports the injected errno and the device stays usable', function () {
      using dev = bus.open('cdx-00:00');
      kernel.injectFault({ ioctl: 'VFIO_DEVICE_RESET', errno: 'EIO', times: 1 });
      assert.throws(() => dev.reset(), { code: 'EIO', errno: -5, syscall: 'ioctl', request: 'VFIO_DEVICE_RESET' });
      dev.reset();
    });
  });
}
