/**
 * Which kernel the library talks to: the real one (the default) or a
 * {@link MockKernel} from `vfio-cdx/mock`. Both sit under the same native code;
 * the choice is made by passing one to {@link CdxBus} — never by module mocking.
 */
import { checkConstruct, kConstruct } from './errors';
import { native, type NativeKernelHandle } from './native';

const handles = new WeakMap<Kernel, NativeKernelHandle>();

/** A kernel the library can talk to. */
export abstract class Kernel {
  /** 'system' for the real kernel, 'mock' for a MockKernel. */
  abstract readonly kind: 'system' | 'mock';

  /** @internal */
  protected constructor(token: unknown, handle: NativeKernelHandle) {
    checkConstruct(token, 'Kernel');
    handles.set(this, handle);
  }
}

/** The running Linux kernel. */
export class SystemKernel extends Kernel {
  readonly kind = 'system' as const;
  /** @internal Use {@link systemKernel}. */
  constructor(token: unknown, handle: NativeKernelHandle) {
    checkConstruct(token, 'SystemKernel');
    super(token, handle);
  }
}

let system: SystemKernel | undefined;

/** The running Linux kernel (one handle per thread). */
export function systemKernel(): SystemKernel {
  system ??= new SystemKernel(kConstruct, native().systemKernel());
  return system;
}

/** @internal The native handle behind a Kernel (the system kernel when undefined). */
export function nativeKernel(kernel?: Kernel): NativeKernelHandle {
  const k = kernel ?? systemKernel();
  const h = handles.get(k);
  if (h === undefined) {
    throw Object.assign(new TypeError('The "kernel" option must be a Kernel (systemKernel() or a MockKernel)'), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  return h;
}
