// Binding (drivers/base/bus.c, drivers/base/dd.c, drivers/cdx/cdx.c match).
import * as assert from 'node:assert/strict';
import { VfioError } from '../../lib';
import { DEV0, DEV1, probeBug, useEnv } from '../helpers/target';
import { E } from '../helpers/raw-open';
import { WHERE_BINDABLE, WHERE_PROBE_BUG, describeWhen } from '../helpers/pending';

const BUS = '/sys/bus/cdx';
const dev0 = `${BUS}/devices/${DEV0}`;

describeWhen(!probeBug, 'binding to vfio-cdx (drivers/base/bus.c, dd.c: K-BUS-7, K-DRV-1..4)', WHERE_BINDABLE, function () {
  const env = useEnv();

  it('vfio-cdx never matches without driver_override: bind says ENODEV', function () {
    assert.equal(env().raw.writeFile(`${BUS}/drivers/vfio-cdx/bind`, DEV0), -E.ENODEV);
    assert.equal(env().raw.readLink(`${dev0}/driver`), -E.ENOENT);
  });

  it('drivers_probe binds a device whose driver_override is vfio-cdx', function () {
    const { raw } = env();
    assert.equal(raw.writeFile(`${dev0}/driver_override`, 'vfio-cdx'), 8);
    assert.equal(raw.writeFile(`${BUS}/drivers_probe`, DEV0), DEV0.length);
    const link = raw.readLink(`${dev0}/driver`);
    assert.equal(typeof link === 'string' && link.split('/').pop(), 'vfio-cdx');
  });

  it('drivers_probe of an unknown device is ENODEV', function () {
    assert.equal(env().raw.writeFile(`${BUS}/drivers_probe`, 'cdx-00:7f'), -E.ENODEV);
  });

  it('bind of a device already bound is EBUSY', function () {
    const { raw, bus } = env();
    bus.bind(DEV0);
    assert.equal(raw.writeFile(`${BUS}/drivers/vfio-cdx/bind`, DEV0), -E.EBUSY);
  });

  it('bus.bind() binds, gives the device a group and a vfio-dev entry; bind again is a no-op', function () {
    const { bus, raw } = env();
    bus.bind(DEV0);
    bus.bind(DEV0);
    const e = bus.device(DEV0);
    assert.equal(e.driver, 'vfio-cdx');
    assert.equal(e.driverOverride, 'vfio-cdx');
    assert.equal(typeof e.iommuGroup, 'number');
    assert.match(e.vfioDevice ?? '', /^vfio\d+$/);
    const nodes = raw.readDir('/dev/vfio');
    assert.ok(Array.isArray(nodes) && nodes.some((n) => n === `${e.iommuGroup}` || n === `noiommu-${e.iommuGroup}`));
  });

  it('unbind removes the driver link and clears driver_override', function () {
    const { bus } = env();
    bus.bind(DEV1);
    bus.unbind(DEV1);
    const e = bus.device(DEV1);
    assert.equal(e.driver, null);
    assert.equal(e.driverOverride, null);
    assert.equal(e.vfioDevice, null);
  });

  it('unbind through the driver of a device it does not hold is ENODEV', function () {
    assert.equal(env().raw.writeFile(`${BUS}/drivers/vfio-cdx/unbind`, DEV0), -E.ENODEV);
  });

  it('bus.bind() of an unknown device throws ENOENT', function () {
    assert.throws(() => env().bus.bind('cdx-00:7f'), (e: unknown) => e instanceof VfioError && e.code === 'ENOENT');
  });
});

describeWhen(probeBug, 'vfio-cdx on a CONFIG_IOMMUFD kernel without .detach_ioas (Linux 6.12, K-CORE-1)', WHERE_PROBE_BUG, function () {
  const env = useEnv();

  it('drivers_probe swallows the probe error: it succeeds but no driver is bound', function () {
    const { raw } = env();
    assert.equal(raw.writeFile(`${dev0}/driver_override`, 'vfio-cdx'), 8);
    assert.equal(raw.writeFile(`${BUS}/drivers_probe`, DEV0), DEV0.length);
    assert.equal(raw.readLink(`${dev0}/driver`), -E.ENOENT);
  });

  it('bind reports the probe error, EINVAL from __vfio_register_dev', function () {
    const { raw } = env();
    raw.writeFile(`${dev0}/driver_override`, 'vfio-cdx');
    assert.equal(raw.writeFile(`${BUS}/drivers/vfio-cdx/bind`, DEV0), -E.EINVAL);
  });

  it('bus.bind() throws EINVAL with a hint naming detach_ioas and CONFIG_IOMMUFD', function () {
    assert.throws(() => env().bus.bind(DEV0), (e: unknown) => {
      assert.ok(e instanceof VfioError);
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.errno, -22);
      assert.equal(e.syscall, 'write');
      assert.match(e.hint ?? '', /detach_ioas/);
      assert.match(e.hint ?? '', /CONFIG_IOMMUFD/);
      return true;
    });
  });
});
