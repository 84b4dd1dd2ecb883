/**
 * The fuzzer's vocabulary: every call it can make, each as a generator that
 * looks at what the sequence holds, draws its arguments and returns the call
 * (its journal text and a closure that makes it). Most arguments are valid, so
 * sequences get deep into the API; a share are wrong types, edge values,
 * hostile objects, wrong receivers, or calls after close.
 */
import { existsSync } from 'node:fs';
import { BusMaster, CdxBus, Device, Dma, DmaBuffer, Kernel, Mapping, Msi, MsiVector, Region, SystemKernel, VfioError,
  errnoName, errnoNumber, systemKernel } from '../../lib';
import { FAULT_OPS, MOCK_PROFILES, MockDevice, MockKernel, fixtureDevices } from '../../lib/mock';
import { RawKernel, abi, struct } from '../../lib/raw';
import { openCdevPathSteps, openGroupPathSteps, type Keep } from '../helpers/raw-open';
import type { Rng } from './rng';
import type { BSlot, DSlot, KSlot, MSlot, Sequence, VSlot } from './sequence';
import { EDGE_NUMBERS, args, bad, nameOf, show, wrongType } from './values';

/** One call, ready to run. */
export interface Call {
  op: string;
  /** The call as JavaScript-like text, for the journal. */
  desc: string;
  run: () => unknown;
  /** Await what run() returns before the next call (turning the event loop). */
  await?: boolean;
  /** A thrown value this call may legitimately throw although it has no code (the caller's own abort reason). */
  allow?: (e: unknown) => boolean;
  /** A finer name than `op`, for --exclude. */
  tag?: string;
}

type Gen = (s: Sequence, r: Rng) => Call | undefined;

const C = abi().constants;
const SYS = abi().sys;
const STRUCTS = abi().structs;
const MINSZ = abi().minsz;
const PROFILES = MOCK_PROFILES;
const ERRNO_NAMES = ['EIO', 'ENOMEM', 'EINVAL', 'EBUSY', 'ETIMEDOUT', 'EACCES', 'EPERM', 'ENODEV', 'EFAULT', 'EAGAIN',
  'ENOSPC', 'EINTR', 'ENOENT', 'ENOTTY', 'EBADF', 'E2BIG', 'EEXIST', 'EOPNOTSUPP'];
const REQUESTS: number[] = [...new Set(Object.entries(C).filter(([k, v]) => /^(VFIO|IOMMU)_[A-Z_0-9]+$/.test(k) &&
  v >= C.VFIO_GET_API_VERSION! && v <= C.IOMMU_VFIO_IOAS! + 8).map(([, v]) => v))];
const REQUEST_NAME = new Map<number, string>(Object.entries(C).filter(([, v]) => REQUESTS.includes(v)).map(([k, v]) => [v, k]));
const REGISTERS = [0, 4, 8, 12, 16, 20, 24, 32, 256];
const SYSTEM_BUS_ABSENT = !existsSync('/sys/bus/cdx');

// ---------------------------------------------------------------- helpers

function kernelDevices(ks: KSlot): string[] {
  try {
    return ks.k.devices;
  } catch {
    return [];
  }
}

/** A device name for `ks`: mostly one it has, sometimes one it has not, sometimes not a name at all. */
function devName(r: Rng, ks: KSlot | undefined, busDevices = false): unknown {
  const names = ks ? kernelDevices(ks).filter((n) => busDevices || n.includes(':')) : [];
  const k = r.int(20);
  if (k < 16 && names.length > 0) return r.pick(names);
  if (k < 18) return r.pick(['cdx-00:00', 'cdx-00:01', 'cdx-01:03', 'cdx-0f:ff', 'cdx-00']);
  if (k < 19) return r.pick(['CDX-00:00', 'cdx-00:0', 'cdx-00:00/../x', '../../etc', '', 'cdx-zz:00']);
  return wrongType(r);
}

function kernel(s: Sequence, r: Rng): KSlot | undefined {
  return s.kernels.length === 0 ? undefined : r.pick(s.kernels);
}

function device(s: Sequence, r: Rng, pLive = 0.9): DSlot | undefined {
  return s.pick(r, s.devices, (d) => !d.closed, pLive);
}

function mapping(s: Sequence, r: Rng): MSlot | undefined {
  return s.pick(r, s.mappings, (m) => !m.ds.closed, 0.9);
}

function vector(s: Sequence, r: Rng): VSlot | undefined {
  return s.pick(r, s.vectors, (v) => !v.ds.closed, 0.85);
}

function buffer(s: Sequence, r: Rng): BSlot | undefined {
  return s.pick(r, s.buffers, (b) => !b.ds.closed, 0.85);
}

/** An offset for a `width`-byte access of a `length`-byte mapping. */
function offset(r: Rng, length: number, width: number): unknown {
  const k = r.int(20);
  const valid = (): number => {
    const regs = REGISTERS.filter((o) => o % width === 0 && o + width <= length);
    if (regs.length > 0 && r.chance(0.4)) return r.pick(regs);
    return r.int(Math.floor((length - width) / width) + 1) * width;
  };
  if (k < 14) return valid();
  if (k < 15) return width > 1 ? valid() + r.range(1, width - 1) : length;
  if (k < 17) return r.pick([length, length - width + 1, length + width, -width, 2 ** 32, 2 ** 32 + width, 2 ** 53, length - 1]);
  if (k < 19) return r.pick(EDGE_NUMBERS);
  return wrongType(r);
}

/** A value to write with a `width`-byte access. */
function value(r: Rng, width: number): unknown {
  const k = r.int(20);
  if (k < 15) {
    if (width === 8) return r.chance(0.7) ? r.u64() : r.int(2 ** 30);
    const v = r.u32();
    return width === 4 ? v : width === 2 ? v & 0xffff : v & 0xff;
  }
  if (k < 18) {
    if (width === 8) return r.pick([-1n, 2n ** 64n, -1, 2 ** 53, 1.5, NaN, 2 ** 64]);
    return r.pick([-1, 2 ** (8 * width), 1.5, NaN, Infinity, 1n, 2 ** 53, -0]);
  }
  return wrongType(r);
}

function pageOffset(r: Rng): unknown {
  return r.weighted<unknown>([[10, 0], [4, 4096], [2, 8192], [1, 16384], [1, 65536], [1, 2048], [1, 1], [1, -4096],
    [0.5, 2 ** 53], [1, wrongType(r)]]);
}

function mapOptions(r: Rng, size: number): unknown {
  const k = r.int(20);
  if (k === 0) return bad(r);
  if (k === 1) return null;
  if (k < 4) return undefined;
  const o: Record<string, unknown> = {};
  if (r.chance(0.3)) o.offset = pageOffset(r);
  if (r.chance(0.4)) {
    o.length = r.weighted<unknown>([[4, size], [4, 4096], [2, 2048], [1, 1], [1, size + 4096], [1, 0], [1, 8192],
      [1, 65536], [1, -1], [1, wrongType(r)]]);
  }
  if (r.chance(0.5)) o.accessor = r.weighted<unknown>([[5, 'js'], [5, 'native'], [1, 'JS'], [1, wrongType(r)]]);
  return o;
}

/** Safe user pointers: unmapped, non-canonical or kernel addresses, or memory this sequence mapped itself. */
function pointer(s: Sequence, r: Rng, ks: KSlot): bigint {
  const own = s.rawMaps.filter((m) => m.live && m.ks.token === ks.token);
  if (own.length > 0 && r.chance(0.4)) {
    const m = r.pick(own);
    m.tainted = true;  // the kernel may keep it (pinned for DMA): never unmapped before the descriptors close
    return m.address + BigInt(r.pick([0, 0, 4096, m.length - 16 > 0 ? m.length - 16 : 0]));
  }
  return r.pick([0n, 0x1000n, 0x8000_0000_0000n, 0xffff_8000_0000_0000n, 0xffff_ffff_ffff_f000n, 0x10n]);
}

// ---------------------------------------------------------------- kernels

function regionSpec(r: Rng, forModel: boolean): unknown {
  if (r.chance(0.02)) return bad(r);
  const o: Record<string, unknown> = {
    size: forModel ? r.pick([4096, 8192, 65536]) : r.weighted<unknown>([[6, 4096], [3, 65536], [2, 8192], [2, 2048],
      [1, 100], [1, 1 << 20], [1, 3 * 4096], [0.3, 0], [0.3, -1], [0.3, 2 ** 53], [0.3, 1.5], [0.3, wrongType(r)]]),
  };
  if (r.chance(0.25)) o.readOnly = r.chance(0.95) ? true : wrongType(r);
  if (r.chance(0.05)) o.addr = r.pick<unknown>([0x10000000, 0x10000001, 'x', -1, 2n ** 64n, 0x4000_0000_0000n, wrongType(r)]);
  if (r.chance(0.1)) o.init = r.pick<unknown>([new Uint8Array([1, 2, 3, 4]), [0xff, 0x100, -1], new Uint8Array(70000), wrongType(r)]);
  return o;
}

