// node-smoke.js — proves the host's Node runs inside the VM against the real
// CDX bus: lists /sys/bus/cdx/devices and each device's driver.
'use strict';
const fs = require('fs');
const os = require('os');

const dir = '/sys/bus/cdx/devices';
const devs = fs.readdirSync(dir).sort();
const driverOf = (d) => {
  try {
    return fs.readlinkSync(`${dir}/${d}/driver`).split('/').pop();
  } catch {
    return '-';
  }
};
console.log(`node ${process.version} on ${os.release()}, ${os.cpus().length} CPUs, ` +
  `VFIO_CDX_TEST_KERNEL=${process.env.VFIO_CDX_TEST_KERNEL}`);
for (const d of devs) console.log(`  ${d}  driver ${driverOf(d)}`);
const missing = ['cdx-00', 'cdx-00:00', 'cdx-00:01'].filter((d) => !devs.includes(d));
const ok = missing.length === 0 && process.env.VFIO_CDX_TEST_KERNEL === 'system';
console.log(`node-smoke: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed` +
  (missing.length ? ` (missing ${missing.join(' ')})` : ''));
process.exit(ok ? 0 : 1);
