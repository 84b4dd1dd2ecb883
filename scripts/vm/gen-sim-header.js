#!/usr/bin/env node
// gen-sim-header.js — generate the cdx-sim device table (a kernel C header)
// from fixtures/cdx-test-devices.json, the one device description shared by
// the mock and the VM. Plain node, no dependencies, deterministic output.
//
// Usage: node scripts/vm/gen-sim-header.js [--mock | --mock-fixture] [FIXTURE.json] [OUT.h]
//   FIXTURE defaults to fixtures/cdx-test-devices.json next to this repo,
//   OUT defaults to stdout. Exits 1 with a message on an invalid fixture.
//   --mock: the cdx-test register map as a C++ header for the mock's model
//   (src-native/mock/cdx_test_regs.h, committed; a test checks it is current).
//   --mock-fixture: the fixture's devices as the mock's C++ DeviceSpecs
//   (src-native/mock/cdx_test_fixture.h, committed, used by the C++ self-test;
//   the same test checks it is current).
// As a module it exports fixtureDeviceSpecs(), the devices as the TypeScript
// mock's specs, so that a test can hold them against lib/mock's fixtureDevices():
// the C++ header is written from exactly those specs.
'use strict';

const fs = require('fs');
const path = require('path');

const MAX_CDX_DEV_RESOURCES = 4; // include/linux/cdx/cdx_bus.h
const MSI_TABLE_STRIDE = 12; // addr_lo, addr_hi, data
const REGISTER_NAMES = ['ID', 'VERSION', 'BUS_MASTER', 'RESET_COUNT', 'MSI_ENABLE',
  'MSI_DOORBELL', 'MSI_FIRED', 'MSI_TABLE', 'DMA_SRC_LO', 'DMA_SRC_HI', 'DMA_DST_LO', 'DMA_DST_HI',
  'DMA_LEN', 'DMA_CTRL', 'DMA_STATUS', 'DMA_DONE', 'SCRATCH'];
const DMA_NAMES = ['ctrlGo', 'ctrlIrq', 'ctrlVectorShift', 'maxLength', 'statusDone', 'statusError'];
const cname = (n) => n.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

class FixtureError extends Error {}

function fail(msg) {
  throw new FixtureError(msg);
}

function num(value, what, max) {
  let n;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(value)) n = Number(value);
  else fail(`${what}: not a number: ${JSON.stringify(value)}`);
  if (!Number.isInteger(n) || n < 0 || n > max) fail(`${what}: out of range (0..${max}): ${value}`);
  return n;
}

const hex = (n, width) => '0x' + n.toString(16).padStart(width, '0');
const cstr = (s) => '"' + String(s).replace(/[\\"]/g, (c) => '\\' + c) + '"';

// Reads and checks the fixture: the register map, the copy engine's constants and the devices.
function parseFixture(fixture) {
  let spec;
  try {
    spec = JSON.parse(fs.readFileSync(fixture, 'utf8'));
  } catch (e) {
    fail(`${fixture}: ${e.message}`);
  }

  const model = spec.model || fail('no "model"');
  if (model.name !== 'cdx-test') fail(`unsupported model ${JSON.stringify(model.name)}`);
  const regs = {};
  for (const r of REGISTER_NAMES) {
    regs[r] = num(model.registers && model.registers[r], `model.registers.${r}`, 4092);
    if (regs[r] % 4) fail(`model.registers.${r}: not 32-bit aligned`);
  }
  const idBase = num(model.idBase, 'model.idBase', 0xffffffff);
  const version = num(model.version, 'model.version', 0xffffffff);
  const dma = {};
  for (const k of DMA_NAMES) dma[k] = num(model.dma && model.dma[k], `model.dma.${k}`, 0xffffffff);
  // every register is one 32-bit word; the MSI table runs up to the first register after it
  const sorted = REGISTER_NAMES.map((r) => [r, regs[r]]).sort((a, b) => a[1] - b[1]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i][1] === sorted[i - 1][1]) fail(`model.registers: ${sorted[i - 1][0]} and ${sorted[i][0]} overlap`);
  }
  const afterTable = sorted.find(([, off]) => off > regs.MSI_TABLE)[1];
  return { fixture, regs, idBase, version, dma, spec, afterTable };
}