function deviceSpec(r: Rng, dev: number): unknown {
  if (r.chance(0.03)) return bad(r);
  const model = r.weighted<unknown>([[8, undefined], [4, 'cdx-test'], [2, 'axi-cdma'], [1, 'lnic'], [0.3, 'cdx-tset'], [0.2, wrongType(r)]]);
  const n = model === undefined ? r.range(0, 4) : r.range(1, 3);
  const o: Record<string, unknown> = {
    dev,
    deviceId: r.pick([0x8084, 0x8085, 0x1234, 0xffff]),
    regions: Array.from({ length: n + (r.chance(0.03) ? 2 : 0) }, (_, i) => regionSpec(r, i === 0 && model !== undefined)),
  };
  if (model !== undefined) o.model = model;
  if (r.chance(0.3)) o.bus = r.chance(0.9) ? r.int(2) : r.pick<unknown>([16, -1, wrongType(r)]);
  if (r.chance(0.7)) o.msiCount = r.weighted<unknown>([[6, r.range(1, 8)], [1, 0], [0.3, 2048], [0.3, 2049], [0.3, wrongType(r)]]);
  if (r.chance(0.8)) o.bound = r.chance(0.95) ? true : wrongType(r);
  if (r.chance(0.1)) o.busMasterSupported = r.chance(0.9) ? false : wrongType(r);
  if (r.chance(0.05)) o.iommuGroup = r.pick<unknown>([0, 7, 0x7fffffff, -1, wrongType(r)]);
  if (r.chance(0.05)) o.vendorId = r.pick<unknown>([0x10ee, 0x10000, wrongType(r)]);
  if (r.chance(0.03)) o.msicount = 4;  // a typo
  if (r.chance(0.03)) o[r.pick(['subsystemVendorId', 'classCode', 'revision', 'dev', 'deviceId'])] = bad(r);
  return o;
}

function kernelOptions(r: Rng): unknown {
  if (r.chance(0.03)) return bad(r);
  const o: Record<string, unknown> = {};
  if (r.chance(0.8)) o.profile = r.chance(0.96) ? r.pick(PROFILES) : r.pick<unknown>(['linux-2.6', 'Cdev', wrongType(r)]);
  if (r.chance(0.97)) {
    const count = r.range(0, 3);
    const used = new Set<number>();
    o.devices = Array.from({ length: count }, () => {
      let d = r.int(8);
      if (used.has(d) && r.chance(0.9)) d = Math.max(...used) + 1;
      used.add(d);
      return deviceSpec(r, d);
    });
  } else {
    o.devices = wrongType(r);
  }
  if (r.chance(0.12)) o.pageSize = r.weighted<unknown>([[2, 16384], [2, 65536], [2, 8192], [2, 4096], [1, 2048], [1, 3000], [1, wrongType(r)]]);
  for (const key of ['capSysRawio', 'iommufd', 'iommu', 'vfioCdxDetachIoas', 'noiommuConfig', 'noiommuEnabled', 'vfioCdxLoaded']) {
    if (r.chance(0.06)) o[key] = r.chance(0.9) ? r.chance(0.5) : wrongType(r);
  }
  if (r.chance(0.08)) o.dmaEntryLimit = r.pick<unknown>([0, 1, 2, 16, 65535, -1, wrongType(r)]);
  if (r.chance(0.08)) o.memlockLimit = r.pick<unknown>([0, 4096, 65536, 1 << 20, -1, wrongType(r)]);
  if (r.chance(0.02)) o.profle = 'cdev';  // a typo
  return o;
}

function addKernel(s: Sequence, k: MockKernel, name: string): void {
  nameOf(k, name);
  const bus = nameOf(new CdxBus({ kernel: k }), `${name}bus`);
  const raw = nameOf(new RawKernel(k), `${name}raw`);
  s.kernels.push({ id: s.kernels.length, name, k, bus, raw, token: k.token });
}

const createKernel: Gen = (s, r) => {
  if (s.kernels.length >= 4) return undefined;
  const opts = kernelOptions(r);
  const name = s.nextName('k');
  return { op: 'mock.create', desc: `${name} = MockKernel.create(${show(opts)})`,
    run: () => addKernel(s, MockKernel.create(opts as never), name) };
};

const fixtureKernel: Gen = (s, r) => {
  if (s.kernels.length >= 4) return undefined;
  let opts: unknown;
  if (r.chance(0.05)) {
    opts = bad(r);
  } else {
    const o: Record<string, unknown> = { bound: r.chance(0.85) };
    if (r.chance(0.7)) o.profile = r.pick(PROFILES);
    if (r.chance(0.05)) o.pageSize = r.pick([16384, 65536]);
    if (r.chance(0.03)) o.devices = [];
    opts = o;
  }
  const name = s.nextName('k');
  return { op: 'mock.fixture', desc: `${name} = MockKernel.fixture(${show(opts)})`,
    run: () => addKernel(s, MockKernel.fixture(opts as never), name) };
};

const attachKernel: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (s.kernels.length >= 5) return undefined;
  const name = s.nextName('k');
  if (ks !== undefined && r.chance(0.8)) {
    return { op: 'mock.attach', desc: `${name} = MockKernel.attach(${ks.name}.token)`,
      run: () => addKernel(s, MockKernel.attach(ks.token), name) };
  }
  const token = r.pick<unknown>(['', '0', 'mock:1', 'x'.repeat(100), '18446744073709551615', wrongType(r)]);
  return { op: 'mock.attach', desc: `${name} = MockKernel.attach(${show(token)})`,
    run: () => addKernel(s, MockKernel.attach(token as string), name) };
};

const addDevice: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const spec = deviceSpec(r, r.int(12));
  return { op: 'mock.addDevice', desc: `${ks.name}.addDevice(${show(spec)})`, run: () => ks.k.addDevice(spec as never) };
};

// ---------------------------------------------------------------- mock control

const mockDevice: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const name = devName(r, ks, true);
  const what = r.int(10);
  if (what < 7) {
    const g = r.pick(['busMaster', 'resets', 'driver', 'openCount', 'msiEnabled', 'dmaErrors', 'exists', 'name']);
    return { op: 'mock.status', desc: `${ks.name}.device(${show(name)}).${g}`,
      run: () => (ks.k.device(name as string) as unknown as Record<string, unknown>)[g] };
  }
  const index = r.chance(0.9) ? r.int(4) : bad(r);
  const at = r.pick([0, 4, 8, 16, 20, 256, 4095, 4096, 65535, 70000]);
  const v = r.int(256);
  const write = r.chance(0.5);
  return { op: 'mock.region', desc: `${ks.name}.device(${show(name)}).region(${show(index)})[${at}]${write ? ` = ${v}` : ''}`,
    run: () => {
      const bytes = ks.k.device(name as string).region(index as number);
      if (write) bytes[at] = v;
      return bytes[at];
    } };
};

const raiseMsi: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const name = devName(r, ks);
  const v = r.chance(0.85) ? r.int(5) : bad(r);
  return { op: 'mock.raiseMsi', desc: `${ks.name}.device(${show(name)}).raiseMsi(${show(v)})`,
    run: () => ks.k.device(name as string).raiseMsi(v as number) };
};

const deviceDma: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const b = buffer(s, r);
  const name = b !== undefined && r.chance(0.8) ? b.ds.devName : devName(r, ks);
  const kn = b !== undefined && r.chance(0.8) ? b.ds.ks : ks;
  const iova = b !== undefined && r.chance(0.8)
    ? b.b.iova + BigInt(r.pick([0, 0, 8, 4096, b.b.size - 8, b.b.size, -8]))
    : r.weighted<unknown>([[3, BigInt(r.int(2 ** 20)) * 4096n], [1, 0n], [1, 2n ** 64n - 1n], [1, -1n], [1, 0x8000000n], [1, bad(r)]]);
  const len = r.weighted<unknown>([[4, r.pick([1, 8, 64, 4096])], [1, 0], [1, b?.b.size ?? 8192], [0.5, -1], [0.5, 1.5],
    [0.3, 2 ** 53], [0.3, NaN], [0.5, wrongType(r)]]);
  if (r.chance(0.5)) {
    return { op: 'mock.dmaRead', desc: `${kn.name}.device(${show(name)}).dmaRead(${args(iova, len)})`,
      run: () => kn.k.device(name as string).dmaRead(iova as bigint, len as number) };
  }
  const bytes = r.chance(0.9) && typeof len === 'number' && Number.isSafeInteger(len) && len >= 0 && len <= 65536
    ? new Uint8Array(len).fill(r.int(256)) : wrongType(r);
  return { op: 'mock.dmaWrite', desc: `${kn.name}.device(${show(name)}).dmaWrite(${args(iova, bytes)})`,
    run: () => kn.k.device(name as string).dmaWrite(iova as bigint, bytes as Uint8Array) };
};

