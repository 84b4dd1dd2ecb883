// The everyday commands on the spawned binary with --mock: list, info, bind, unbind, reset, dump,
// read, write and demo, each checked for what it prints on stdout and its exit status.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { assertFailed, assertOk, assertUsage, cli, harness } from '../helpers/cli-run';
import { skipHere } from '../helpers/pending';

describe('vfio-cdx CLI commands (--mock)', function () {
  this.timeout(Math.max(this.timeout(), 120_000));  // each case spawns node; nothing here depends on how fast that is

  it('list: one line per device with IDs, driver and IOMMU group (an unprobed device has none yet: the IOMMU groups it at probe); -v adds the details; --json the entries', function () {
    const text = cli('list', '--mock');
    assertOk(text);
    assert.deepEqual(text.stdout.trim().split('\n'), [
      'cdx-00:00  0x10ee:0x8084  class 0x058000  rev 0x01  driver vfio-cdx  iommu_group 0',
      'cdx-00:01  0x10ee:0x8085  class 0x058000  rev 0x02  driver -  iommu_group -',
    ]);
    const verbose = cli('list', '-v', '--mock');
    assertOk(verbose, /^\tdriver_override vfio-cdx$/m);
    assert.match(verbose.stdout, /^\tvfio device vfio0$/m);
    assert.match(verbose.stdout, /^\tmodalias cdx:v10EEd8084/m);
    const list = JSON.parse(cli('list', '--json', '--mock').stdout);
    assert.deepEqual(list.map((d: { name: string; driver: string | null }) => [d.name, d.driver]),
      [['cdx-00:00', 'vfio-cdx'], ['cdx-00:01', null]]);
  });

  it('list on a no-IOMMU kernel: the bound device is in a noiommu group, the unbound one has none', function () {
    const list = JSON.parse(cli('list', '--json', '--mock', 'noiommu').stdout);
    assert.deepEqual(list.map((d: { iommuGroup: number | null }) => d.iommuGroup), [0, null]);
  });

  it('info of a bound device opens it: regions, MSI count and bus master, as VFIO reports them', function () {
    const r = cli('info', 'cdx-00:00', '--mock');
    assertOk(r, /^opened through group \(\/dev\/vfio\/0\)$/m);
    assert.match(r.stdout, /flags 0x101 {2}regions 2 {2}MSI vectors 4 {2}resettable true {2}bus master control supported/);
    assert.match(r.stdout, /region 1: 4096 bytes at offset 0x10000000000 {2}r-m/);
    const info = JSON.parse(cli('info', 'cdx-00:01', '--json', '--mock').stdout);
    assert.equal(info.driver, null);
    assert.equal(info.vfio, null, 'an unbound device is not opened');
  });

  it('info on the cdev profile opens the device through its cdev', function () {
    assertOk(cli('info', 'cdx-00:00', '--mock', 'cdev'), /^opened through cdev \(\/dev\/vfio\/devices\/vfio0\)$/m);
  });

  it('bind: binds an unbound device, says when it was bound already', function () {
    assertOk(cli('bind', 'cdx-00:01', '--mock'), /^cdx-00:01 bound to vfio-cdx\n$/);
    assertOk(cli('bind', 'cdx-00:00', '--mock'), /^cdx-00:00 already bound to vfio-cdx\n$/);
    assert.deepEqual(JSON.parse(cli('bind', 'cdx-00:01', '--json', '--mock').stdout),
      { device: 'cdx-00:01', driver: 'vfio-cdx', previous: null, changed: true });
  });

  it('unbind and reset: the sysfs writes succeed and say what changed', function () {
    assertOk(cli('unbind', 'cdx-00:00', '--mock'), /^cdx-00:00 unbound from vfio-cdx; driver_override cleared\n$/);
    assertOk(cli('unbind', 'cdx-00:01', '--mock'), /^cdx-00:01 had no driver; driver_override cleared\n$/);
    assertOk(cli('reset', 'cdx-00:00', '--mock'), /^cdx-00:00 reset\n$/);
    assert.deepEqual(JSON.parse(cli('reset', 'cdx-00:01', '--json', '--mock').stdout), { device: 'cdx-00:01', reset: true });
  });

  it('read: one access of the width asked for, value in hex and decimal', function () {
    assertOk(cli('read', 'cdx-00:00', '0', '0', '--mock'),
      /^cdx-00:00 region 0 offset 0x0 \(32-bit\): 0xcd5e0000 \(3445489664\)\n$/);
    assertOk(cli('read', 'cdx-00:00', '0', '0x4', '--width', '16', '--mock'),
      /^cdx-00:00 region 0 offset 0x4 \(16-bit\): 0x0000 \(0\)\n$/);
    assertOk(cli('read', 'cdx-00:00', '0', '6', '--width=16', '--mock'), /\(16-bit\): 0x0001 \(1\)\n$/);
    assertOk(cli('read', 'cdx-00:00', '0', '3', '--width', '8', '--mock'), /\(8-bit\): 0xcd \(205\)\n$/);
    assert.deepEqual(JSON.parse(cli('read', 'cdx-00:00', '0', '0', '--width', '64', '--json', '--mock').stdout), {
      device: 'cdx-00:00', region: 0, offset: 0, width: 64, value: '0x00010000cd5e0000', decimal: '281478422200320',
    });
  });

  it('read: the reset counter shows the reset the kernel does when the device is opened', function () {
    // RESET_COUNT (0x0c) of the cdx-test model counts controller resets: binding does none, the open does one.
    assertOk(cli('read', 'cdx-00:00', '0', '0xc', '--mock'), /: 0x00000001 \(1\)\n$/);
  });

  it('write: one store, not read back; a read-only region refuses it', function () {
    assertOk(cli('write', 'cdx-00:00', '0', '0x100', '0xcafef00d', '--mock'),
      /^cdx-00:00 region 0 offset 0x100 \(32-bit\): wrote 0xcafef00d \(3405705229\)\n$/);
    assertOk(cli('write', 'cdx-00:00', '0', '0x100', '18446744073709551615', '--width', '64', '--mock'),
      /wrote 0xffffffffffffffff \(18446744073709551615\)/);
    assertFailed(cli('write', 'cdx-00:00', '1', '0', '1', '--mock'), 'cdx-00:00', /region 1 is read-only/);
  });

  it('read and write: what the device has (its regions, their sizes, the MMAP flag) is checked against it', function () {
    assertUsage(cli('read', 'cdx-00:00', '2', '0', '--mock'), /cdx-00:00 has no region 2 \(it has 2: 0\.\.1\)/);
    assertUsage(cli('read', 'cdx-00:00', '0', '0x1000', '--mock'), /offset 0x1000 is outside region 0 of cdx-00:00 \(size 0x1000\)/);
    // cdx-00:01's region 1 is 2 KiB: vfio-cdx gives it no MMAP flag, and has no read() on the device fd.
    assertFailed(harness({ bound: ['cdx-00:00', 'cdx-00:01'] }, 'read', 'cdx-00:01', '1', '0'), 'cdx-00:01',
      /region 1 cannot be mapped .* no MMAP flag/);
  });

  it('dump: 32-bit words, four per line, or JSON', function () {
    assertOk(cli('dump', 'cdx-00:00', '1', '0', '16', '--mock'),
      /^0x00000000: 0xa5000000 0xa5000001 0xa5000002 0xa5000003\n$/);
    assert.deepEqual(JSON.parse(cli('dump', 'cdx-00:00', '0', '0', '8', '--json', '--mock').stdout).words, [0xcd5e0000, 0x00010000]);
    assertUsage(cli('dump', 'cdx-00:00', '0', '2', '--mock'), /offset and length must be multiples of 4 inside region 0 of cdx-00:00/);
  });

  it('demo with --mock walks through cdx-00:00, reset included', function () {
    const r = cli('demo', '--mock');
    assertOk(r, /mock kernel 'linux-6.12'/);
    assert.match(r.stdout, /write 0xcafef00d to SCRATCH \(0x100\); read back 0xcafef00d/);
    assert.match(r.stdout, /VFIO_DEVICE_RESET: SCRATCH = 0x00000000, RESET_COUNT = 2, BUS_MASTER = 0/);
  });

  it('demo on a machine without a CDX bus says it runs on the mock and walks through a device', function () {
    // this machine has a CDX bus: demo uses it
    if (fs.existsSync('/sys/bus/cdx')) skipHere(this, 'on a machine without /sys/bus/cdx');
    const r = cli('demo');
    assertOk(r, /No CDX bus on this machine \(\/sys\/bus\/cdx\): running on the bundled mock kernel/);
    assert.match(r.stdout, /RESET_COUNT/);
  });

  it('demo on a stock 6.12 CONFIG_IOMMUFD kernel fails at the bind, with the kernel\'s EINVAL', function () {
    const r = cli('demo', '--mock', 'linux-6.12-iommufd');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /bind cdx-00:00 to vfio-cdx/);
    assert.match(r.stderr, /EINVAL.*detach_ioas/);
  });
});