// The devices of a parsed fixture, checked: what both the sim and the mock create.
function parseDevices(parsed) {
  const { regs, spec, afterTable } = parsed;
  const devices = spec.devices;
  if (!Array.isArray(devices) || devices.length === 0) fail('no "devices"');
  const seen = new Set();
  return devices.map((d, di) => {
    const where = `devices[${di}] (${d.name})`;
    const bus = num(d.bus, `${where}.bus`, 15);
    const dev = num(d.dev, `${where}.dev`, 255);
    // The sim is controller 0: cdx-%02x:%02x with (controller << 4) | bus.
    const expectName = `cdx-${hex(bus, 2).slice(2)}:${hex(dev, 2).slice(2)}`;
    if (d.name !== expectName) fail(`${where}: name should be ${expectName}`);
    if (seen.has(d.name)) fail(`${where}: duplicate device`);
    seen.add(d.name);
    const msi = num(d.msiCount || 0, `${where}.msiCount`, 1024);
    const isModel = d.model === 'cdx-test';
    if (d.model !== undefined && !isModel) fail(`${where}: unknown model ${d.model}`);
    const regions = d.regions || [];
    if (regions.length === 0 || regions.length > MAX_CDX_DEV_RESOURCES) {
      fail(`${where}: 1..${MAX_CDX_DEV_RESOURCES} regions required`);
    }
    let regRegion = -1;
    const rr = regions.map((r, ri) => {
      const rw = `${where}.regions[${ri}]`;
      const size = num(r.size, `${rw}.size`, 64 << 20);
      if (size === 0 || size % 4) fail(`${rw}: size must be a non-zero multiple of 4`);
      let fill = 'CDX_SIM_FILL_ZERO';
      let pattern = 0;
      if (r.contents === 'registers') {
        if (!isModel) fail(`${rw}: "registers" contents need model cdx-test`);
        if (regRegion >= 0) fail(`${where}: more than one register region`);
        if (size < regs.SCRATCH + 4) fail(`${rw}: too small for the register page`);
        if (r.readOnly) fail(`${rw}: the register region cannot be read-only`);
        regRegion = ri;
        fill = 'CDX_SIM_FILL_REGISTERS';
      } else if (r.contents === 'pattern') {
        fill = 'CDX_SIM_FILL_PATTERN';
        pattern = num(r.pattern, `${rw}.pattern`, 0xffffffff);
      } else if (r.contents !== undefined) {
        fail(`${rw}: unknown contents ${JSON.stringify(r.contents)}`);
      }
      return { size, readOnly: !!r.readOnly, fill, pattern, contents: r.contents };
    });
    if (isModel && regRegion < 0) fail(`${where}: model cdx-test needs a "registers" region`);
    if (isModel && regs.MSI_TABLE + msi * MSI_TABLE_STRIDE > afterTable) {
      fail(`${where}: MSI table for ${msi} vectors overlaps the next register`);
    }
    return {
      name: d.name, bus, dev, msi, isModel, regRegion, regions: rr,
      vendor: num(d.vendorId, `${where}.vendorId`, 0xffff),
      device: num(d.deviceId, `${where}.deviceId`, 0xffff),
      subVendor: num(d.subsystemVendorId || 0, `${where}.subsystemVendorId`, 0xffff),
      subDevice: num(d.subsystemDeviceId || 0, `${where}.subsystemDeviceId`, 0xffff),
      cls: num(d.classCode || 0, `${where}.classCode`, 0xffffff),
      rev: num(d.revision || 0, `${where}.revision`, 0xff),
    };
  });
}

// A region's initial contents as the fixture describes them (the rest is zero): the register
// page's ID (idBase | dev) and VERSION, or word i = pattern | i. 32-bit little-endian words.
function regionInit(parsed, device, region) {
  const init = new Uint8Array(region.size);
  const words = new DataView(init.buffer);
  if (region.fill === 'CDX_SIM_FILL_REGISTERS') {
    words.setUint32(parsed.regs.ID, (parsed.idBase | device.dev) >>> 0, true);
    words.setUint32(parsed.regs.VERSION, parsed.version >>> 0, true);
  } else if (region.fill === 'CDX_SIM_FILL_PATTERN') {
    for (let i = 0; i < region.size / 4; i++) words.setUint32(i * 4, (region.pattern | i) >>> 0, true);
  }
  return init;
}

// The fixture's devices as the TypeScript mock's device specs (MockDeviceSpec), every region
// with its initial contents: what lib/mock's fixtureDevices() must return too.
function fixtureDeviceSpecs(fixture = defaultFixture()) {
  const parsed = parseFixture(fixture);
  return toSpecs(parsed, parseDevices(parsed));
}