function faultSpec(r: Rng, ks: KSlot): unknown {
  if (r.chance(0.03)) return bad(r);
  const op = r.chance(0.97) ? r.pick(FAULT_OPS) : r.pick(['ioctls', 'mmapp', 'close']);
  const match: Record<string, () => unknown> = {
    ioctl: () => r.chance(0.3) ? '*' : REQUEST_NAME.get(r.pick(REQUESTS)) ?? 'VFIO_DEVICE_RESET',
    open: () => r.pick(['*', '/dev/vfio/', '/dev/vfio/vfio', '/dev/iommu', '/dev/vfio/devices/', '/sys/bus/cdx/']),
    mmap: () => r.chance(0.6) ? '*' : devName(r, ks),
    eventfd: () => '*',
    sysfsRead: () => r.pick(['*', 'driver_override', 'vendor', 'modalias', 'enable_unsafe_noiommu_mode']),
    sysfsWrite: () => r.pick(['*', 'drivers_probe', 'bind', 'unbind', 'driver_override', 'reset', 'remove', 'rescan']),
    readDir: () => r.pick(['*', '/sys/bus/cdx/devices', 'vfio-dev']),
    readLink: () => r.pick(['*', 'iommu_group', 'driver']),
    controller: () => r.pick(['reset', 'set_master', 'clear_master', 'msi_enable', 'msi_disable']),
  };
  const o: Record<string, unknown> = { [op]: r.chance(0.95) ? (match[op]?.() ?? '*') : wrongType(r) };
  o.errno = r.weighted<unknown>([[10, r.pick(ERRNO_NAMES)], [3, r.pick([1, 5, 12, 22, 16, 110])], [0.5, -5],
    [0.4, 0], [0.4, 4095], [0.4, 4096], [0.4, 2 ** 31], [0.4, 2 ** 32 - 5], [0.3, 1e300], [0.3, NaN], [0.3, 0.5],
    [0.4, 'EWHAT'], [0.4, wrongType(r)]]);
  if (r.chance(0.6)) o.times = r.weighted<unknown>([[6, 1], [2, 2], [2, -1], [0.5, 0], [0.3, 1e9], [0.3, 1.5], [0.3, wrongType(r)]]);
  if (r.chance(0.3)) o.skip = r.weighted<unknown>([[5, r.int(4)], [0.3, -1], [0.3, 2 ** 53], [0.3, wrongType(r)]]);
  if (r.chance(0.2)) o.device = devName(r, ks);
  return o;
}

const injectFault: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const f = faultSpec(r, ks);
  return { op: 'mock.fault', desc: `${ks.name}.injectFault(${show(f)})`, run: () => ks.k.injectFault(f as never) };
};

const mockMisc: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  switch (r.int(9)) {
    case 0: return { op: 'mock.clearFaults', desc: `${ks.name}.clearFaults()`, run: () => ks.k.clearFaults() };
    case 1: {
      const v = r.chance(0.85) ? r.chance(0.5) : bad(r);
      return { op: 'mock.cap', desc: `${ks.name}.capSysRawio = ${show(v)}`, run: () => { ks.k.capSysRawio = v as boolean; } };
    }
    case 2: return { op: 'mock.trace', desc: `${ks.name}.startTrace()`, run: () => ks.k.startTrace() };
    case 3: return { op: 'mock.trace', desc: `${ks.name}.takeTrace()`, run: () => ks.k.takeTrace().length };
    case 4: return { op: 'mock.misc', desc: `${ks.name}.openObjects()`, run: () => ks.k.openObjects() };
    case 5: return { op: 'mock.misc', desc: `${ks.name}.config`, run: () => ks.k.config };
    case 6: return { op: 'mock.misc', desc: `${ks.name}.devices`, run: () => ks.k.devices };
    case 7: return { op: 'mock.misc', desc: `${ks.name}.token`, run: () => ks.k.token };
    default: return { op: 'mock.clearFaults', desc: `${ks.name}.clearFaults()`, run: () => ks.k.clearFaults() };
  }
};

// ---------------------------------------------------------------- the bus

/** A write that blocks while the device is open; only made when nothing of this thread holds it. */
function blocking(s: Sequence, ks: KSlot, affected: string[], op: string, desc: string, run: () => unknown): Call | undefined {
  if (!s.mayBlock(ks)) return undefined;
  for (const n of affected) {
    let open = 0;
    try {
      const d = ks.k.device(n);
      open = d.exists ? d.openCount : 0;
    } catch {
      continue;
    }
    if (open > 0) {
      // Every handle this process had on it is closed, yet the kernel still counts it open:
      // the write would block forever. Report that instead of hanging.
      return { op, desc: `/* skipped, would block forever: */ ${desc}`,
        run: () => s.fail('leak', `device still open in the kernel (openCount ${open}) after every handle on it was closed`, desc) };
    }
  }
  return { op, desc, run };
}

const busOp: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const name = devName(r, ks);
  switch (r.int(8)) {
    case 0: return { op: 'bus.list', desc: `${ks.name}bus.list()`, run: () => ks.bus.list() };
    case 1: return { op: 'bus.present', desc: `${ks.name}bus.present`, run: () => ks.bus.present };
    case 2: return { op: 'bus.device', desc: `${ks.name}bus.device(${show(name)})`, run: () => ks.bus.device(name as string) };
    case 3:
    case 4: return { op: 'bus.bind', desc: `${ks.name}bus.bind(${show(name)})`, run: () => ks.bus.bind(name as string) };
    case 5: return { op: 'bus.reset', desc: `${ks.name}bus.reset(${show(name)})`, run: () => ks.bus.reset(name as string) };
    default: {
      const desc = `${ks.name}bus.unbind(${show(name)})`;
      return blocking(s, ks, typeof name === 'string' ? [name] : [], 'bus.unbind', desc, () => ks.bus.unbind(name as string));
    }
  }
};

const openDevice: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  if (s.devices.filter((d) => !d.closed).length >= 8) return undefined;
  const name = devName(r, ks);
  const opts = r.weighted<unknown>([[6, undefined], [3, { path: 'auto' }], [3, { path: 'group' }], [3, { path: 'cdev' }],
    [0.5, {}], [0.5, { path: r.pick<unknown>(['Group', '', wrongType(r)]) }], [0.5, bad(r)], [0.3, null]]);
  const n = s.nextName('d');
  return { op: 'bus.open', desc: `${n} = ${ks.name}bus.open(${args(name, opts)})`,
    run: () => {
      const dev = nameOf(ks.bus.open(name as string, opts as never), n);
      s.devices.push({ id: s.devices.length, name: n, dev, ks, devName: dev.name, closed: false });
    } };
};

let systemBus: CdxBus | undefined;

const systemOp: Gen = (_s, r) => {
  if (!SYSTEM_BUS_ABSENT) return undefined;  // never touch a real CDX bus
  systemBus ??= nameOf(new CdxBus(), 'systemBus');
  const bus = systemBus;
  const name = devName(r, undefined);
  switch (r.int(6)) {
    case 0: return { op: 'system', desc: 'systemBus.list()', run: () => bus.list() };
    case 1: return { op: 'system', desc: 'systemBus.present', run: () => bus.present };
    case 2: return { op: 'system', desc: `systemBus.device(${show(name)})`, run: () => bus.device(name as string) };
    case 3: return { op: 'system', desc: `systemBus.open(${show(name)})`, run: () => bus.open(name as string).close() };
    case 4: return { op: 'system', desc: `systemBus.bind(${show(name)})`, run: () => bus.bind(name as string) };
    default: return { op: 'system', desc: `new RawKernel(systemKernel()).readDir('/sys/bus/cdx/devices')`,
      run: () => new RawKernel(systemKernel()).readDir('/sys/bus/cdx/devices') };
  }
};

// ---------------------------------------------------------------- sysfs through the raw layer

const sysfsWrite: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const name = devName(r, ks);
  const n = typeof name === 'string' ? name : 'cdx-00:00';
  const dir = `/sys/bus/cdx/devices/${n}`;
  const k = r.int(11);
  const write = (path: string, data: string): Call => ({ op: 'sysfs.write', desc: `${ks.name}raw.writeFile(${args(path, data)})`,
    run: () => ks.raw.writeFile(path, data) });
  switch (k) {
    case 0: return write(`${dir}/driver_override`, r.pick(['vfio-cdx', '\n', 'nope', '', 'vfio-cdx\n', 'x'.repeat(5000)]));
    case 1: return write('/sys/bus/cdx/drivers_probe', n);
    case 2: return write('/sys/bus/cdx/drivers/vfio-cdx/bind', n);
    case 3: return write(`${dir}/reset`, r.pick(['1', '0', 'y', 'x']));
    case 4: return write(`/sys/bus/cdx/devices/${r.pick(['cdx-00', 'cdx-01'])}/${r.pick(['reset', 'enable'])}`, r.pick(['1', '0']));
    case 5: return write('/sys/module/vfio/parameters/enable_unsafe_noiommu_mode', r.pick(['Y', 'N', '1']));
    case 6: {
      const data = r.pick(['1', '1', '0', 'x']);
      const path = `${dir}/remove`;
      const desc = `${ks.name}raw.writeFile(${args(path, data)})`;
      return blocking(s, ks, [n], 'sysfs.remove', desc, () => ks.raw.writeFile(path, data));
    }
    case 7: {
      const data = r.pick(['1', '1', '0', 'x']);
      const path = '/sys/bus/cdx/rescan';
      const desc = `${ks.name}raw.writeFile(${args(path, data)})`;
      return blocking(s, ks, kernelDevices(ks), 'sysfs.rescan', desc, () => ks.raw.writeFile(path, data));
    }
    case 8: {
      const path = r.chance(0.5) ? '/sys/bus/cdx/drivers/vfio-cdx/unbind' : `${dir}/driver/unbind`;
      const desc = `${ks.name}raw.writeFile(${args(path, n)})`;
      return blocking(s, ks, [n], 'sysfs.unbind', desc, () => ks.raw.writeFile(path, n));
    }
    case 9: return write(r.pick(['/sys/bus/cdx/devices', '/etc/hostname', '', 'relative', `${dir}/vendor`, '/dev/vfio/vfio']), '1');
    default: {
      const data = wrongType(r);
      return { op: 'sysfs.write', desc: `${ks.name}raw.writeFile(${args(`${dir}/reset`, data)})`,
        run: () => ks.raw.writeFile(`${dir}/reset`, data as string) };
    }
  }
};

