/**
 * `vfio-cdx/raw`: the syscall seam itself, for tests and power users.
 *
 * Every method is the system call it names, on the chosen kernel (the real one
 * or a MockKernel), and returns what the kernel returned: `>= 0` on success or
 * `-errno` — no exceptions, no ownership, no checks. This is how the
 * conformance suite reaches the kernel rules the typed API never breaks
 * (argsz below minsz, unknown flags, bad user pointers), with the same calls on
 * both kernels. Descriptors and mappings made here are yours to close/unmap.
 *
 * Structs are built with {@link struct}, from the layouts compiled into the
 * addon (src-native/abi.h) — nothing here restates an offset.
 */
import { invalidArgValue, invalidThis } from './errors';
import { nativeKernel, type Kernel } from './kernel';
import { native, type NativeKernelHandle, type NativeStat, type StructLayout } from './native';

/** Raw seam operations on one kernel. */
export class RawKernel {
  readonly #k: NativeKernelHandle;
  /** @param kernel a MockKernel, or the running kernel when omitted */
  constructor(kernel?: Kernel) {
    this.#k = nativeKernel(kernel);
  }
  // The handle, after checking `this` (a method called on another object is a coded TypeError).
  static #of(self: unknown): NativeKernelHandle {
    if (typeof self !== 'object' || self === null || !(#k in self)) throw invalidThis('RawKernel');
    return (self as RawKernel).#k;
  }
  open(path: string, flags: number): number { return RawKernel.#of(this).open(path, flags); }
  close(fd: number): number { return RawKernel.#of(this).close(fd); }
  /**
   * ioctl(2). `arg`: a buffer (its address is passed: the kernel reads and
   * writes it), a bigint (passed as is: an address such as 0n, or a value), a
   * number (a value, for VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU), or null (0).
   */
  ioctl(fd: number, request: number, arg?: ArrayBufferView | ArrayBuffer | bigint | number | null): number {
    return RawKernel.#of(this).ioctl(fd, request, arg ?? null);
  }
  /** mmap(2) with addr NULL: `{ result: 0 | -errno, address }`. */
  mmap(fd: number, offset: number | bigint, length: number, prot: number, flags: number): { result: number; address: bigint } {
    return RawKernel.#of(this).mmap(fd, offset, length, prot, flags);
  }
  /** munmap(2) of an address returned by {@link mmap}. Unmapping anything else corrupts the process. */
  munmap(address: bigint, length: number): number { return RawKernel.#of(this).munmap(address, length); }
  read(fd: number, buffer: ArrayBufferView): number { return RawKernel.#of(this).read(fd, buffer); }
  write(fd: number, buffer: ArrayBufferView): number { return RawKernel.#of(this).write(fd, buffer); }
  eventfd(initval: number, flags: number): number { return RawKernel.#of(this).eventfd(initval, flags); }
  /** The kernel's PAGE_SIZE: mmap offsets are multiples of it, mmap and munmap lengths round up to it. */
  pageSize(): number { return RawKernel.#of(this).pageSize(); }
  /** Directory entries, or -errno. */
  readDir(path: string): string[] | number { return RawKernel.#of(this).readDir(path); }
  /** Link target as stored, or -errno. */
  readLink(path: string): string | number { return RawKernel.#of(this).readLink(path); }
  /** Whole file, or -errno. */
  readFile(path: string): string | number { return RawKernel.#of(this).readFile(path); }
  /** One write(2) of `data` (like `echo -n`): bytes written, or -errno. */
  writeFile(path: string, data: string): number { return RawKernel.#of(this).writeFile(path, data); }
  stat(path: string): NativeStat | number { return RawKernel.#of(this).stat(path); }
}

/** The ABI compiled into the addon: ioctl numbers and flags, struct layouts, kernel minsz, libc flags. */
export function abi(): { constants: Record<string, number>; structs: Record<string, StructLayout>; minsz: Record<string, number>; sys: Record<string, number> } {
  return native().abi;
}

/** A struct in a byte buffer, with fields read and written by name (host byte order). */
export interface RawStruct {
  readonly bytes: Uint8Array;
  set(field: string, value: number | bigint): RawStruct;
  get(field: string): number | bigint;
}

/**
 * A zeroed buffer laid out as the named ABI struct (plus `extra` bytes for
 * flexible data), with `argsz`/`size` preset to the whole length unless
 * `init` says otherwise.
 */
export function struct(name: string, init: Record<string, number | bigint> = {}, extra = 0): RawStruct {
  const layout = typeof name === 'string' && Object.hasOwn(native().abi.structs, name) ? native().abi.structs[name] : undefined;
  if (layout === undefined) {
    throw invalidArgValue('name', name, `must be an ABI struct name (${Object.keys(native().abi.structs).join(', ')})`);
  }
  if (init === null || typeof init !== 'object') throw invalidArgValue('init', init, 'must be an object of field values');
  if (!Number.isSafeInteger(extra) || extra < 0 || extra > 1 << 20) {
    throw invalidArgValue('extra', extra, 'must be an integer 0..1048576 (bytes of flexible data)');
  }
  const bytes = new Uint8Array(layout.size + extra);
  const view = new DataView(bytes.buffer);
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const field = (f: string): readonly [number, number] => {
    const r = layout.fields[f];
    if (typeof f !== 'string' || r === undefined || !Object.hasOwn(layout.fields, f)) {
      throw invalidArgValue('field', f, `must be a field of struct ${name} (${Object.keys(layout.fields).join(', ')})`);
    }
    return r;
  };
  const s: RawStruct = {
    bytes,
    set(f, value) {
      const [off, size] = field(f);
      if (typeof value !== 'number' && typeof value !== 'bigint') {
        throw invalidArgValue('value', value, `must be a number or bigint (struct ${name}.${f})`);
      }
      if (typeof value === 'number' && !Number.isInteger(value)) {
        throw invalidArgValue('value', value, `must be an integer (struct ${name}.${f})`);
      }
      if (size === 8) view.setBigUint64(off, BigInt.asUintN(64, BigInt(value)), little);
      else if (size === 4) view.setUint32(off, Number(BigInt.asUintN(32, BigInt(value))), little);
      else if (size === 2) view.setUint16(off, Number(BigInt.asUintN(16, BigInt(value))), little);
      else throw invalidArgValue('field', f, `is not a scalar field of struct ${name}`);
      return s;
    },
    get(f) {
      const [off, size] = field(f);
      if (size === 8) return view.getBigUint64(off, little);
      if (size === 4) return view.getUint32(off, little);
      if (size === 2) return view.getUint16(off, little);
      throw invalidArgValue('field', f, `is not a scalar field of struct ${name}`);
    },
  };
  const sizeField = 'argsz' in layout.fields ? 'argsz' : 'size' in layout.fields ? 'size' : undefined;
  if (sizeField !== undefined) s.set(sizeField, bytes.length);
  for (const [k, v] of Object.entries(init)) s.set(k, v);
  return s;
}
