#!/usr/bin/env node
/**
 * vfio-cdx command line: list | info | bind | unbind | reset | dump | demo.
 * `--json` prints machine-readable output; `--mock` runs against the bundled
 * mock fixture (two simulated devices) instead of the system's kernel.
 */
import { CdxBus, type CdxDeviceEntry } from './bus';
import type { Device } from './device';
import type { Kernel } from './kernel';
import { MockKernel } from './mock';

const USAGE = `usage: vfio-cdx <command> [--json] [--mock]
  list                                  CDX devices and their drivers
  info <dev>                            sysfs attributes; regions and bus master when bound to vfio-cdx
                                        (opening a device makes the kernel reset it)
  bind <dev>                            bind to vfio-cdx (driver_override + bind)
  unbind <dev>                          unbind and clear driver_override
  reset <dev>                           reset through sysfs
  dump <dev> <region> [offset] [length] hex dump of device memory (32-bit reads)
  demo                                  a tour on this machine's devices, or on the mock when there is no CDX bus`;

interface Args {
  command: string;
  rest: string[];
  json: boolean;
  mock: boolean;
}

function parse(argv: string[]): Args {
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const words = argv.filter((a) => !a.startsWith('--'));
  for (const f of flags) if (f !== '--json' && f !== '--mock' && f !== '--help') throw usage(`unknown option ${f}`);
  if (flags.has('--help') || words.length === 0) throw usage();
  return { command: words[0]!, rest: words.slice(1), json: flags.has('--json'), mock: flags.has('--mock') };
}

class UsageFailure extends Error {}
function usage(message?: string): UsageFailure {
  return new UsageFailure(message ? `${message}\n${USAGE}` : USAGE);
}

const hex = (v: number, width: number) => '0x' + v.toString(16).padStart(width, '0');

function out(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) + '\n'
    : text() + '\n');
}

function entryLine(e: CdxDeviceEntry): string {
  return `${e.name}  ${hex(e.vendorId, 4)}:${hex(e.deviceId, 4)}  class ${hex(e.classCode, 6)}  rev ${hex(e.revision, 2)}` +
    `  driver ${e.driver ?? '-'}  iommu_group ${e.iommuGroup ?? '-'}`;
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
    regions: dev.regions.map((r) => ({
      index: r.index, size: r.size, offset: r.offset, readable: r.readable, writable: r.writable, mappable: r.mappable,
    })),
  };
}

function summaryText(s: ReturnType<typeof deviceSummary>): string {
  const lines = [
    `opened through ${s.path} (${s.node}${s.noiommu ? ', no-IOMMU' : ''})`,
    `flags ${hex(s.info.flags, 3)}  regions ${s.info.numRegions}  irqs ${s.info.numIrqs}  resettable ${s.info.resettable}` +
      `  bus master control ${s.busMaster ? 'supported' : 'unsupported'}`,
  ];
  for (const r of s.regions) {
    lines.push(`  region ${r.index}: ${r.size} bytes at offset 0x${r.offset.toString(16)}  ` +
      `${r.readable ? 'r' : '-'}${r.writable ? 'w' : '-'}${r.mappable ? 'm' : '-'}`);
  }
  return lines.join('\n');
}

function dump(bus: CdxBus, name: string, regionArg: string, offArg: string | undefined, lenArg: string | undefined, json: boolean) {
  using dev = bus.open(name);
  const region = dev.regions[Number(regionArg)];
  if (region === undefined) throw usage(`${name} has no region ${regionArg}`);
  const offset = offArg === undefined ? 0 : Number(offArg);
  const length = lenArg === undefined ? Math.min(region.size - offset, 256) : Number(lenArg);
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset % 4 || length % 4 || length <= 0 ||
    offset + length > region.size) {
    throw usage(`offset and length must be multiples of 4 inside the region (size ${region.size})`);
  }
  const page = offset - (offset % 4096);
  using map = region.map({ offset: page, length: Math.min(region.size - page, offset - page + length + 4095 & ~4095) });
  const words: number[] = [];
  for (let o = offset; o < offset + length; o += 4) words.push(map.read32(o - page));
  out(json, { device: name, region: region.index, offset, words }, () => {
    const lines: string[] = [];
    for (let i = 0; i < words.length; i += 4) {
      lines.push(`${hex(offset + i * 4, 8)}: ${words.slice(i, i + 4).map((w) => hex(w, 8)).join(' ')}`);
    }
    return lines.join('\n');
  });
}

function demo(bus: CdxBus, mock: MockKernel | undefined): void {
  const say = (s: string) => process.stdout.write(s + '\n');
  if (mock) {
    say('No CDX bus on this machine (/sys/bus/cdx): running on the bundled mock kernel, ' +
      'two simulated devices from fixtures/cdx-test-devices.json.\n');
  }
  const devices = bus.list();
  say(`CDX devices:\n${devices.map((e) => '  ' + entryLine(e)).join('\n') || '  (none)'}\n`);
  const target = mock ? 'cdx-00:00' : devices.find((e) => e.driver === 'vfio-cdx')?.name;
  if (target === undefined) {
    say('No device is bound to vfio-cdx; bind one with `vfio-cdx bind <dev>` (as root) and run the demo again.');
    return;
  }
  if (mock) {
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

/** Runs the CLI; returns the exit status. */
export function main(argv: string[]): number {
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write((e as Error).message + '\n');
    return 2;
  }
  const wantsMock = args.mock || (args.command === 'demo' && !new CdxBus().present);
  const mock = wantsMock ? MockKernel.fixture() : undefined;
  const kernel: Kernel | undefined = mock;
  const bus = new CdxBus({ kernel });
  const need = (n: number) => {
    if (args.rest.length < n) throw usage(`${args.command} needs ${n === 1 ? 'a device name' : `${n} arguments`}`);
    return args.rest;
  };
  try {
    switch (args.command) {
      case 'list': {
        const list = bus.list();
        out(args.json, list, () => list.map(entryLine).join('\n') || '(no CDX devices)');
        break;
      }
      case 'info': {
        const [name] = need(1);
        const entry = bus.device(name!);
        let opened: ReturnType<typeof deviceSummary> | null = null;
        if (entry.driver === 'vfio-cdx') {
          using dev = bus.open(name!);
          opened = deviceSummary(dev);
        }
        out(args.json, { ...entry, vfio: opened }, () => entryLine(entry) + (opened ? '\n' + summaryText(opened) : ''));
        break;
      }
      case 'bind': bus.bind(need(1)[0]!); out(args.json, { bound: args.rest[0] }, () => `${args.rest[0]} bound to vfio-cdx`); break;
      case 'unbind': bus.unbind(need(1)[0]!); out(args.json, { unbound: args.rest[0] }, () => `${args.rest[0]} unbound`); break;
      case 'reset': bus.reset(need(1)[0]!); out(args.json, { reset: args.rest[0] }, () => `${args.rest[0]} reset`); break;
      case 'dump': {
        const [name, region, offset, length] = need(2);
        if (mock) bus.bind(name!);
        dump(bus, name!, region!, offset, length, args.json);
        break;
      }
      case 'demo': demo(bus, mock); break;
      default: throw usage(`unknown command ${args.command}`);
    }
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageFailure) {
      process.stderr.write(err.message + '\n');
      return 2;
    }
    if (args.json) process.stderr.write(JSON.stringify({ error: err.message, code: err.code }) + '\n');
    else process.stderr.write(`vfio-cdx: ${err.message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