const sysfsRead: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const name = devName(r, ks, true);
  const n = typeof name === 'string' ? name : 'cdx-00:00';
  const path = r.chance(0.95) ? r.pick([`/sys/bus/cdx/devices/${n}`, `/sys/bus/cdx/devices/${n}/driver`,
    `/sys/bus/cdx/devices/${n}/iommu_group`, `/sys/bus/cdx/devices/${n}/vendor`, `/sys/bus/cdx/devices/${n}/modalias`,
    `/sys/bus/cdx/devices/${n}/driver_override`, `/sys/bus/cdx/devices/${n}/vfio-dev`, `/sys/bus/cdx/devices/${n}/resource0`,
    '/sys/bus/cdx/devices', '/sys/bus/cdx', '/dev/vfio', '/dev/vfio/devices', '/sys/kernel/iommu_groups',
    '/sys/module/vfio/parameters/enable_unsafe_noiommu_mode', '/sys/bus/cdx/devices/../../../..', '/proc/self/fd', '']) : wrongType(r);
  const fn = r.pick(['readFile', 'readDir', 'readLink', 'stat'] as const);
  return { op: 'sysfs.read', desc: `${ks.name}raw.${fn}(${show(path)})`, run: () => ks.raw[fn](path as string) };
};

// ---------------------------------------------------------------- the raw layer

function groupNodes(ks: KSlot): string[] {
  const out: string[] = [];
  for (const n of kernelDevices(ks)) {
    const link = ks.raw.readLink(`/sys/bus/cdx/devices/${n}/iommu_group`);
    if (typeof link === 'string') {
      const g = link.slice(link.lastIndexOf('/') + 1);
      out.push(`/dev/vfio/${g}`, `/dev/vfio/noiommu-${g}`);
    }
  }
  return out;
}

function trackFd(s: Sequence, ks: KSlot, fd: number, kind: string): void {
  if (typeof fd === 'number' && fd >= 0) {
    const name = s.nextName('fd');
    s.rawFds.push({ id: s.rawFds.length, name, ks, fd, live: true, kind });
  }
}

const rawOpen: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  if (s.rawFds.filter((f) => f.live).length >= 12) return undefined;
  const n = kernelDevices(ks)[0] ?? 'cdx-00:00';
  const paths = ['/dev/vfio/vfio', '/dev/iommu', ...groupNodes(ks), '/dev/vfio/devices/vfio0', '/dev/vfio/devices/vfio1',
    `/sys/bus/cdx/devices/${n}/driver_override`, `/sys/bus/cdx/devices/${n}/vendor`, `/sys/bus/cdx/devices/${n}/reset`,
    '/sys/bus/cdx/drivers_probe', '/dev/vfio/../vfio/vfio', '/nonexistent', ''];
  const path = r.chance(0.97) ? r.pick(paths) : wrongType(r);
  const flags = r.weighted<unknown>([[8, SYS.O_RDWR! | SYS.O_CLOEXEC!], [2, SYS.O_RDONLY!], [2, SYS.O_WRONLY!],
    [1, SYS.O_RDWR! | SYS.O_NONBLOCK!], [1, 3], [1, 0o100 | SYS.O_RDWR!], [0.5, -1], [0.5, wrongType(r)]]);
  const kind = typeof path === 'string' ? (path.startsWith('/sys') ? 'sysfs' : path.includes('devices/') ? 'device' : 'dev') : 'x';
  return { op: 'raw.open', desc: `${ks.name}raw.open(${args(path, flags)})`,
    run: () => {
      const fd = ks.raw.open(path as string, flags as number);
      trackFd(s, ks, fd, kind);
      return fd;
    } };
};

/** Opens a device by hand through the group path or the cdev path, keeping every descriptor it made. */
const rawOpenDevice: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const name = devName(r, ks);
  if (typeof name !== 'string') return undefined;
  const cdev = r.chance(0.4);
  const keep: Keep = (fd, kind) => trackFd(s, ks, fd, kind);
  return { op: 'raw.openDevice', desc: `openDeviceByHand(${ks.name}raw, ${show(name)}, ${cdev ? "'cdev'" : "'group'"})`,
    run: () => (cdev ? openCdevPathSteps(ks.raw, name, keep) : openGroupPathSteps(ks.raw, name, keep)) };
};

const rawClose: Gen = (s, r) => {
  const f = s.pick(r, s.rawFds, (x) => x.live, 1);
  if (f === undefined || !f.live) {
    const ks = kernel(s, r);
    if (ks === undefined) return undefined;
    const fd = notAnFd(r);
    return { op: 'raw.close', desc: `${ks.name}raw.close(${show(fd)})`, run: () => ks.raw.close(fd as number) };
  }
  return { op: 'raw.close', desc: `${f.ks.name}raw.close(${f.name})`, run: () => { f.live = false; return f.ks.raw.close(f.fd); } };
};

/** An fd for raw calls: this sequence's raw descriptors, a device's own fd, or numbers that are no descriptor. */
function rawFd(s: Sequence, r: Rng, ks: KSlot, staleOk: boolean): { text: string; get: () => unknown } {
  const mine = s.rawFds.filter((f) => f.ks.token === ks.token && (f.live || (staleOk && r.chance(0.2))));
  const devs = s.devices.filter((d) => d.ks.token === ks.token && !d.closed);
  const k = r.int(10);
  if (k < 6 && mine.length > 0) {
    const f = r.pick(mine);
    return { text: f.name, get: () => f.fd };
  }
  if (k < 9 && devs.length > 0) {
    const d = r.pick(devs);
    return { text: `${d.name}.fd`, get: () => d.dev.fd };
  }
  const v = notAnFd(r);
  return { text: show(v), get: () => v };
}

/**
 * A value that is no descriptor of this process: a wrong type, or a number that
 * cannot be an open fd. Never a small integer: the raw layer passes those to the
 * real kernel as they are (it owns nothing), so raw.close(3) would close Node's
 * own epoll descriptor — the fuzzer's fault, not the library's.
 */
function notAnFd(r: Rng): unknown {
  const v = r.chance(0.5) ? r.pick<unknown>([-1, -4096, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 1.5, NaN]) : wrongType(r);
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 20 ? -1 : v;
}

