// CDX bus sysfs (drivers/cdx/cdx.c, Documentation/ABI/testing/sysfs-bus-cdx).
import * as assert from 'node:assert/strict';
import { DEV0, DEV1, REG, probeBug, rescanWorks, useEnv } from '../helpers/target';
import { E } from '../helpers/raw-open';
import { WHERE_BINDABLE, WHERE_RESCAN, describeWhen, itWhen } from '../helpers/pending';

const dev0 = `/sys/bus/cdx/devices/${DEV0}`;

describe('CDX bus sysfs (drivers/cdx/cdx.c, K-BUS-1..8)', function () {
  const env = useEnv();

  it('lists the fixture devices with their ids, and no bus device', function () {
    const list = env().bus.list();
    assert.deepEqual(list.map((d) => d.name), [DEV0, DEV1]);
    const d0 = list[0]!;
    assert.equal(d0.vendorId, 0x10ee);
    assert.equal(d0.deviceId, 0x8084);
    assert.equal(d0.subsystemVendorId, 0x10ee);
    assert.equal(d0.subsystemDeviceId, 0x0001);
    assert.equal(d0.classCode, 0x058000);
    assert.equal(d0.revision, 0x01);
    assert.equal(d0.driver, null);
    assert.equal(d0.driverOverride, null);
    assert.equal(list[1]!.deviceId, 0x8085);
  });

  it('the bus itself is a device named cdx-00 in /sys/bus/cdx/devices', function () {
    const names = env().raw.readDir('/sys/bus/cdx/devices');
    assert.ok(Array.isArray(names) && names.includes('cdx-00'));
  });

  it('prints ids as "0x%04x\\n", revision "0x%02x\\n", class "0x%06x\\n"', function () {
    const { raw } = env();
    assert.equal(raw.readFile(`${dev0}/vendor`), '0x10ee\n');
    assert.equal(raw.readFile(`${dev0}/device`), '0x8084\n');
    assert.equal(raw.readFile(`${dev0}/subsystem_vendor`), '0x10ee\n');
    assert.equal(raw.readFile(`${dev0}/subsystem_device`), '0x0001\n');
    assert.equal(raw.readFile(`${dev0}/revision`), '0x01\n');
    assert.equal(raw.readFile(`${dev0}/class`), '0x058000\n');
  });

  it('prints modalias in upper-case hex', function () {
    assert.equal(env().raw.readFile(`${dev0}/modalias`), 'cdx:v10EEd8084sv10EEsd0001c058000\n');
  });

  it('prints an unset driver_override as "(null)"', function () {
    assert.equal(env().raw.readFile(`${dev0}/driver_override`), '(null)\n');
  });

  it('driver_override stores up to the first newline; an empty write clears it', function () {
    const { raw } = env();
    assert.equal(raw.writeFile(`${dev0}/driver_override`, 'vfio-cdx\n'), 9);
    assert.equal(raw.readFile(`${dev0}/driver_override`), 'vfio-cdx\n');
    assert.equal(raw.writeFile(`${dev0}/driver_override`, '\n'), 1);
    assert.equal(raw.readFile(`${dev0}/driver_override`), '(null)\n');
  });

  it('reset takes kstrtobool: "0" and garbage are EINVAL', function () {
    const { raw } = env();
    assert.equal(raw.writeFile(`${dev0}/reset`, '0'), -E.EINVAL);
    assert.equal(raw.writeFile(`${dev0}/reset`, 'x'), -E.EINVAL);
  });

  itWhen(!probeBug, 'writing "1" to reset resets the device (RESET_COUNT + 1)', WHERE_BINDABLE, function () {
    const { raw, bus } = env();
    bus.bind(DEV0);
    let before: number;
    {
      using dev = bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      before = regs.read32(REG.RESET_COUNT);
      assert.equal(raw.writeFile(`${dev0}/reset`, '1'), 1);
      assert.equal(regs.read32(REG.RESET_COUNT), before + 1);
    }
  });

  it('remove takes kstrtobool: "0" is EINVAL', function () {
    assert.equal(env().raw.writeFile(`${dev0}/remove`, '0'), -E.EINVAL);
  });

  it('resource<N> files cannot be read (mmap only): EIO', function () {
    assert.equal(env().raw.readFile(`${dev0}/resource0`), -E.EIO);
  });

  it('an unknown device is ENOENT', function () {
    assert.equal(env().raw.readFile('/sys/bus/cdx/devices/cdx-00:7f/vendor'), -E.ENOENT);
    assert.throws(() => env().bus.device('cdx-00:7f'), { code: 'ENOENT', syscall: 'stat' });
  });
});

// rescan_store() (cdx.c:571-611) unregisters every CDX device, then runs the scan() of each
// controller it finds through a "xlnx,versal-net-cdx" DT node: the devices come back as new ones.
describeWhen(rescanWorks && !probeBug, '/sys/bus/cdx/rescan (drivers/cdx/cdx.c, K-BUS-5)', WHERE_RESCAN, function () {
  const env = useEnv();

  it('takes kstrtobool: "0" and garbage are EINVAL, and nothing is removed', function () {
    const { raw, bus } = env();
    assert.equal(raw.writeFile('/sys/bus/cdx/rescan', '0'), -E.EINVAL);
    assert.equal(raw.writeFile('/sys/bus/cdx/rescan', 'x'), -E.EINVAL);
    assert.deepEqual(bus.list().map((d) => d.name), [DEV0, DEV1]);
  });

  it('re-creates every device: unbound, driver_override cleared, no IOMMU group until a driver binds', function () {
    const { raw, bus } = env();
    bus.bind(DEV0);
    assert.equal(raw.writeFile('/sys/bus/cdx/rescan', '1'), 1);
    const list = bus.list();
    assert.deepEqual(list.map((d) => d.name), [DEV0, DEV1]);
    for (const d of list) {
      assert.equal(d.driver, null);
      assert.equal(d.driverOverride, null);
      assert.equal(d.iommuGroup, null, `${d.name}: the bus configures the IOMMU at probe (dma_configure)`);
      assert.equal(d.vfioDevice, null);
    }
  });

  it('an IOMMU group appears when vfio-cdx binds; a real one stays after unbind, a no-IOMMU one goes', function () {
    const { raw, bus } = env();
    assert.equal(raw.writeFile('/sys/bus/cdx/rescan', '1'), 1);
    assert.equal(bus.device(DEV0).iommuGroup, null);
    bus.bind(DEV0);
    const group = bus.device(DEV0).iommuGroup;
    assert.equal(typeof group, 'number');
    const noiommu = typeof raw.stat(`/dev/vfio/noiommu-${group}`) !== 'number';
    bus.unbind(DEV0);
    assert.equal(bus.device(DEV0).iommuGroup, noiommu ? null : group);
    bus.bind(DEV0);
    assert.equal(bus.device(DEV0).iommuGroup, group, 'bound again: the same group');
  });

  it('the devices work after a rescan: fresh registers, the device opens and resets', function () {
    const { raw, bus } = env();
    assert.equal(raw.writeFile('/sys/bus/cdx/rescan', '1'), 1);
    bus.bind(DEV0);
    using dev = bus.open(DEV0);
    using regs = dev.regions[0]!.map();
    assert.equal(regs.read32(REG.ID), 0xcd5e0000);
    const count = regs.read32(REG.RESET_COUNT);
    dev.reset();
    assert.equal(regs.read32(REG.RESET_COUNT), count + 1);
  });
});
