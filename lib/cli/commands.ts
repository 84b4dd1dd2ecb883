/**
 * The everyday commands: list, info, bind, unbind, reset, dump and demo.
 * @internal
 */
import { CdxBus, type CdxDeviceEntry } from '../bus';
import type { Device } from '../device';
import type { Kernel } from '../kernel';
import type { MockKernel, MockProfile } from '../mock';
import { parseUnsigned, UsageError } from './args';
import { describeMock } from './mock-fixture';
import { hex, json, type Io } from './output';

/** What every command gets. */
export interface Context {
  bus: CdxBus;
  /** undefined: the running kernel. */
  kernel: Kernel | undefined;
  /** The mock behind --mock, if any. */
  mock: MockKernel | undefined;
  profile: MockProfile | undefined;
  io: Io;
  json: boolean;
}

function entryLine(e: CdxDeviceEntry): string {
  return `${e.name}  ${hex(e.vendorId, 4)}:${hex(e.deviceId, 4)}  class ${hex(e.classCode, 6)}  rev ${hex(e.revision, 2)}` +
    `  driver ${e.driver ?? '-'}  iommu_group ${e.iommuGroup ?? '-'}`;
}

function entryDetails(e: CdxDeviceEntry): string[] {
  return [
    `\tsubsystem ${hex(e.subsystemVendorId, 4)}:${hex(e.subsystemDeviceId, 4)}`,
    `\tdriver_override ${e.driverOverride ?? '(none)'}`,
    `\tvfio device ${e.vfioDevice ?? '-'}`,
    `\tmodalias ${e.modalias}`,
  ];
}

export function list(ctx: Context, verbose: boolean): void {
  const devices = ctx.bus.list();
  if (ctx.json) return ctx.io.out(json(devices));
  if (devices.length === 0) return ctx.io.out('(no CDX devices)');
  ctx.io.out(devices.map((e) => [entryLine(e), ...(verbose ? entryDetails(e) : [])].join('\n')).join('\n'));
}

function deviceSummary(dev: Device) {
  return {
    name: dev.name,
    path: dev.path,
    node: dev.node,
    group: dev.group,
    noiommu: dev.noiommu,
    info: dev.info,
    busMaster: dev.busMaster.supported,
    msiVectors: dev.msi.count,
    regions: dev.regions.map((r) => ({
      index: r.index, size: r.size, offset: r.offset, readable: r.readable, writable: r.writable, mappable: r.mappable,
    })),
  };
}

function summaryText(s: ReturnType<typeof deviceSummary>): string {
  const lines = [
    `opened through ${s.path} (${s.node}${s.noiommu ? ', no-IOMMU' : ''})`,
    `flags ${hex(s.info.flags, 3)}  regions ${s.info.numRegions}  MSI vectors ${s.msiVectors}  ` +
      `resettable ${s.info.resettable}  bus master control ${s.busMaster ? 'supported' : 'unsupported'}`,
  ];
  for (const r of s.regions) {
    lines.push(`  region ${r.index}: ${r.size} bytes at offset 0x${r.offset.toString(16)}  ` +
      `${r.readable ? 'r' : '-'}${r.writable ? 'w' : '-'}${r.mappable ? 'm' : '-'}`);
  }
  return lines.join('\n');
}

export function info(ctx: Context, name: string): void {
  const entry = ctx.bus.device(name);
  let opened: ReturnType<typeof deviceSummary> | null = null;
  if (entry.driver === 'vfio-cdx') {
    using dev = ctx.bus.open(name);
    opened = deviceSummary(dev);
  }
  if (ctx.json) return ctx.io.out(json({ ...entry, vfio: opened }));
  ctx.io.out(entryLine(entry) + (opened ? '\n' + summaryText(opened) : ''));
}

export function bind(ctx: Context, name: string): void {
  const before = ctx.bus.device(name).driver;
  ctx.bus.bind(name);
  const changed = before !== 'vfio-cdx';
  if (ctx.json) return ctx.io.out(json({ device: name, driver: 'vfio-cdx', previous: before, changed }));
  ctx.io.out(!changed ? `${name} already bound to vfio-cdx`
    : `${name} bound to vfio-cdx${before !== null ? ` (was ${before})` : ''}`);
}

export function unbind(ctx: Context, name: string): void {
  const before = ctx.bus.device(name).driver;
  ctx.bus.unbind(name);
  if (ctx.json) return ctx.io.out(json({ device: name, driver: null, previous: before, changed: before !== null }));
  ctx.io.out(before !== null ? `${name} unbound from ${before}; driver_override cleared`
    : `${name} had no driver; driver_override cleared`);
}