/** A struct for `request`, with fields drawn from values that mean something to the kernel, and argsz within the buffer. */
function ioctlArg(s: Sequence, r: Rng, ks: KSlot, request: number): { text: string; arg: unknown } {
  const k = r.int(20);
  if (k === 0) return { text: 'null', arg: null };
  if (k === 1) {
    const p = pointer(s, r, ks);
    return { text: `0x${p.toString(16)}n`, arg: p };
  }
  if (k === 2) {
    const v = r.pick<unknown>([0, 1, 3, 8, -1, 2 ** 32, 1.5, wrongType(r)]);
    return { text: show(v), arg: v };
  }
  const name = REQUEST_NAME.get(request) ?? '';
  if (name === 'VFIO_CHECK_EXTENSION' || name === 'VFIO_SET_IOMMU') {
    const v = r.pick([0, 1, 3, 4, 6, 8, 9, 10, 0xffffffff]);
    return { text: String(v), arg: v };
  }
  if (name === 'VFIO_GROUP_SET_CONTAINER') {
    const fds = s.rawFds.filter((f) => f.ks.token === ks.token && f.live);
    const fd = fds.length > 0 && r.chance(0.8) ? r.pick(fds).fd : r.pick([-1, 0, 99999]);
    return { text: `new Int32Array([${fd}])`, arg: new Int32Array([fd]) };
  }
  if (name === 'VFIO_GROUP_GET_DEVICE_FD') {
    const n = devName(r, ks);
    const text = typeof n === 'string' ? n : 'x';
    const nul = r.chance(0.9);
    return { text: `Buffer.from(${JSON.stringify(text + (nul ? '\0' : ''))})`, arg: Buffer.from(text + (nul ? '\0' : '')) };
  }
  const layouts: Record<string, string> = {
    VFIO_GROUP_GET_STATUS: 'vfio_group_status', VFIO_DEVICE_GET_INFO: 'vfio_device_info',
    VFIO_DEVICE_GET_REGION_INFO: 'vfio_region_info', VFIO_DEVICE_GET_IRQ_INFO: 'vfio_irq_info',
    VFIO_DEVICE_SET_IRQS: 'vfio_irq_set', VFIO_DEVICE_FEATURE: 'vfio_device_feature',
    VFIO_DEVICE_BIND_IOMMUFD: 'vfio_device_bind_iommufd', VFIO_DEVICE_ATTACH_IOMMUFD_PT: 'vfio_device_attach_iommufd_pt',
    VFIO_DEVICE_DETACH_IOMMUFD_PT: 'vfio_device_detach_iommufd_pt', VFIO_IOMMU_GET_INFO: 'vfio_iommu_type1_info',
    VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: 'vfio_iommu_type1_info',
    VFIO_IOMMU_MAP_DMA: 'vfio_iommu_type1_dma_map', VFIO_IOMMU_UNMAP_DMA: 'vfio_iommu_type1_dma_unmap',
    IOMMU_DESTROY: 'iommu_destroy', IOMMU_IOAS_ALLOC: 'iommu_ioas_alloc', IOMMU_IOAS_IOVA_RANGES: 'iommu_ioas_iova_ranges',
    IOMMU_IOAS_MAP: 'iommu_ioas_map', IOMMU_IOAS_UNMAP: 'iommu_ioas_unmap',
  };
  const sname = r.chance(0.9) && layouts[name] !== undefined ? layouts[name]! : r.pick(Object.keys(STRUCTS));
  const layout = STRUCTS[sname]!;
  const extra = r.weighted([[6, 0], [2, 8], [1, 4], [1, 64]]);
  const st = struct(sname, {}, extra);
  const set: string[] = [];
  for (const [field, [, size]] of Object.entries(layout.fields)) {
    if (size === 0 || field === 'argsz' || (field === 'size' && sname.startsWith('iommu_')) || r.chance(0.3)) continue;
    let v: number | bigint;
    if (size === 8) {
      v = /vaddr|user_va|allowed_iovas/.test(field) ? pointer(s, r, ks)
        : /iova/.test(field) ? r.pick([0n, 0x1000n, 0x100000n, 1n << 32n, BigInt(r.int(2 ** 20)) << 12n, 0xffff_ffff_ffff_f000n])
          : r.pick([0n, 4096n, 8192n, 1n << 20n, 0xffff_ffff_ffff_ffffn, 1n << 40n, 3n]);
    } else if (field === 'flags') {
      v = r.pick([0, 1, 2, 3, 4, 0x24, 0x21, 0x22, 0x28, 0x30, 0x1000a, 0x2000a, 0x4000a, 0x10000, 0xffffffff, r.u32()]);
    } else if (field === 'iommufd') {
      const fds = s.rawFds.filter((f) => f.ks.token === ks.token && f.live && f.kind === 'iommu');
      v = fds.length > 0 && r.chance(0.7) ? r.pick(fds).fd : r.pick([0xffffffff, 0, 3]);
    } else {
      v = r.pick([0, 1, 2, 3, 4, 0xffffffff, 0x80000000, r.int(16)]);
    }
    st.set(field, v);
    set.push(`${field}: ${show(v)}`);
  }
  if (sname === 'vfio_irq_set' && extra > 0) {
    const view = new DataView(st.bytes.buffer);
    const fds = s.rawFds.filter((f) => f.ks.token === ks.token && f.live);
    for (let o = layout.size; o + 4 <= st.bytes.length; o += 4) {
      view.setInt32(o, fds.length > 0 && r.chance(0.6) ? r.pick(fds).fd : r.pick([-1, 0, 1, 999]), true);
    }
  }
  const minsz = MINSZ[sname.toUpperCase().replace(/^VFIO_IOMMU_TYPE1_DMA_/, 'VFIO_DMA_').replace(/^VFIO_IOMMU_TYPE1_INFO$/, 'VFIO_IOMMU_TYPE1_INFO')
    .replace(/^VFIO_DEVICE_(BIND|ATTACH|DETACH)_/, 'VFIO_$1_')] ?? layout.size;
  const argsz = r.weighted([[6, st.bytes.length], [2, layout.size], [2, minsz], [1, Math.max(0, minsz - 1)], [1, 0]]);
  const sizeField = 'argsz' in layout.fields ? 'argsz' : 'size' in layout.fields ? 'size' : undefined;
  if (sizeField !== undefined) {
    st.set(sizeField, argsz);
    set.unshift(`${sizeField}: ${argsz}`);
  }
  return { text: `struct(${show(sname)}, { ${set.join(', ')} }${extra ? `, ${extra}` : ''}).bytes`, arg: st.bytes };
}

const rawIoctl: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const fd = rawFd(s, r, ks, true);
  const request = r.weighted<unknown>([[17, r.pick(REQUESTS)], [1, r.pick([0, C.VFIO_GET_API_VERSION! + 22, C.IOMMU_DESTROY! + 15,
    0xffffffff])], [0.5, r.pick<unknown>([-1, 2 ** 32, 1.5, wrongType(r)])]]);
  const a = ioctlArg(s, r, ks, typeof request === 'number' ? request : 0);
  const rname = typeof request === 'number' ? REQUEST_NAME.get(request) : undefined;
  return { op: 'raw.ioctl', desc: `${ks.name}raw.ioctl(${fd.text}, ${rname ? `C.${rname}` : show(request)}, ${a.text})`,
    run: () => {
      const rc = ks.raw.ioctl(fd.get() as number, request as number, a.arg as Uint8Array);
      if (rname === 'VFIO_GROUP_GET_DEVICE_FD') trackFd(s, ks, rc, 'device');
      return rc;
    } };
};

const rawMmap: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  if (s.rawMaps.filter((m) => m.live).length >= 10) return undefined;
  const anon = r.chance(0.3);
  const fd = anon ? { text: '-1', get: (): unknown => -1 } : rawFd(s, r, ks, false);
  const region = r.int(4);
  const offset = anon ? 0 : r.weighted<unknown>([[8, BigInt(region) << 40n], [2, (BigInt(region) << 40n) + 4096n], [1, 2048],
    [1, 0], [0.5, -1n], [0.3, wrongType(r)]]);
  const length = r.weighted<unknown>([[6, 4096], [3, 8192], [2, 65536], [1, 2048], [1, 0], [anon ? 0 : 0.5, 2 ** 40],
    [0.3, -1], [0.3, wrongType(r)]]);
  const prot = r.pick([SYS.PROT_READ!, SYS.PROT_READ! | SYS.PROT_WRITE!, SYS.PROT_WRITE!, SYS.PROT_NONE!]);
  const base = anon ? SYS.MAP_ANONYMOUS! : 0;
  const flags = base | r.pick([SYS.MAP_SHARED!, SYS.MAP_SHARED!, SYS.MAP_PRIVATE!, 0, 3, 0x40000 | SYS.MAP_SHARED!]);
  return { op: 'raw.mmap', desc: `${ks.name}raw.mmap(${fd.text}, ${args(offset, length, prot, flags)})`,
    run: () => {
      const m = ks.raw.mmap(fd.get() as number, offset as number, length as number, prot, flags);
      if (m.result === 0) s.rawMaps.push({ id: s.rawMaps.length, name: s.nextName('rawmap'), ks, address: m.address, length: length as number, live: true, tainted: false });
      return m.result;
    } };
};

const rawMunmap: Gen = (s, r) => {
  const m = s.pick(r, s.rawMaps, (x) => x.live && !x.tainted, 1);
  if (m === undefined || !m.live || m.tainted) return undefined;
  return { op: 'raw.munmap', desc: `${m.ks.name}raw.munmap(${m.name}, ${show(m.length)})`,
    run: () => { m.live = false; return m.ks.raw.munmap(m.address, m.length); } };
};

const rawReadWrite: Gen = (s, r) => {
  const ks = kernel(s, r);
  if (ks === undefined) return undefined;
  const fd = rawFd(s, r, ks, false);
  // Raw descriptors are their maker's to close, and a terminated worker closes nothing: only the main thread makes them.
  if (r.chance(0.3) && !s.isWorker) {
    const name = s.nextName('efd');
    const init = r.pick([0, 1, 2 ** 32 - 1]);
    const flags = SYS.EFD_NONBLOCK! | r.pick([SYS.EFD_CLOEXEC!, 0, SYS.EFD_SEMAPHORE!, 0x10]);
    return { op: 'raw.eventfd', desc: `${name} = ${ks.name}raw.eventfd(${init}, ${flags})`,
      run: () => {
        const efd = ks.raw.eventfd(init, flags);
        if (efd >= 0) s.rawFds.push({ id: s.rawFds.length, name, ks, fd: efd, live: true, kind: 'eventfd' });
        return efd;
      } };
  }
  const size = r.pick([0, 1, 8, 8, 64, 4096]);
  const good = r.chance(0.95);
  const buf = good ? new Uint8Array(size) : wrongType(r);
  if (r.chance(0.5)) {
    return { op: 'raw.read', desc: `${ks.name}raw.read(${fd.text}, ${show(buf)})`,
      run: () => ks.raw.read(fd.get() as number, buf as Uint8Array) };
  }
  // (`good`, not instanceof: a hostile proxy throws from its getPrototypeOf trap)
  const data = good ? Buffer.from(r.pick(['1', 'vfio-cdx', '\n', '0', 'cdx-00:00', '\x01\0\0\0\0\0\0\0'])) : buf;
  return { op: 'raw.write', desc: `${ks.name}raw.write(${fd.text}, ${show(data)})`,
    run: () => ks.raw.write(fd.get() as number, data as Uint8Array) };
};

// ---------------------------------------------------------------- devices

const deviceProps: Gen = (s, r) => {
  const d = device(s, r, 0.8);
  if (d === undefined) return undefined;
  const p = r.pick(['info', 'regions', 'name', 'path', 'group', 'noiommu', 'node', 'closed', 'fd', 'busMaster.supported',
    'msi.count', 'msi.enabled', 'msi.vectors', 'dma.ranges']);
  return { op: 'dev.props', desc: `${d.name}.${p}`,
    run: () => p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], d.dev) };
};

const deviceReset: Gen = (s, r) => {
  const d = device(s, r);
  if (d === undefined) return undefined;
  return { op: 'dev.reset', desc: `${d.name}.reset()`, run: () => d.dev.reset() };
};