function toSpecs(parsed, rows) {
  return rows.map((d) => ({
    bus: d.bus,
    dev: d.dev,
    vendorId: d.vendor,
    deviceId: d.device,
    subsystemVendorId: d.subVendor,
    subsystemDeviceId: d.subDevice,
    classCode: d.cls,
    revision: d.rev,
    msiCount: d.msi,
    ...(d.isModel ? { model: 'cdx-test' } : {}),
    regions: d.regions.map((r) => ({ size: r.size, readOnly: r.readOnly, init: regionInit(parsed, d, r) })),
  }));
}

function defaultFixture() {
  return path.join(__dirname, '..', '..', 'fixtures', 'cdx-test-devices.json');
}

function main() {
  const args = process.argv.slice(2);
  const mode = args[0] === '--mock' || args[0] === '--mock-fixture' ? args.shift() : '';
  const fixture = args[0] || defaultFixture();
  const out = args[1];
  const parsed = parseFixture(fixture);
  if (mode === '--mock') {
    emit(out, mockHeader(fixture, parsed.regs, parsed.idBase, parsed.version, parsed.dma));
  } else if (mode === '--mock-fixture') {
    const rows = parseDevices(parsed);
    emit(out, mockFixtureHeader(fixture, rows, toSpecs(parsed, rows)));
  } else {
    emit(out, simHeader(fixture, parsed, parseDevices(parsed)));
  }
}

function simHeader(fixture, parsed, rows) {
  const { regs, idBase, version, dma } = parsed;
  const L = [];
  L.push('/* SPDX-License-Identifier: GPL-2.0 */');
  L.push('/*');
  L.push(' * cdx-sim device table, generated by scripts/vm/gen-sim-header.js from');
  L.push(` * fixtures/${path.basename(fixture)}. Do not edit: change the fixture.`);
  L.push(' */');
  L.push('#ifndef _CDX_SIM_DEVICES_H_');
  L.push('#define _CDX_SIM_DEVICES_H_');
  L.push('');
  L.push('#include <linux/types.h>');
  L.push('');
  L.push('/* The "cdx-test" register model: byte offsets in the register region. */');
  for (const r of REGISTER_NAMES) L.push(`#define CDX_SIM_REG_${r.padEnd(14)}${hex(regs[r], 3)}`);
  L.push(`#define CDX_SIM_MSI_TABLE_STRIDE  ${MSI_TABLE_STRIDE}`);
  L.push(`#define CDX_SIM_ID_BASE           ${hex(idBase, 8)}U`);
  L.push(`#define CDX_SIM_VERSION           ${hex(version, 8)}U`);
  L.push('/* The bus-master copy engine (DMA_* registers). */');
  for (const k of DMA_NAMES) L.push(`#define CDX_SIM_DMA_${cname(k).padEnd(18)}${hex(dma[k], 8)}U`);
  L.push('');
  L.push('enum cdx_sim_fill {');
  L.push('\tCDX_SIM_FILL_ZERO,\t\t/* all zero */');
  L.push('\tCDX_SIM_FILL_REGISTERS,\t\t/* ID = ID_BASE | dev, VERSION, rest zero */');
  L.push('\tCDX_SIM_FILL_PATTERN,\t\t/* 32-bit word i = pattern | i */');
  L.push('};');
  L.push('');
  L.push('struct cdx_sim_region_desc {');
  L.push('\tu32 size;');
  L.push('\tbool read_only;');
  L.push('\tenum cdx_sim_fill fill;');
  L.push('\tu32 pattern;');
  L.push('};');
  L.push('');
  L.push('struct cdx_sim_device_desc {');
  L.push('\tconst char *name;');
  L.push('\tu8 bus;');
  L.push('\tu8 dev;');
  L.push('\tu16 vendor;');
  L.push('\tu16 device;');
  L.push('\tu16 subsys_vendor;');
  L.push('\tu16 subsys_device;');
  L.push('\tu32 class;');
  L.push('\tu8 revision;');
  L.push('\tu32 num_msi;');
  L.push('\tint reg_region;\t\t\t/* index of the register region, -1: none */');
  L.push('\tunsigned int num_regions;');
  L.push(`\tstruct cdx_sim_region_desc regions[${MAX_CDX_DEV_RESOURCES}];`);
  L.push('};');
  L.push('');
  L.push(`#define CDX_SIM_NUM_DEVICES ${rows.length}`);
  L.push('');
  L.push('static const struct cdx_sim_device_desc cdx_sim_devices[CDX_SIM_NUM_DEVICES] = {');
  for (const d of rows) {
    L.push('\t{');
    L.push(`\t\t.name = ${cstr(d.name)},`);
    L.push(`\t\t.bus = ${d.bus},`);
    L.push(`\t\t.dev = ${d.dev},`);
    L.push(`\t\t.vendor = ${hex(d.vendor, 4)},`);
    L.push(`\t\t.device = ${hex(d.device, 4)},`);
    L.push(`\t\t.subsys_vendor = ${hex(d.subVendor, 4)},`);
    L.push(`\t\t.subsys_device = ${hex(d.subDevice, 4)},`);
    L.push(`\t\t.class = ${hex(d.cls, 6)},`);
    L.push(`\t\t.revision = ${hex(d.rev, 2)},`);
    L.push(`\t\t.num_msi = ${d.msi},`);
    L.push(`\t\t.reg_region = ${d.regRegion},`);
    L.push(`\t\t.num_regions = ${d.regions.length},`);
    L.push('\t\t.regions = {');
    for (const r of d.regions) {
      L.push(`\t\t\t{ .size = ${hex(r.size, 5)}, .read_only = ${r.readOnly}, ` +
        `.fill = ${r.fill}, .pattern = ${hex(r.pattern, 8)} },`);
    }
    L.push('\t\t},');
    L.push('\t},');
  }
  L.push('};');
  L.push('');
  L.push('#endif /* _CDX_SIM_DEVICES_H_ */');
  return L.join('\n') + '\n';
}

