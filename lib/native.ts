/**
 * The native addon, loaded on first use (not at import) and set up once per
 * environment: the JS error constructors are handed to C++ so native errors are
 * `instanceof VfioError`, and `NODE_DEBUG=vfio-cdx` turns on call tracing.
 * @internal
 */
import * as path from 'node:path';
import { debuglog } from 'node:util';
import type { CdxDeviceEntry } from './bus';
import { errnoName, makeSysError, makeUsageError } from './errors';

/** Field layout of one ABI struct: name → [offset, size in bytes] (size 0: flexible array). */
export interface StructLayout {
  size: number;
  fields: Record<string, readonly [number, number]>;
}

export interface AbiTable {
  constants: Record<string, number>;
  structs: Record<string, StructLayout>;
  minsz: Record<string, number>;
  sys: Record<string, number>;
}

/** Exact-width accessors bound to one mapping (their `this` is ignored). */
export interface NativeAccessors {
  read8(offset: number): number;
  read16(offset: number): number;
  read32(offset: number): number;
  read64(offset: number): bigint;
  write8(offset: number, value: number): void;
  write16(offset: number, value: number): void;
  write32(offset: number, value: number): void;
  write64(offset: number, value: bigint | number): void;
  /** write32 after a store barrier for DMA masters (arm64 `dmb oshst`; x86 a compiler barrier). */
  doorbell32(offset: number, value: number): void;
}

export interface NativeMappingHandle {
  mapped(): boolean;
  unmap(): void;
  accessors(): NativeAccessors;
}

export interface NativeRegionInfo {
  index: number;
  flags: number;
  size: bigint;
  offset: bigint;
}

export interface NativeDeviceHandle {
  describe(): { name: string; path: 'group' | 'cdev'; group: number; noiommu: boolean; node: string; pageSize: number };
  info(): { flags: number; numRegions: number; numIrqs: number };
  regions(): NativeRegionInfo[];
  fd(): number;
  closed(): boolean;
  reset(): void;
  busMasterSupported(): boolean;
  setBusMaster(enable: boolean): void;
  map(index: number, offset: number | bigint, length: number | bigint): [NativeMappingHandle, ArrayBuffer | null];
  close(): void;
  dmaAlloc(size: number | bigint, hugepages: boolean): { buffer: ArrayBuffer | null; iova: bigint; size: number; free(): void };
  dmaRanges(): Array<{ start: bigint; last: bigint }>;
  msiInfo(): { count: number; enabled: boolean; vectors: number };
  msiEnable(vectors: number, callback: (vector: number, count: number) => void): void;
  msiPoll(vector: number, on: boolean): void;
  msiRef(vector: number, on: boolean): void;
  msiTrigger(vector: number): void;
  msiDisable(): void;
}

export interface NativeStat {
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
}

export interface NativeKernelHandle {
  name(): 'linux' | 'mock';
  open(path: string, flags: number): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg?: ArrayBufferView | ArrayBuffer | bigint | number | null): number;
  mmap(fd: number, offset: number | bigint, length: number | bigint, prot: number, flags: number): {
    result: number;
    address: bigint;
  };
  munmap(address: bigint, length: number | bigint): number;
  read(fd: number, buffer: ArrayBufferView): number;
  write(fd: number, buffer: ArrayBufferView): number;
  eventfd(initval: number, flags: number): number;
  pageSize(): number;
  readDir(path: string): string[] | number;
  readLink(path: string): string | number;
  readFile(path: string): string | number;
  writeFile(path: string, data: string): number;
  stat(path: string): NativeStat | number;
  openDevice(name: string, path: string): NativeDeviceHandle;
  openHere(): string[];
  // The CDX bus through sysfs (src-native/cdx_sysfs.cc): failures throw VfioError / Error.
  busPresent(): boolean;
  busList(): CdxDeviceEntry[];
  busDevice(name: string): CdxDeviceEntry;
  busBind(name: string): void;
  busUnbind(name: string): void;
  busReset(name: string): void;
  busRemove(name: string): void;
  busRescan(): void;
}