const busMaster: Gen = (s, r) => {
  const d = device(s, r);
  if (d === undefined) return undefined;
  const v = r.chance(0.9) ? r.chance(0.5) : bad(r);
  return { op: 'dev.busMaster', desc: `${d.name}.busMaster.set(${show(v)})`, run: () => d.dev.busMaster.set(v as boolean) };
};

const closeDevice: Gen = (s, r) => {
  const d = device(s, r, 0.9);
  if (d === undefined) return undefined;
  if (r.chance(0.12)) {
    return { op: 'dev.drop', desc: `${d.name} = null  /* dropped without close, with everything made from it */`,
      run: () => s.drop(d) };
  }
  const dispose = r.chance(0.3);
  return { op: 'dev.close', desc: dispose ? `${d.name}[Symbol.dispose]()` : `${d.name}.close()`,
    run: () => { d.closed = true; return dispose ? d.dev[Symbol.dispose]() : d.dev.close(); } };
};

const mapRegion: Gen = (s, r) => {
  const d = device(s, r);
  if (d === undefined) return undefined;
  const regions = d.dev.regions;
  if (regions.length === 0) return undefined;
  if (s.mappings.filter((m) => !m.ds.closed).length >= 16) return undefined;
  const region = r.pick(regions);
  const opts = mapOptions(r, region.size);
  const n = s.nextName('m');
  return { op: 'region.map', desc: `${n} = ${d.name}.regions[${region.index}].map(${opts === undefined ? '' : show(opts)})`,
    run: () => {
      const m = nameOf(region.map(opts as never), n);
      s.mappings.push({ id: s.mappings.length, name: n, m, ds: d, views: [] });
    } };
};

const WIDTHS = [1, 2, 4, 8] as const;

const mapRead: Gen = (s, r) => {
  const m = mapping(s, r);
  if (m === undefined) return undefined;
  const w = r.pick(WIDTHS);
  const off = offset(r, m.m.length, w);
  const fn = `read${w * 8}` as 'read8' | 'read16' | 'read32' | 'read64';
  return { op: 'map.read', desc: `${m.name}.${fn}(${show(off)})`, run: () => m.m[fn](off as number) };
};

const mapWrite: Gen = (s, r) => {
  const m = mapping(s, r);
  if (m === undefined) return undefined;
  const w = r.pick(WIDTHS);
  const off = offset(r, m.m.length, w);
  const v = value(r, w);
  const fn = `write${w * 8}` as 'write8' | 'write16' | 'write32' | 'write64';
  return { op: 'map.write', desc: `${m.name}.${fn}(${args(off, v)})`,
    run: () => (m.m[fn] as (o: number, v: unknown) => void)(off as number, v) };
};

/**
 * Device memory through `mapping.buffer` with typed-array views, as the README
 * allows: one exact-width, naturally aligned load or store at a time (an
 * element of a Uint8/16/32 or BigUint64 array, plain or through Atomics).
 * Views made earlier are kept and used again after unmap or close (detached).
 */
const mapView: Gen = (s, r) => {
  const m = mapping(s, r);
  if (m === undefined) return undefined;
  const write = r.chance(0.5);
  const atomics = r.chance(0.5);
  let view = m.views.length > 0 && r.chance(0.5) ? r.pick(m.views) : undefined;
  const tag = write ? (m.m.writable ? 'view.write' : 'view.write.readonly') : 'view.read';
  const vname = view?.name ?? s.nextName('u');
  const width = view?.width ?? r.pick(WIDTHS);
  const ctor = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array, 8: BigUint64Array }[width]!;
  const index = r.int(Math.max(1, Math.floor(m.m.length / width)) + 1);
  const v = width === 8 ? r.u64() : width === 4 ? r.u32() : r.u32() & (width === 2 ? 0xffff : 0xff);
  const make = view === undefined ? `${vname} = new ${ctor.name}(${m.name}.buffer, 0, ${Math.floor(m.m.length / width)}); ` : '';
  const access = atomics
    ? (write ? `Atomics.store(${vname}, ${index}, ${show(v)})` : `Atomics.load(${vname}, ${index})`)
    : (write ? `${vname}[${index}] = ${show(v)}` : `${vname}[${index}]`);
  return { op: 'map.view', tag, desc: make + access,
    run: () => {
      if (view === undefined) {
        const buf = m.m.buffer;
        if (buf === null) return null;
        view = { name: vname, a: nameOf(new ctor(buf, 0, Math.floor(buf.byteLength / width)), vname), width };
        m.views.push(view);
      }
      const a = view.a as unknown as Record<number, number | bigint> & Uint32Array;
      // Atomics on an index past the end is V8's RangeError, not the library's: stay in bounds for it.
      if (atomics && index >= a.length) return undefined;
      if (write) {
        if (atomics) Atomics.store(a as never, index, v as never);
        else (a as unknown as Record<number, unknown>)[index] = v;
        return undefined;
      }
      return atomics ? Atomics.load(a as never, index) : a[index];
    } };
};

const mapMisc: Gen = (s, r) => {
  const m = mapping(s, r);
  if (m === undefined) return undefined;
  switch (r.int(6)) {
    case 0:
    case 1: return { op: 'map.unmap', desc: `${m.name}.unmap()`, run: () => m.m.unmap() };
    case 2: return { op: 'map.unmap', desc: `${m.name}[Symbol.dispose]()`, run: () => m.m[Symbol.dispose]() };
    default: {
      const p = r.pick(['mapped', 'region', 'offset', 'length', 'accessor', 'writable', 'buffer']);
      return { op: 'map.props', desc: `${m.name}.${p}`, run: () => (m.m as unknown as Record<string, unknown>)[p] };
    }
  }
};

// ---------------------------------------------------------------- MSI

const msiEnable: Gen = (s, r) => {
  const d = device(s, r);
  if (d === undefined) return undefined;
  const n = r.weighted<unknown>([[3, undefined], [6, r.range(1, 4)], [1, 0], [1, 5], [0.5, 2049], [1, bad(r)]]);
  const names: string[] = [];
  const base = s.nextName('v');
  return { op: 'msi.enable', desc: `[${base}…] = ${d.name}.msi.enable(${n === undefined ? '' : show(n)})`,
    run: () => {
      const vs = n === undefined ? d.dev.msi.enable() : d.dev.msi.enable(n as number);
      for (const v of vs) {
        const vn = `${base}_${v.index}`;
        names.push(vn);
        s.vectors.push({ id: s.vectors.length, name: vn, v: nameOf(v, vn), ds: d, listeners: [] });
      }
      return vs.length;
    } };
};

const msiOther: Gen = (s, r) => {
  const d = device(s, r);
  if (d === undefined) return undefined;
  switch (r.int(8)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const v = r.chance(0.85) ? r.int(5) : bad(r);
      return { op: 'msi.trigger', desc: `${d.name}.msi.trigger(${show(v)})`, run: () => d.dev.msi.trigger(v as number) };
    }
    case 4:
    case 5: return { op: 'msi.disable', desc: `${d.name}.msi.disable()`, run: () => d.dev.msi.disable() };
    default: {
      const p = r.pick(['count', 'enabled', 'vectors']);
      return { op: 'msi.props', desc: `${d.name}.msi.${p}`, run: () => (d.dev.msi as unknown as Record<string, unknown>)[p] };
    }
  }
};

/** An 'interrupt' listener: counting, or doing something with the device from inside the delivery. */
function listener(s: Sequence, r: Rng, vs: VSlot): { text: string; fn: (n: number) => void } {
  const step = s.step;
  const guard = (text: string, body: () => void) => (): void => {
    try {
      body();
    } catch (e) {
      s.judge(e, step, `${text} (inside an 'interrupt' listener)`);
    }
  };
  let count = 0;
  const ms = s.mappings.filter((m) => m.ds === vs.ds);
  switch (r.int(8)) {
    case 0:
      if (ms.length > 0) {
        const m = r.pick(ms);
        const text = `() => ${m.name}.read32(0)`;
        return { text, fn: guard(text, () => { m.m.read32(0); }) };
      }
      break;
    case 1: {
      const text = `() => ${vs.ds.name}.msi.disable()`;
      return { text, fn: guard(text, () => { if (++count <= 1) vs.ds.dev.msi.disable(); }) };
    }
    case 2: {
      const text = `() => ${vs.ds.name}.close()`;
      return { text, fn: guard(text, () => { if (++count <= 1) { vs.ds.closed = true; vs.ds.dev.close(); } }) };
    }
    case 3: {
      const text = `() => ${vs.ds.name}.msi.trigger(${vs.v.index})  /* 3 times */`;
      return { text, fn: guard(text, () => { if (++count <= 3) vs.ds.dev.msi.trigger(vs.v.index); }) };
    }
    case 4: {
      const o = r.pick<unknown>([{ signal: {} }, null, { signal: null }, 0]);
      const text = `() => ${vs.name}.wait(${show(o)})`;
      return { text, fn: guard(text, () => { if (++count <= 1) s.track(vs.v.wait(o as never), vs.ds, `${vs.name}.wait(${show(o)})`); }) };
    }
    default: break;
  }
  const text = '(n) => { count += n }';
  return { text, fn: (n: number) => { count += n; } };
}