function emit(out, text) {
  if (out) fs.writeFileSync(out, text);
  else process.stdout.write(text);
}

// The register map as C++ constants for the mock's cdx-test model.
function mockHeader(fixture, regs, idBase, version, dma) {
  const L = [];
  L.push('// cdx_test_regs.h — the cdx-test register map, generated by scripts/vm/gen-sim-header.js --mock');
  L.push(`// from fixtures/${path.basename(fixture)}. Do not edit: change the fixture and regenerate`);
  L.push('// (test/native/fixture-sync.test.ts fails while this file is stale).');
  L.push('#pragma once');
  L.push('');
  L.push('#include <cstdint>');
  L.push('');
  L.push('namespace vfiocdx {');
  L.push('namespace mock {');
  L.push('namespace cdx_test {');
  L.push('');
  for (const r of REGISTER_NAMES) {
    const name = 'kReg' + r.toLowerCase().replace(/(^|_)([a-z])/g, (m, u, c) => c.toUpperCase());
    L.push(`constexpr uint32_t ${name.padEnd(16)} = ${hex(regs[r], 3)};`);
  }
  L.push(`constexpr uint32_t kMsiEntrySize    = ${MSI_TABLE_STRIDE};`);
  L.push(`constexpr uint32_t kIdBase          = ${hex(idBase, 8)};`);
  L.push(`constexpr uint32_t kVersion         = ${hex(version, 8)};`);
  for (const k of DMA_NAMES) {
    const name = 'kDma' + k[0].toUpperCase() + k.slice(1);
    L.push(`constexpr uint32_t ${name.padEnd(22)} = ${hex(dma[k], 8)};`);
  }
  L.push('');
  L.push('}  // namespace cdx_test');
  L.push('}  // namespace mock');
  L.push('}  // namespace vfiocdx');
  return L.join('\n') + '\n';
}

// A region's contents as runs of non-zero 32-bit little-endian words: {offset, count, value, step}
// is `count` words from byte `offset` holding value, value + step, ... (mod 2^32), step 0 or 1.
function wordRuns(init) {
  const words = new DataView(init.buffer, init.byteOffset, init.byteLength);
  const runs = [];
  for (let off = 0; off + 4 <= init.length; off += 4) {
    const v = words.getUint32(off, true);
    if (v === 0) continue;
    const last = runs[runs.length - 1];
    if (last && last.offset + 4 * last.count === off) {
      const step = (v - last.value) >>> 0;
      if (last.count === 1 && step <= 1) {
        last.step = step;
        last.count++;
        continue;
      }
      if (last.count > 1 && v === (last.value + last.count * last.step) >>> 0) {
        last.count++;
        continue;
      }
    }
    runs.push({ offset: off, count: 1, value: v, step: 0 });
  }
  return runs;
}

