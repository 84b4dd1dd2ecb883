/**
 * `read` and `write`: devmem2 for CDX. One access of exactly the width asked for, at a naturally
 * aligned offset of a mapped region; nothing else touches the device (a write is not read back,
 * since reading a register can have side effects of its own).
 *
 * The kernel resets a vfio-cdx device when it is opened and again on its last close, so `read`
 * sees the registers as the reset leaves them, and what `write` stores lasts until the command
 * exits: use it for registers whose effect is immediate (a doorbell, a start bit).
 * @internal
 */
import type { Mapping } from '../mapping';
import { parseUnsigned, parseWidth, UsageError } from './args';
import type { Context } from './commands';
import { Failure, hex, json } from './output';

interface Access {
  device: string;
  region: number;
  offset: number;
  width: 8 | 16 | 32 | 64;
}

function parseAccess(command: 'read' | 'write', name: string, regionArg: string, offsetArg: string,
  widthArg: string | undefined): Access {
  const width = parseWidth(widthArg, command);
  const region = parseUnsigned(regionArg, 'region', command);
  const offset = parseUnsigned(offsetArg, 'offset', command);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`offset ${offsetArg} is out of range`, command);
  if (offset % BigInt(width / 8) !== 0n) {
    throw new UsageError(`offset ${hex(offset, 1)} is not aligned to ${width / 8} bytes: a ${width}-bit access must be ` +
      'naturally aligned', command);
  }
  return { device: name, region: Number(region), offset: Number(offset), width };
}

/** Opens the device, maps the page holding the access, and runs `fn` on it. */
function withRegister<T>(ctx: Context, command: 'read' | 'write', a: Access,
  fn: (map: Mapping, at: number) => T): T {
  using dev = ctx.bus.open(a.device);
  const region = dev.regions[a.region];
  if (region === undefined) {
    throw new UsageError(`${a.device} has no region ${a.region} (it has ${dev.regions.length}: ` +
      `0..${dev.regions.length - 1})`, command);
  }
  if (a.offset + a.width / 8 > region.size) {
    throw new UsageError(`offset ${hex(a.offset, 1)} is outside region ${a.region} of ${a.device} ` +
      `(size ${hex(region.size, 1)})`, command);
  }
  if (!region.mappable) {
    throw new Failure(`region ${a.region} cannot be mapped (its address or size is not page aligned, so vfio-cdx ` +
      'gives it no MMAP flag), and vfio-cdx has no read()/write() on the device fd: it cannot be accessed',
    'ERR_VFIO_NOT_MAPPABLE');
  }
  if (command === 'write' && !region.writable) throw new Failure(`region ${a.region} is read-only`, 'ERR_VFIO_READ_ONLY');
  const pageSize = dev.pageSize;  // the kernel's, which mmap offsets must be multiples of
  const page = a.offset - (a.offset % pageSize);
  using map = region.map({ offset: page, length: Math.min(pageSize, region.size - page) });
  return fn(map, a.offset - page);
}

function report(ctx: Context, a: Access, value: bigint, verb: string): void {
  const h = hex(value, a.width / 4);
  if (ctx.json) {
    ctx.io.out(json({ device: a.device, region: a.region, offset: a.offset, width: a.width, value: h, decimal: value.toString() }));
  } else {
    ctx.io.out(`${a.device} region ${a.region} offset ${hex(a.offset, 1)} (${a.width}-bit): ${verb}${h} (${value})`);
  }
}

export function read(ctx: Context, name: string, regionArg: string, offsetArg: string, widthArg: string | undefined): void {
  const a = parseAccess('read', name, regionArg, offsetArg, widthArg);
  const value = withRegister(ctx, 'read', a, (map, at) => {
    switch (a.width) {
      case 8: return BigInt(map.read8(at));
      case 16: return BigInt(map.read16(at));
      case 32: return BigInt(map.read32(at));
      case 64: return map.read64(at);
    }
  });
  report(ctx, a, value, '');
}

export function write(ctx: Context, name: string, regionArg: string, offsetArg: string, valueArg: string,
  widthArg: string | undefined): void {
  const a = parseAccess('write', name, regionArg, offsetArg, widthArg);
  const value = parseUnsigned(valueArg, 'value', 'write');
  if (value >> BigInt(a.width) !== 0n) {
    throw new UsageError(`value ${valueArg} does not fit in ${a.width} bits`, 'write');
  }
  withRegister(ctx, 'write', a, (map, at) => {
    switch (a.width) {
      case 8: return map.write8(at, Number(value));
      case 16: return map.write16(at, Number(value));
      case 32: return map.write32(at, Number(value));
      case 64: return map.write64(at, value);
    }
  });
  report(ctx, a, value, 'wrote ');
}