const vectorOp: Gen = (s, r) => {
  const vs = vector(s, r);
  if (vs === undefined) return undefined;
  switch (r.int(12)) {
    case 0:
    case 1:
    case 2: {
      const l = listener(s, r, vs);
      const once = r.chance(0.2);
      return { op: 'vec.on', desc: `${vs.name}.${once ? 'once' : 'on'}('interrupt', ${l.text})`,
        run: () => { vs.listeners.push(l.fn); return once ? vs.v.once('interrupt', l.fn) : vs.v.on('interrupt', l.fn); } };
    }
    case 3: {
      if (vs.listeners.length === 0 || r.chance(0.3)) {
        return { op: 'vec.off', desc: `${vs.name}.removeAllListeners('interrupt')`,
          run: () => { vs.listeners = []; return vs.v.removeAllListeners('interrupt'); } };
      }
      const i = r.int(vs.listeners.length);
      return { op: 'vec.off', desc: `${vs.name}.off('interrupt', listener${i})`,
        run: () => { const [fn] = vs.listeners.splice(i, 1); return vs.v.off('interrupt', fn!); } };
    }
    case 4:
    case 5:
    case 6: {
      const k = r.int(10);
      const ac = new AbortController();
      let o: unknown;
      let text: string;
      if (k < 3) { o = undefined; text = ''; }
      else if (k < 6) { o = { signal: ac.signal }; text = '{ signal: ac.signal }'; }
      else if (k < 7) { o = { signal: nameOf(AbortSignal.abort(), 'AbortSignal.abort()') }; text = '{ signal: AbortSignal.abort() }'; }
      else if (k < 8) { o = {}; text = '{}'; }
      else { o = r.pick<unknown>([{ signal: {} }, null, { signal: null }, { signal: 'x' }, bad(r)]); text = show(o); }
      // Only the shapes made above are looked into: `o` may be a hostile proxy, which throws when read.
      const signal = k >= 3 && k < 7 ? (o as { signal: AbortSignal }).signal : undefined;
      const allow = (e: unknown): boolean => signal instanceof AbortSignal && e === signal.reason;
      const abortLater = k >= 3 && k < 6 && r.chance(0.4);
      return { op: 'vec.wait', desc: `${vs.name}.wait(${text})${abortLater ? '; ac.abort()' : ''}`,
        run: () => {
          s.track(vs.v.wait(o as never), vs.ds, `${vs.name}.wait(${text})`, allow);
          if (abortLater) ac.abort();
        } };
    }
    case 7:
    case 8: {
      const existing = s.iterators.filter((i) => i.ds === vs.ds);
      if (existing.length > 0 && r.chance(0.6)) {
        const it = r.pick(existing);
        return { op: 'vec.iterate', desc: `${it.name}.next()`,
          run: () => { it.pending++; s.track(it.it.next(), it.ds, `${it.name}.next()`); } };
      }
      const n = s.nextName('it');
      const o = r.pick<unknown>([undefined, {}, { signal: nameOf(AbortSignal.abort(), 'AbortSignal.abort()') }, { signal: {} }, null]);
      const viaSymbol = o === undefined && r.chance(0.5);
      return { op: 'vec.iterate', desc: `${n} = ${vs.name}${viaSymbol ? '[Symbol.asyncIterator]()' : `.events(${o === undefined ? '' : show(o)})`}; ${n}.next()`,
        run: () => {
          const it = viaSymbol ? vs.v[Symbol.asyncIterator]() : vs.v.events(o as never);
          nameOf(it, n);
          const slot = { id: s.iterators.length, name: n, it, ds: vs.ds, pending: 1, step: s.step };
          s.iterators.push(slot);
          const signal = (o as { signal?: AbortSignal } | null | undefined)?.signal;
          s.track(it.next(), vs.ds, `${n}.next()`, (e) => signal instanceof AbortSignal && e === signal.reason);
        } };
    }
    case 9: return { op: 'vec.ref', desc: `${vs.name}.unref()`, run: () => vs.v.unref() };
    case 10: return { op: 'vec.ref', desc: `${vs.name}.ref()`, run: () => vs.v.ref() };
    default: return { op: 'vec.ref', desc: `${vs.name}.refed`, run: () => vs.v.refed };
  }
};

// ---------------------------------------------------------------- DMA

const dmaAlloc: Gen = (s, r) => {
  const d = device(s, r);
  if (d === undefined) return undefined;
  if (s.buffers.filter((b) => b.b.live).length >= 12) return undefined;
  const size = r.weighted<unknown>([[6, r.pick([4096, 8192, 65536, 1 << 20])], [1, 1], [1, 4095], [1, 1 << 24],
    [0.5, 0], [0.5, -1], [0.3, 2 ** 53], [0.3, 1.5], [0.5, wrongType(r)]]);
  const opts = r.weighted<unknown>([[8, undefined], [2, {}], [2, { hugepages: false }], [1, { hugepages: true }],
    [0.5, { hugepages: 1 }], [0.5, null], [0.5, bad(r)]]);
  const n = s.nextName('b');
  return { op: 'dma.alloc', desc: `${n} = ${d.name}.dma.alloc(${opts === undefined ? show(size) : args(size, opts)})`,
    run: () => {
      const b = nameOf(opts === undefined ? d.dev.dma.alloc(size as number) : d.dev.dma.alloc(size as number, opts as never), n);
      s.buffers.push({ id: s.buffers.length, name: n, b, ds: d });
    } };
};

const bufferOp: Gen = (s, r) => {
  const b = buffer(s, r);
  if (b === undefined) {
    const d = device(s, r);
    if (d === undefined) return undefined;
    return { op: 'dma.ranges', desc: `${d.name}.dma.ranges`, run: () => d.dev.dma.ranges };
  }
  switch (r.int(8)) {
    case 0:
    case 1: return { op: 'buf.free', desc: r.chance(0.7) ? `${b.name}.free()` : `${b.name}[Symbol.dispose]()`, run: () => b.b.free() };
    case 2: {
      const p = r.pick(['iova', 'size', 'live']);
      return { op: 'buf.props', desc: `${b.name}.${p}`, run: () => (b.b as unknown as Record<string, unknown>)[p] };
    }
    case 3: return { op: 'buf.bytes', desc: `${b.name}.bytes.fill(${b.id & 0xff})`, run: () => { b.b.bytes.fill(b.id & 0xff); } };
    default: {
      const i = r.pick([0, 1, 4095, b.b.size - 1, b.b.size]);
      const v = r.int(256);
      const write = r.chance(0.5);
      return { op: 'buf.bytes', desc: `${b.name}.bytes[${i}]${write ? ` = ${v}` : ''}`,
        run: () => { const bytes = b.b.bytes; if (write) bytes[i] = v; return bytes[i]; } };
    }
  }
};

// ---------------------------------------------------------------- wrong receivers, wrong constructors

const CLASSES: Record<string, Function> = {
  CdxBus, Device, Region, BusMaster, Mapping, Msi, MsiVector, Dma, DmaBuffer, VfioError, Kernel, SystemKernel, MockKernel,
  MockDevice, RawKernel,
};
const MEMBERS: Array<[string, string]> = Object.entries(CLASSES).flatMap(([cname, cls]) =>
  Object.getOwnPropertyNames(cls.prototype).filter((m) => m !== 'constructor').map((m): [string, string] => [cname, m]));

/** Live objects of every kind the sequence holds, for use where another kind is expected. */
function someObject(s: Sequence, r: Rng): { text: string; v: unknown } {
  const pool: Array<{ text: string; v: unknown }> = [];
  const ks = kernel(s, r);
  if (ks) pool.push({ text: ks.name, v: ks.k }, { text: `${ks.name}bus`, v: ks.bus }, { text: `${ks.name}raw`, v: ks.raw });
  const d = device(s, r, 0.5);
  if (d) {
    pool.push({ text: d.name, v: d.dev }, { text: `${d.name}.msi`, v: d.dev.msi }, { text: `${d.name}.dma`, v: d.dev.dma },
      { text: `${d.name}.busMaster`, v: d.dev.busMaster });
    if (d.dev.regions.length > 0) pool.push({ text: `${d.name}.regions[0]`, v: d.dev.regions[0] });
  }
  const m = mapping(s, r);
  if (m) pool.push({ text: m.name, v: m.m });
  const v = vector(s, r);
  if (v) pool.push({ text: v.name, v: v.v });
  const b = buffer(s, r);
  if (b) pool.push({ text: b.name, v: b.b });
  for (const j of s.junk.slice(-4)) pool.push({ text: show(j), v: j });
  if (pool.length === 0 || r.chance(0.3)) {
    const w = wrongType(r);
    return { text: show(w), v: w };
  }
  return r.pick(pool);
}

