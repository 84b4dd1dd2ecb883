// Device fd ioctls of vfio-cdx (drivers/vfio/cdx/main.c) and the VFIO core
// dispatch in front of them (drivers/vfio/vfio_main.c).
import * as assert from 'node:assert/strict';
import { DEV0, DEV1, REG, probeBug, regionSize, useEnv } from '../helpers/target';
import { C, E, openDeviceRaw, struct } from '../helpers/raw-open';
import { WHERE_BINDABLE, describeWhen } from '../helpers/pending';

const FEATURE_BUS_MASTER = () => C.VFIO_DEVICE_FEATURE_BUS_MASTER!;

describeWhen(!probeBug, 'vfio-cdx device ioctls (drivers/vfio/cdx/main.c)', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });

  function feature(flags: number, op?: number, argsz?: number) {
    const s = struct('vfio_device_feature', {}, op === undefined ? 0 : 4);
    s.set('flags', flags);
    if (argsz !== undefined) s.set('argsz', argsz);
    if (op !== undefined) new DataView(s.bytes.buffer).setUint32(8, op, true);
    return s.bytes;
  }

  describe('VFIO_DEVICE_GET_INFO (K-CDX-3)', function () {
    it('reports flags CDX|RESET (0x101), the region count and one IRQ index when the device has MSI', function () {
      const { raw } = env();
      const d0 = openDeviceRaw(raw, DEV0);
      const info = struct('vfio_device_info');
      assert.equal(raw.ioctl(d0.device, C.VFIO_DEVICE_GET_INFO!, info.bytes), 0);
      assert.equal(info.get('flags'), 0x101);
      assert.equal(info.get('num_regions'), 2);
      assert.equal(info.get('num_irqs'), 1);
      d0.close();
      const d1 = openDeviceRaw(raw, DEV1);
      assert.equal(raw.ioctl(d1.device, C.VFIO_DEVICE_GET_INFO!, info.bytes), 0);
      assert.equal(info.get('num_irqs'), 0);
      d1.close();
    });

    it('argsz below 16 is EINVAL; a bad pointer EFAULT', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_INFO!, struct('vfio_device_info', { argsz: 15 }).bytes), -E.EINVAL);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_INFO!, 0n), -E.EFAULT);
      d.close();
    });

    it('copies only 16 bytes: cap_offset and pad are left as they were, a larger argsz is kept', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      const info = struct('vfio_device_info', { argsz: 64, cap_offset: 0xdeadbeef, pad: 0x12345678 }, 40);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_INFO!, info.bytes), 0);
      assert.equal(info.get('argsz'), 64);
      assert.equal(info.get('cap_offset'), 0xdeadbeef);
      assert.equal(info.get('pad'), 0x12345678);
      d.close();
    });
  });

  describe('VFIO_DEVICE_GET_REGION_INFO (K-CDX-4)', function () {
    it('gives offset index << 40, flags READ|WRITE|MMAP, READ|MMAP for read-only, no MMAP when not page sized', function () {
      const { raw } = env();
      const d0 = openDeviceRaw(raw, DEV0);
      const r = struct('vfio_region_info', { index: 0 });
      assert.equal(raw.ioctl(d0.device, C.VFIO_DEVICE_GET_REGION_INFO!, r.bytes), 0);
      assert.deepEqual([r.get('flags'), r.get('size'), r.get('offset')], [0x7, BigInt(regionSize(4096)), 0n]);
      r.set('index', 1);
      assert.equal(raw.ioctl(d0.device, C.VFIO_DEVICE_GET_REGION_INFO!, r.bytes), 0);
      assert.deepEqual([r.get('flags'), r.get('size'), r.get('offset')], [0x5, BigInt(regionSize(4096)), 1n << 40n]);
      d0.close();
      const d1 = openDeviceRaw(raw, DEV1);
      r.set('index', 0);
      assert.equal(raw.ioctl(d1.device, C.VFIO_DEVICE_GET_REGION_INFO!, r.bytes), 0);
      assert.deepEqual([r.get('flags'), r.get('size')], [0x7, BigInt(regionSize(65536))]);
      r.set('index', 1);
      assert.equal(raw.ioctl(d1.device, C.VFIO_DEVICE_GET_REGION_INFO!, r.bytes), 0);
      assert.deepEqual([r.get('flags'), r.get('size')], [0x3, 2048n]);
      d1.close();
    });

    it('an index past the last region is EINVAL; argsz below 32 EINVAL; a bad pointer EFAULT', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_REGION_INFO!, struct('vfio_region_info', { index: 2 }).bytes), -E.EINVAL);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_REGION_INFO!, struct('vfio_region_info', { argsz: 31 }).bytes), -E.EINVAL);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_REGION_INFO!, 0n), -E.EFAULT);
      d.close();
    });

    it('echoes cap_offset and argsz, never sets CAPS', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      const r = struct('vfio_region_info', { argsz: 48, cap_offset: 0xabcd }, 16);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_REGION_INFO!, r.bytes), 0);
      assert.equal(r.get('argsz'), 48);
      assert.equal(r.get('cap_offset'), 0xabcd);
      assert.equal(Number(r.get('flags')) & C.VFIO_REGION_INFO_FLAG_CAPS!, 0);
      d.close();
    });
  });

  describe('VFIO_DEVICE_GET_IRQ_INFO (K-CDX-5)', function () {
    it('index 0 of a device with MSI: flags EVENTFD|NORESIZE (0x9), count = number of MSI vectors', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      const s = struct('vfio_irq_info', { index: 0 });
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_IRQ_INFO!, s.bytes), 0);
      assert.equal(s.get('flags'), 0x9);
      assert.equal(s.get('count'), 4);
      d.close();
    });

    it('index 1 is EINVAL; a device without MSI is EINVAL; argsz below 16 EINVAL', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_IRQ_INFO!, struct('vfio_irq_info', { index: 1 }).bytes), -E.EINVAL);
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_GET_IRQ_INFO!, struct('vfio_irq_info', { argsz: 12 }).bytes), -E.EINVAL);
      d.close();
      const d1 = openDeviceRaw(raw, DEV1);
      assert.equal(raw.ioctl(d1.device, C.VFIO_DEVICE_GET_IRQ_INFO!, struct('vfio_irq_info').bytes), -E.EINVAL);
      d1.close();
    });
  });

  describe('VFIO_DEVICE_SET_IRQS when interrupts are not configured (K-CORE-6, K-IRQ-1, K-IRQ-2, K-IRQ-6)', function () {
    it('every SET_IRQS on a device without MSI is EINVAL (start >= num_msi)', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV1);
      const s = struct('vfio_irq_set', { flags: C.VFIO_IRQ_SET_DATA_NONE! | C.VFIO_IRQ_SET_ACTION_TRIGGER! });
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_SET_IRQS!, s.bytes), -E.EINVAL);
      d.close();
    });

    it('loopback (DATA_NONE|TRIGGER) before any eventfd is set is EINVAL', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      const s = struct('vfio_irq_set', { flags: C.VFIO_IRQ_SET_DATA_NONE! | C.VFIO_IRQ_SET_ACTION_TRIGGER!, count: 1 });
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_SET_IRQS!, s.bytes), -E.EINVAL);
      d.close();
    });

    it('DATA_NONE|TRIGGER with count 0 disables everything and succeeds', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      const s = struct('vfio_irq_set', { flags: C.VFIO_IRQ_SET_DATA_NONE! | C.VFIO_IRQ_SET_ACTION_TRIGGER! });
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_SET_IRQS!, s.bytes), 0);
      d.close();
    });

    it('validates before acting: unknown flag bits, two data types, ACTION_MASK alone, argsz < 20 are EINVAL', function () {
      const { raw } = env();
      const d = openDeviceRaw(raw, DEV0);
      const t = C.VFIO_IRQ_SET_ACTION_TRIGGER!;
      for (const [flags, argsz] of [[0x40 | C.VFIO_IRQ_SET_DATA_NONE! | t, 20], [C.VFIO_IRQ_SET_DATA_NONE! | C.VFIO_IRQ_SET_DATA_BOOL! | t, 21],
        [C.VFIO_IRQ_SET_DATA_NONE! | C.VFIO_IRQ_SET_ACTION_MASK!, 20], [C.VFIO_IRQ_SET_DATA_NONE! | t, 16]] as const) {
        const s = struct('vfio_irq_set', { flags, argsz }, 4);
        assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_SET_IRQS!, s.bytes), -E.EINVAL, `flags 0x${flags.toString(16)} argsz ${argsz}`);
      }
      assert.equal(raw.ioctl(d.device, C.VFIO_DEVICE_SET_IRQS!, 0n), -E.EFAULT);
      d.close();
    });
  });

  describe('VFIO_DEVICE_RESET (K-CDX-7)', function () {
    it('resets the device: RESET_COUNT + 1, SCRATCH cleared', function () {
      const { bus } = env();
      using dev = bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      const before = regs.read32(REG.RESET_COUNT);
      regs.write32(REG.SCRATCH, 0x1234abcd);
      dev.reset();
      assert.equal(regs.read32(REG.RESET_COUNT), before + 1);
      assert.equal(regs.read32(REG.SCRATCH), 0);
      assert.equal(regs.read32(REG.ID), 0xcd5e0000);
    });
  });

  describe('VFIO_DEVICE_FEATURE / BUS_MASTER (K-CORE-5, K-CORE-7, K-CDX-9)', function () {
    it('PROBE|SET succeeds; SET_MASTER and CLEAR_MASTER reach the controller', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      const fd = dev.fd;
      const F = C.VFIO_DEVICE_FEATURE!;
      assert.equal(raw.ioctl(fd, F, feature(C.VFIO_DEVICE_FEATURE_PROBE! | C.VFIO_DEVICE_FEATURE_SET! | FEATURE_BUS_MASTER())), 0);
      assert.equal(regs.read32(REG.BUS_MASTER), 0, 'opening the device cleared bus master');
      assert.equal(raw.ioctl(fd, F, feature(C.VFIO_DEVICE_FEATURE_SET! | FEATURE_BUS_MASTER(), C.VFIO_DEVICE_FEATURE_SET_MASTER!)), 0);
      assert.equal(regs.read32(REG.BUS_MASTER), 1);
      assert.equal(raw.ioctl(fd, F, feature(C.VFIO_DEVICE_FEATURE_SET! | FEATURE_BUS_MASTER(), C.VFIO_DEVICE_FEATURE_CLEAR_MASTER!)), 0);
      assert.equal(regs.read32(REG.BUS_MASTER), 0);
    });

    it('GET (with or without PROBE) is EINVAL; GET|SET without PROBE EINVAL; flags above bit 18 EINVAL', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const F = C.VFIO_DEVICE_FEATURE!;
      const bm = FEATURE_BUS_MASTER();
      assert.equal(raw.ioctl(dev.fd, F, feature(C.VFIO_DEVICE_FEATURE_GET! | bm, 0)), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, F, feature(C.VFIO_DEVICE_FEATURE_PROBE! | C.VFIO_DEVICE_FEATURE_GET! | bm)), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, F, feature(C.VFIO_DEVICE_FEATURE_GET! | C.VFIO_DEVICE_FEATURE_SET! | bm, 1)), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, F, feature((1 << 19) | C.VFIO_DEVICE_FEATURE_SET! | bm, 1)), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, F, feature(C.VFIO_DEVICE_FEATURE_SET! | bm)), -E.EINVAL, 'neither GET nor SET data: argsz 8');
    });

    it('SET with argsz < 12 or an op other than 0/1 is EINVAL; argsz < 8 EINVAL; bad pointer EFAULT', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const F = C.VFIO_DEVICE_FEATURE!;
      const set = C.VFIO_DEVICE_FEATURE_SET! | FEATURE_BUS_MASTER();
      assert.equal(raw.ioctl(dev.fd, F, feature(set, 1, 11)), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, F, feature(set, 7)), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, F, feature(set, 1, 4)), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, F, 0n), -E.EFAULT);
    });

    it('other features are ENOTTY: the core ones (no migration/logging ops) and unknown indices', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      for (const index of [1, 2, 6, 7, 8, 9, 11, 0x1234]) {
        assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_FEATURE!, feature(C.VFIO_DEVICE_FEATURE_PROBE! | C.VFIO_DEVICE_FEATURE_SET! | index)),
          -E.ENOTTY, `feature ${index}`);
      }
    });
  });

  describe('the device fd otherwise (K-CORE-4, K-CDX-8)', function () {
    it('read() and write() are EINVAL: vfio-cdx has no read/write ops', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      assert.equal(raw.read(dev.fd, new Uint8Array(4)), -E.EINVAL);
      assert.equal(raw.write(dev.fd, new Uint8Array(4)), -E.EINVAL);
    });

    it('unknown ioctls are ENOTTY, including the cdev-only ATTACH_IOMMUFD_PT on a group-path fd', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0, { path: 'group' });
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_IOEVENTFD!, new Uint8Array(32)), -E.ENOTTY);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO!, new Uint8Array(32)), -E.ENOTTY);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_ATTACH_IOMMUFD_PT!, struct('vfio_device_attach_iommufd_pt').bytes), -E.ENOTTY);
      assert.equal(raw.ioctl(dev.fd, 0x3b99, null), -E.ENOTTY);
    });
  });

  describe('open and close hooks (vfio_cdx_open_device / close_device: K-CORE-2, K-CDX-1, K-CDX-2)', function () {
    it('the first open resets the device and the last close resets it again', function () {
      const { bus } = env();
      let first: number;
      {
        using dev = bus.open(DEV0);
        using regs = dev.regions[0]!.map();
        first = regs.read32(REG.RESET_COUNT);
        regs.write32(REG.SCRATCH, 0x55);
      }
      using dev = bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      assert.equal(regs.read32(REG.RESET_COUNT), first + 2, 'one reset on close, one on open');
      assert.equal(regs.read32(REG.SCRATCH), 0);
    });

    it('several fds of one device share one open: the hooks run only on 0 <-> 1', function () {
      const { bus } = env();
      using a = bus.open(DEV0, { path: 'group' });
      using regs = a.regions[0]!.map();
      const count = regs.read32(REG.RESET_COUNT);
      {
        // A second Device shares the group, so the kernel hands out a second fd of the same device.
        using b = bus.open(DEV0, { path: 'group' });
        assert.notEqual(b.fd, a.fd);
        assert.equal(regs.read32(REG.RESET_COUNT), count, 'no reset on the second open');
      }
      assert.equal(regs.read32(REG.RESET_COUNT), count, 'no reset when a fd other than the last closes');
    });
  });
});
