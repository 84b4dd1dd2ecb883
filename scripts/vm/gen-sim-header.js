#!/usr/bin/env node
// gen-sim-header.js — generate the cdx-sim device table (a kernel C header)
// from fixtures/cdx-test-devices.json, the one device description shared by
// the mock and the VM. Plain node, no dependencies, deterministic output.
//
// Usage: node scripts/vm/gen-sim-header.js [--mock] [FIXTURE.json] [OUT.h]
//   FIXTURE defaults to fixtures/cdx-test-devices.json next to this repo,
//   OUT defaults to stdout. Exits 1 with a message on an invalid fixture.
//   --mock: the cdx-test register map as a C++ header for the mock's model
//   (src-native/mock/cdx_test_regs.h, committed; a test checks it is current).
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

function fail(msg) {
  process.stderr.write(`gen-sim-header: ${msg}\n`);
  process.exit(1);
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

function main() {
  const repo = path.resolve(__dirname, '..', '..');
  const args = process.argv.slice(2);
  const mock = args[0] === '--mock';
  if (mock) args.shift();
  const fixture = args[0] || path.join(repo, 'fixtures', 'cdx-test-devices.json');
  const out = args[1];
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
  if (mock) {
    emit(out, mockHeader(fixture, regs, idBase, version, dma));
    return;
  }

  const devices = spec.devices;
  if (!Array.isArray(devices) || devices.length === 0) fail('no "devices"');
  const seen = new Set();
  const rows = devices.map((d, di) => {
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
      return { size, readOnly: !!r.readOnly, fill, pattern };
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
  emit(out, L.join('\n') + '\n');
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

main();