/** A mock kernel's control side (src-native/napi_mock_control.cc): what tests do to the mock. */
export interface NativeMockControl {
  token(): string;
  addDevice(spec: object): void;
  region(device: string, instance: number, index: number): ArrayBuffer;
  status(device: string): {
    exists: boolean;
    instance: number;
    busMaster: boolean;
    resets: number;
    driver: string;
    openCount: number;
    msiEnabled: boolean;
    numRegions: number;
    dmaErrors: number;
  };
  raiseMsi(device: string, vector: number): number;
  dmaRead(device: string, iova: bigint, buffer: Uint8Array): number;
  dmaWrite(device: string, iova: bigint, buffer: Uint8Array): number;
  deviceNames(): string[];
  injectFault(fault: object): void;
  clearFaults(): void;
  setCapSysRawio(on: boolean): void;
  setTracing(on: boolean): void;
  takeTrace(): Array<{ op: string; name: string; fd: number; result: number }>;
  openObjects(): number;
  config(): Record<string, unknown>;
}

/** The control side of an lnic device model (src-native/napi_lnic.cc). */
export interface NativeLnicControl {
  step(budget?: number, advanceNs?: number): number;
  setScheduler(mode: string, cpu: number): void;
  scheduler(): 'stepped' | 'threaded' | 'busy';
  counters(): { steps: number; passes: number; packets: number; stepNs: number; busyNs: number; threadNs: number; msis: number; msisLost: number };
  setResetDelay(ns: number): void;
  setCapture(frames: number): void;
  takeCapture(): Uint8Array[];
  /** External<VfioCdxLnicHooks> for the benchmark's C driver (src-native/bench_hooks.h). */
  hooks(): unknown;
}

export interface NativeAddon {
  setup(errors: { sysError: Function; usageError: Function }): void;
  setTrace(fn: ((syscall: string, request: string, path: string, fd: number, result: number) => void) | null): void;
  systemKernel(): NativeKernelHandle;
  /** 'cdx-BB:DD' in lower-case hex, the names the CDX bus makes (src-native/cdx_sysfs.cc). */
  isDeviceName(name: string): boolean;
  createMockKernel(options: object): NativeKernelHandle;
  mockSchema(): {
    profiles: string[]; models: string[]; ioctls: string[]; controllerOps: string[]; faultOps: string[];
    configKeys: string[]; deviceKeys: string[]; regionKeys: string[]; faultKeys: string[];
  };
  attachMockKernel(token: string): NativeKernelHandle;
  /** The control side of a mock kernel's handle (ERR_INVALID_ARG_VALUE for the system kernel). */
  mockControl(kernel: NativeKernelHandle): NativeMockControl;
  lnicControl(control: NativeMockControl, device: string): NativeLnicControl;
  abi: AbiTable;
  /** C hooks for native code of another addon in this process (src-native/bench_hooks.h). */
  _hooks: { kernel(kernel: NativeKernelHandle): unknown };
  /** Native devices alive and mappings still mapped in this process (for tests: close() frees them at once). */
  _live(): { devices: number; mappings: number };
}

let addon: NativeAddon | undefined;

/** The addon of this environment (each worker loads its own instance). */
export function native(): NativeAddon {
  if (addon === undefined) {
    // node-gyp-build finds prebuilds/<platform>-<arch>/*.node or build/Release.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    const loaded = load(path.join(__dirname, '..', '..'));
    loaded.setup({ sysError: makeSysError, usageError: makeUsageError });
    const trace = debuglog('vfio-cdx');
    if (trace.enabled) {
      loaded.setTrace((syscall, request, target, fd, result) => {
        const what = request ? `${request} ` : '';
        trace('%s %s%s fd=%d -> %s', syscall, what, target, fd, result < 0 ? `-${errnoName(-result)}` : result);
      });
    }
    addon = loaded;
  }
  return addon;
}