// The fixture's devices as the mock's C++ DeviceSpecs (for the C++ self-test), written from
// `specs`, the very objects fixtureDeviceSpecs() returns.
function mockFixtureHeader(fixture, rows, specs) {
  const L = [];
  L.push('// cdx_test_fixture.h — the devices of fixtures/' + path.basename(fixture) + ' as the mock\'s DeviceSpecs,');
  L.push('// generated by scripts/vm/gen-sim-header.js --mock-fixture. Do not edit: change the fixture and');
  L.push('// regenerate (test/native/fixture-sync.test.ts fails while this file is stale). They are the');
  L.push('// devices lib/mock\'s fixtureDevices() gives the TypeScript mock; the same test compares the two.');
  L.push('#pragma once');
  L.push('');
  L.push('#include <cstddef>');
  L.push('#include <cstdint>');
  L.push('#include <initializer_list>');
  L.push('#include <vector>');
  L.push('');
  L.push('#include "mock_kernel.h"');
  L.push('');
  L.push('namespace vfiocdx {');
  L.push('namespace mock {');
  L.push('namespace cdx_test {');
  L.push('');
  L.push('// `count` 32-bit little-endian words from byte `offset`: value, value + step, ... (mod 2^32).');
  L.push('struct WordRun {');
  L.push('  uint32_t offset;');
  L.push('  uint32_t count;');
  L.push('  uint32_t value;');
  L.push('  uint32_t step;');
  L.push('};');
  L.push('');
  L.push('// A region\'s initial contents: `size` bytes, zero but for `runs`.');
  L.push('inline std::vector<uint8_t> RegionInit(size_t size, std::initializer_list<WordRun> runs) {');
  L.push('  std::vector<uint8_t> init(size, 0);');
  L.push('  for (const WordRun& r : runs) {');
  L.push('    for (uint32_t i = 0; i < r.count; i++) {');
  L.push('      uint32_t v = r.value + i * r.step;');
  L.push('      for (uint32_t b = 0; b < 4; b++) init[r.offset + 4 * i + b] = static_cast<uint8_t>(v >> (8 * b));');
  L.push('    }');
  L.push('  }');
  L.push('  return init;');
  L.push('}');
  L.push('');
  L.push('// The fixture\'s devices in its order, unbound, as the controller\'s scan adds them.');
  L.push('inline std::vector<DeviceSpec> FixtureDevices() {');
  L.push('  std::vector<DeviceSpec> devices;');
  specs.forEach((s, i) => {
    const row = rows[i];
    L.push(`  {  // ${row.name}`);
    L.push('    DeviceSpec d;');
    L.push(`    d.bus = ${s.bus};`);
    L.push(`    d.dev = ${s.dev};`);
    L.push(`    d.vendor = ${hex(s.vendorId, 4)};`);
    L.push(`    d.device = ${hex(s.deviceId, 4)};`);
    L.push(`    d.subsystem_vendor = ${hex(s.subsystemVendorId, 4)};`);
    L.push(`    d.subsystem_device = ${hex(s.subsystemDeviceId, 4)};`);
    L.push(`    d.class_code = ${hex(s.classCode, 6)};`);
    L.push(`    d.revision = ${hex(s.revision, 2)};`);
    L.push(`    d.num_msi = ${s.msiCount};`);
    if (s.model) L.push(`    d.model = ${cstr(s.model)};`);
    L.push(`    d.regions.resize(${s.regions.length});`);
    s.regions.forEach((r, ri) => {
      const what = { CDX_SIM_FILL_REGISTERS: 'the register page: ID = idBase | dev, VERSION',
        CDX_SIM_FILL_PATTERN: `pattern ${hex(row.regions[ri].pattern, 8)}: word i = pattern | i`,
        CDX_SIM_FILL_ZERO: 'zero' }[row.regions[ri].fill];
      L.push(`    // region ${ri}: ${r.size} bytes${r.readOnly ? ', read-only' : ''}; ${what}`);
      L.push(`    d.regions[${ri}].size = ${hex(r.size, 4)};`);
      if (r.readOnly) L.push(`    d.regions[${ri}].read_only = true;`);
      const runs = wordRuns(r.init).map((w) => `{${hex(w.offset, 3)}, ${w.count}, ${hex(w.value, 8)}, ${w.step}}`);
      L.push(`    d.regions[${ri}].init = RegionInit(${hex(r.size, 4)}, {${runs.join(', ')}});`);
    });
    L.push('    devices.push_back(d);');
    L.push('  }');
  });
  L.push('  return devices;');
  L.push('}');
  L.push('');
  L.push('}  // namespace cdx_test');
  L.push('}  // namespace mock');
  L.push('}  // namespace vfiocdx');
  return L.join('\n') + '\n';
}

module.exports = { fixtureDeviceSpecs };

if (require.main === module) {
  try {
    main();
  } catch (e) {
    if (!(e instanceof FixtureError)) throw e;
    process.stderr.write(`gen-sim-header: ${e.message}\n`);
    process.exit(1);
  }
}