const wrongReceiver: Gen = (s, r) => {
  const [cname, member] = r.pick(MEMBERS);
  const cls = CLASSES[cname]!;
  const desc = Object.getOwnPropertyDescriptor(cls.prototype, member)!;
  let self = r.chance(0.2) ? { text: `Object.create(${cname}.prototype)`, v: Object.create(cls.prototype) as unknown } : someObject(s, r);
  // A right receiver would make this an ordinary call (blocking ones included): only wrong ones here.
  let right = true;
  try {
    right = self.v instanceof cls;
  } catch {
    // a hostile proxy: its getPrototypeOf trap throws; it is no instance of anything
    right = false;
  }
  if (right) self = { text: '{}', v: {} };
  const argv = Array.from({ length: r.int(3) }, () => (r.chance(0.5) ? someObject(s, r) : { text: show(bad(r)), v: bad(r) }));
  const a = argv.map((x) => x.text).join(', ');
  const ref = `${cname}.prototype${/^[a-z_$][\w$]*$/i.test(member) ? `.${member}` : `[${JSON.stringify(member)}]`}`;
  if (desc.get !== undefined || desc.set !== undefined) {
    const setter = desc.set !== undefined && (desc.get === undefined || r.chance(0.3));
    const accessor = setter ? desc.set! : desc.get!;
    return { op: 'abuse.receiver', desc: `Object.getOwnPropertyDescriptor(${cname}.prototype, ${JSON.stringify(member)}).${setter ? 'set' : 'get'}.call(${self.text}${setter ? `, ${argv[0]?.text ?? 'undefined'}` : ''})`,
      run: () => (accessor as (...x: unknown[]) => unknown).call(self.v, ...(setter ? [argv[0]?.v] : [])) };
  }
  const fn = desc.value as (...x: unknown[]) => unknown;
  return { op: 'abuse.receiver', desc: `${ref}.call(${[self.text, a].filter(Boolean).join(', ')})`,
    run: () => fn.call(self.v, ...argv.map((x) => x.v)) };
};

const construct: Gen = (s, r) => {
  const cname = r.pick(Object.keys(CLASSES));
  const cls = CLASSES[cname]!;
  const argv = Array.from({ length: r.int(4) }, () => (r.chance(0.5) ? someObject(s, r) : { text: show(bad(r)), v: bad(r) }));
  // Constructors that take a handle: give them a look-alike object now and then.
  if (r.chance(0.2)) {
    const fake = nameOf({ describe: () => ({ name: 'cdx-00:00', path: 'group', group: 0, noiommu: false, node: '/dev/vfio/0' }),
      info: () => ({ flags: 0x101, numRegions: 1, numIrqs: 0 }), regions: () => [], closed: () => false, accessors: () => ({}),
      mapped: () => true }, 'fakeHandle');
    argv.unshift({ text: 'fakeHandle', v: fake });
  }
  return { op: 'abuse.construct', desc: `Reflect.construct(${cname}, [${argv.map((x) => x.text).join(', ')}])`,
    run: () => {
      const o = Reflect.construct(cls, argv.map((x) => x.v)) as object;
      nameOf(o, `new${cname}`);
      s.junk.push(o);
      if (s.junk.length > 16) s.junk.shift();
    } };
};

const functions: Gen = (s, r) => {
  const a = bad(r);
  switch (r.int(9)) {
    case 0: return { op: 'abuse.fn', desc: `errnoName(${show(a)})`, run: () => errnoName(a as number) };
    case 1: return { op: 'abuse.fn', desc: `errnoNumber(${show(a)})`, run: () => errnoNumber(a as string) };
    case 2: {
      const name = r.chance(0.5) ? r.pick(Object.keys(STRUCTS)) : r.pick<unknown>(['nope', '__proto__', 'constructor', a]);
      const init = r.pick<unknown>([{}, { argsz: 1 }, { nope: 1 }, { argsz: -1 }, { argsz: 2n ** 64n }, { argsz: 'x' }, a]);
      const extra = r.pick<unknown>([0, 8, -1, 1.5, 2 ** 32, a]);
      return { op: 'abuse.fn', desc: `struct(${args(name, init, extra)})`, run: () => struct(name as string, init as never, extra as number) };
    }
    case 3: return { op: 'abuse.fn', desc: `new CdxBus(${show(a)})`, run: () => new CdxBus(a as never) };
    case 4: {
      const o = someObject(s, r);
      return { op: 'abuse.fn', desc: `new CdxBus({ kernel: ${o.text} })`, run: () => new CdxBus({ kernel: o.v as Kernel }) };
    }
    case 5: {
      const o = someObject(s, r);
      return { op: 'abuse.fn', desc: `new RawKernel(${o.text})`, run: () => new RawKernel(o.v as Kernel) };
    }
    case 6: return { op: 'abuse.fn', desc: `MockKernel.fixture({ devices: ${show(a)} })`, run: () => MockKernel.fixture({ devices: a } as never) };
    case 7: return { op: 'abuse.fn', desc: 'fixtureDevices().length', run: () => fixtureDevices().length };
    default: {
      const ks = kernel(s, r);
      if (ks === undefined) return undefined;
      return { op: 'abuse.fn', desc: `${ks.name}.device(${show(a)})`, run: () => ks.k.device(a as string) };
    }
  }
};

// ---------------------------------------------------------------- the event loop and workers

const turn: Gen = (_s, r) => {
  const n = r.range(1, 3);
  return { op: 'loop.turn', desc: `await turns(${n})  /* setImmediate */`, await: true,
    run: async () => { for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve)); } };
};

const spawnWorker: Gen = (s, r) => {
  if (s.isWorker || s.kernels.length === 0) return undefined;
  if (s.workers.filter((w) => w.alive).length >= 2 || s.workers.length >= 4) return undefined;
  const ks = [r.pick(s.kernels)];
  if (s.kernels.length > 1 && r.chance(0.3)) ks.push(r.pick(s.kernels.filter((k) => k !== ks[0])));
  const name = `w${s.workers.length}`;
  return { op: 'worker.spawn', desc: `${name} = new Worker(fuzz/worker.js, { tokens: [${ks.map((k) => `${k.name}.token`).join(', ')}] })`,
    run: () => { s.spawnWorker(r, ks); } };
};

// ---------------------------------------------------------------- the table

/**
 * [weight, name, generator, main-only]. Worker threads skip the main-only
 * ones: a worker may be terminated at any moment, and what the raw layer makes
 * (descriptors, mappings) is nobody's but its maker's to release; a
 * terminated worker would leave them behind for the leak check to blame on
 * the library. (Objects of the typed API are the library's to release at
 * environment teardown, so workers make those freely.)
 */
const OPS: ReadonlyArray<readonly [number, string, Gen, boolean?]> = [
  [2, 'mock.create', createKernel],
  [1.5, 'mock.fixture', fixtureKernel],
  [0.5, 'mock.attach', attachKernel],
  [1, 'mock.addDevice', addDevice],
  [3, 'mock.device', mockDevice],
  [3, 'mock.raiseMsi', raiseMsi],
  [3, 'mock.dma', deviceDma],
  [2.5, 'mock.fault', injectFault],
  [2, 'mock.misc', mockMisc],
  [4, 'bus', busOp],
  [7, 'bus.open', openDevice],
  [0.5, 'system', systemOp, true],
  [2.5, 'sysfs.write', sysfsWrite],
  [1.5, 'sysfs.read', sysfsRead],
  [1.5, 'raw.open', rawOpen, true],
  [1, 'raw.openDevice', rawOpenDevice, true],
  [1.5, 'raw.close', rawClose, true],
  [5, 'raw.ioctl', rawIoctl],
  [1.5, 'raw.mmap', rawMmap, true],
  [1, 'raw.munmap', rawMunmap, true],
  [1.5, 'raw.rw', rawReadWrite],
  [3, 'dev.props', deviceProps],
  [3, 'dev.reset', deviceReset],
  [2, 'dev.busMaster', busMaster],
  [3, 'dev.close', closeDevice],
  [7, 'region.map', mapRegion],
  [9, 'map.read', mapRead],
  [9, 'map.write', mapWrite],
  [5, 'map.view', mapView],
  [3, 'map.misc', mapMisc],
  [4, 'msi.enable', msiEnable],
  [4, 'msi.other', msiOther],
  [7, 'vec', vectorOp],
  [3, 'dma.alloc', dmaAlloc],
  [3, 'buf', bufferOp],
  [4, 'abuse.receiver', wrongReceiver],
  [2, 'abuse.construct', construct],
  [1.5, 'abuse.fn', functions],
  [3, 'loop.turn', turn],
  [0.6, 'worker.spawn', spawnWorker, true],
];

/** Op names, for --exclude and the usage text. */
export const OP_NAMES: readonly string[] = [...OPS.map(([, n]) => n), 'view.write.readonly', 'worker.loop'];

/**
 * Draws the next call: an op by weight, or a fallback that makes what the
 * sequence lacks (a kernel, a device). Generators look at the kernels (device
 * names, open counts), so the choice is journalled first: a crash or a hang
 * there is still attributed.
 */
export function chooseOp(s: Sequence, r: Rng): Call | undefined {
  const table = OPS.filter(([, name, , mainOnly]) => !s.exclude.has(name) && !(mainOnly === true && s.isWorker));
  const [, name, gen] = r.weighted(table.map((row) => [row[0], row] as const));
  s.journal.choosing(s.seq, s.thread, s.step, name);
  let call = gen(s, r);
  if (call !== undefined && call.tag !== undefined && s.exclude.has(call.tag)) call = undefined;
  if (call !== undefined) return call;
  if (s.kernels.length === 0) return r.chance(0.7) ? fixtureKernel(s, r) : createKernel(s, r);
  if (!s.devices.some((d) => !d.closed) && r.chance(0.7)) return openDevice(s, r);
  return undefined;
}

/** Attaches a worker's sequence to the kernels it was given. */
export function attachCall(s: Sequence, token: string, index: number): Call {
  const name = s.nextName('k');
  return { op: 'mock.attach', desc: `${name} = MockKernel.attach(workerData.tokens[${index}])`,
    run: () => addKernel(s, MockKernel.attach(token), name) };
}