export function reset(ctx: Context, name: string): void {
  ctx.bus.reset(name);
  if (ctx.json) return ctx.io.out(json({ device: name, reset: true }));
  ctx.io.out(`${name} reset`);
}

export function dump(ctx: Context, name: string, regionArg: string, offArg: string | undefined,
  lenArg: string | undefined): void {
  const index = parseUnsigned(regionArg, 'region', 'dump');
  const offset = offArg === undefined ? 0 : Number(parseUnsigned(offArg, 'offset', 'dump'));
  using dev = ctx.bus.open(name);
  const region = dev.regions[Number(index)];
  if (region === undefined) throw new UsageError(`${name} has no region ${regionArg} (it has ${dev.regions.length})`, 'dump');
  const length = lenArg === undefined ? Math.min(region.size - offset, 256) : Number(parseUnsigned(lenArg, 'length', 'dump'));
  if (offset % 4 || length % 4 || length <= 0 || offset + length > region.size) {
    throw new UsageError(`offset and length must be multiples of 4 inside region ${region.index} of ${name} ` +
      `(size ${region.size})`, 'dump');
  }
  const pageSize = dev.pageSize;
  const page = offset - (offset % pageSize);
  const mapLength = Math.min(region.size - page, Math.ceil((offset - page + length) / pageSize) * pageSize);
  using map = region.map({ offset: page, length: mapLength });
  const words: number[] = [];
  for (let o = offset; o < offset + length; o += 4) words.push(map.read32(o - page));
  if (ctx.json) return ctx.io.out(json({ device: name, region: region.index, offset, words }));
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 4) {
    lines.push(`${hex(offset + i * 4, 8)}: ${words.slice(i, i + 4).map((w) => hex(w, 8)).join(' ')}`);
  }
  ctx.io.out(lines.join('\n'));
}

/** A tour of one device; on the mock (no CDX bus, or --mock), of the fixture's cdx-00:00. */
export function demo(ctx: Context, auto: boolean): void {
  const say = (s: string) => ctx.io.out(s);
  const { bus, mock } = ctx;
  if (mock) {
    say((auto ? 'No CDX bus on this machine (/sys/bus/cdx): running on the bundled mock kernel, ' +
      'two simulated devices from fixtures/cdx-test-devices.json.\n' : '') + describeMock(mock, ctx.profile!) + '\n');
  }
  const devices = bus.list();
  say(`CDX devices:\n${devices.map((e) => '  ' + entryLine(e)).join('\n') || '  (none)'}\n`);
  const target = mock ? 'cdx-00:00' : devices.find((e) => e.driver === 'vfio-cdx')?.name;
  if (target === undefined) {
    say('No device is bound to vfio-cdx; bind one with `vfio-cdx bind <dev>` (as root) and run the demo again.');
    return;
  }
  if (bus.device(target).driver !== 'vfio-cdx') {
    say(`bind ${target} to vfio-cdx`);
    bus.bind(target);
  }
  using dev = bus.open(target);
  say(`open ${target}: ${summaryText(deviceSummary(dev))}\n`);
  const region = dev.regions.find((r) => r.mappable);
  if (region === undefined) return;
  using regs = region.map();
  say(`region ${region.index} mapped (${regs.length} bytes, ${regs.accessor} accessors)`);
  say(`  0x00 ID          = ${hex(regs.read32(0x00), 8)}`);
  say(`  0x04 VERSION     = ${hex(regs.read32(0x04), 8)}`);
  if (mock && region.writable) {
    say(`  0x0c RESET_COUNT = ${regs.read32(0x0c)}`);
    regs.write32(0x100, 0xcafef00d);
    say(`  write 0xcafef00d to SCRATCH (0x100); read back ${hex(regs.read32(0x100), 8)}`);
    if (dev.busMaster.supported) {
      dev.busMaster.set(true);
      say(`  bus master on: the device mirrors it at 0x08 = ${regs.read32(0x08)}; the mock's controller sees ` +
        `${mock.device(target).busMaster}`);
    }
    dev.reset();
    say(`  VFIO_DEVICE_RESET: SCRATCH = ${hex(regs.read32(0x100), 8)}, RESET_COUNT = ${regs.read32(0x0c)}, ` +
      `BUS_MASTER = ${regs.read32(0x08)}`);
  }
  say('\nclose: mappings are unmapped and the device fd closed (the kernel resets the device on last close).');
}

/** Whether the running kernel has a CDX bus (demo falls back to the mock without one). */
export function systemHasCdxBus(): boolean {
  return new CdxBus().present;
}
