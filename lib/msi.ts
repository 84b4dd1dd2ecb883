/**
 * MSI interrupts of a device, delivered on the event loop.
 *
 * `dev.msi.enable()` gives one {@link MsiVector} per vector. Each is an
 * EventEmitter ('interrupt', with the number of interrupts since the last
 * delivery) and an async iterator. Delivery is a uv_poll on the eventfd the
 * kernel signals, on the calling thread's own loop.
 *
 * Interrupts coalesce: the kernel adds 1 to the vector's eventfd per
 * interrupt, and one read returns and clears the sum, so several interrupts
 * between two turns of the event loop arrive as one event with count > 1.
 * Device status registers, not event counts, are the truth about what happened.
 *
 * Lifetime: a vector that is watched (has an 'interrupt' listener) and ref'd
 * is an active handle, like a socket: it keeps the process, and its device,
 * alive. A device whose vectors are all unwatched or unref'd can be collected
 * (and is then closed by the garbage collector, with a warning).
 */
import { EventEmitter, on } from 'node:events';
import { checkConstruct, checkKeys, closedError, invalidArgType, invalidThis, kConstruct, outOfRange, VfioError } from './errors';
import type { NativeDeviceHandle } from './native';

/** Options of {@link MsiVector.wait} and the async iterator. */
export interface WaitOptions {
  /** Abort the wait (rejects with the signal's reason, an AbortError). */
  signal?: AbortSignal;
}

// Checks wait()/events() options; returns the signal.
function waitSignal(options: unknown): AbortSignal | undefined {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  checkKeys(options, 'wait options', ['signal']);
  const { signal } = options as WaitOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  return signal;
}

let closeVector: (v: MsiVector) => void;

/** @internal The device closed (or its reset failed to re-arm MSI): every vector dies. */
export let closeMsi: (msi: Msi) => void;

/**
 * One MSI vector. Listening for 'interrupt' starts polling its eventfd; when
 * the last listener goes, polling stops. `unref()` lets the process exit while
 * the vector is being watched. Emits 'close' (once) when MSI is disabled or the
 * device closes; after that it is dead: waits reject with ERR_VFIO_CLOSED and
 * iteration ends at once.
 */
export class MsiVector extends EventEmitter implements AsyncIterable<number> {
  /** Vector number. */
  readonly index: number;
  readonly #handle: NativeDeviceHandle;
  #refed = true;
  #live = true;

  /** @internal */
  constructor(token: unknown, handle: NativeDeviceHandle, index: number) {
    checkConstruct(token, 'MsiVector');
    super();
    this.#handle = handle;
    this.index = index;
    this.on('newListener', (event) => {
      if (event === 'interrupt' && this.#live && this.listenerCount('interrupt') === 0) {
        this.#handle.msiPoll(this.index, true);
      }
    });
    this.on('removeListener', (event) => {
      if (event === 'interrupt' && this.#live && this.listenerCount('interrupt') === 0) {
        this.#handle.msiPoll(this.index, false);
      }
    });
  }

  static #check(self: unknown): asserts self is MsiVector {
    if (typeof self !== 'object' || self === null || !(#handle in self)) throw invalidThis('MsiVector');
  }

  /** Keeps the event loop alive while this vector is watched (the default). */
  ref(): this {
    MsiVector.#check(this);
    this.#refed = true;
    if (this.#live) this.#handle.msiRef(this.index, true);
    return this;
  }

  /** Lets the process exit even while this vector is watched. */
  unref(): this {
    MsiVector.#check(this);
    this.#refed = false;
    if (this.#live) this.#handle.msiRef(this.index, false);
    return this;
  }

  /** Whether this vector keeps the event loop alive while watched. */
  get refed(): boolean {
    MsiVector.#check(this);
    return this.#refed;
  }

  /** False once MSI was disabled or the device closed. */
  get live(): boolean {
    MsiVector.#check(this);
    return this.#live;
  }

  /**
   * The next delivery's interrupt count.
   * @throws (rejects) AbortError when `signal` aborts; ERR_VFIO_CLOSED when MSI is disabled or
   *   the device closes first, or already was; TypeError for bad options
   */
  wait(options: WaitOptions = {}): Promise<number> {
    try {
      MsiVector.#check(this);
      const signal = waitSignal(options);
      if (!this.#live) throw closedError(`MSI vector ${this.index}`);
      if (signal?.aborted) throw signal.reason;
      return new Promise((resolve, reject) => {
        const done = () => {
          this.off('interrupt', onInterrupt);
          this.off('close', onClose);
          signal?.removeEventListener('abort', onAbort);
        };
        const onInterrupt = (count: number) => { done(); resolve(count); };
        const onClose = () => { done(); reject(closedError(`MSI vector ${this.index}`)); };
        const onAbort = () => { done(); reject(signal!.reason); };
        this.on('interrupt', onInterrupt);
        this.once('close', onClose);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Interrupt counts as they arrive, until the signal aborts (the iteration throws its reason)
   * or MSI is disabled / the device closes (the iteration ends).
   * @throws TypeError for bad options (when iteration starts)
   */
  async *events(options: WaitOptions = {}): AsyncGenerator<number> {
    MsiVector.#check(this);
    const signal = waitSignal(options);
    if (!this.#live) return;
    const ac = new AbortController();
    const onClose = () => ac.abort();
    this.once('close', onClose);
    const forward = () => ac.abort(signal!.reason);
    if (signal?.aborted) forward();
    signal?.addEventListener('abort', forward, { once: true });
    try {
      for await (const [count] of on(this, 'interrupt', { signal: ac.signal })) yield count as number;
    } catch (e) {
      if (!(ac.signal.aborted && !signal?.aborted)) throw e;  // closed: end quietly
    } finally {
      this.off('close', onClose);
      signal?.removeEventListener('abort', forward);
    }
  }

  /** Same as {@link events} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<number> {
    return this.events();
  }

  // MSI was disabled or the device closed: the vector is dead.
  #close(): void {
    if (!this.#live) return;
    this.#live = false;
    this.removeAllListeners('interrupt');
    this.emit('close');
  }

  static {
    closeVector = (v) => v.#close();
  }
}

/** The device's MSI interrupts (IRQ index 0 of vfio-cdx). */
export class Msi {
  readonly #handle: NativeDeviceHandle;
  // The Device: reachable from the delivery callback, so a watched, ref'd vector (whose callback
  // the addon then holds strongly) keeps its whole device alive, as an active handle does.
  readonly #device: { readonly name: string };
  #vectors: MsiVector[] = [];
  // The delivery callback. The addon holds it weakly unless a vector is watched and ref'd, so
  // this reference is what keeps it alive: the callback lives exactly as long as the Device.
  #deliver: ((vector: number, count: number) => void) | undefined;

  /** @internal */
  constructor(token: unknown, handle: NativeDeviceHandle, device: { readonly name: string }) {
    checkConstruct(token, 'Msi');
    this.#handle = handle;
    this.#device = device;
  }

  static #check(self: unknown): asserts self is Msi {
    if (typeof self !== 'object' || self === null || !(#handle in self)) throw invalidThis('Msi');
  }

  /** Number of MSI vectors (VFIO_DEVICE_GET_IRQ_INFO), 0 when the device has none. */
  get count(): number {
    Msi.#check(this);
    return this.#handle.msiInfo().count;
  }

  /** Whether MSI is enabled (eventfds attached). */
  get enabled(): boolean {
    Msi.#check(this);
    return this.#deliver !== undefined;
  }

  /** The enabled vectors (empty while disabled). */
  get vectors(): readonly MsiVector[] {
    Msi.#check(this);
    return this.#vectors;
  }

  /**
   * Attaches one eventfd to each of the first `vectors` vectors, all in one
   * VFIO_DEVICE_SET_IRQS (the kernel enables every vector of the device on the
   * first eventfd, and re-programming a live vector loses interrupts, so this
   * is done once: disable before enabling again).
   * @throws ERR_VFIO_MSI_ENABLED; ERR_VFIO_NO_MSI; RangeError; VfioError from SET_IRQS;
   *   ERR_VFIO_CLOSED
   */
  enable(vectors?: number): MsiVector[] {
    Msi.#check(this);
    const count = this.#handle.msiInfo().count;
    const n = vectors ?? count;
    if (typeof n !== 'number') throw invalidArgType('vectors', 'of type number', n);
    if (count > 0 && (!Number.isInteger(n) || n < 1 || n > count)) {
      throw outOfRange('vectors', `an integer from 1 to ${count}`, n);
    }
    const deliver = (vector: number, c: number) => { this.#vectors[vector]?.emit('interrupt', c); };
    this.#handle.msiEnable(n, deliver);
    this.#deliver = deliver;
    this.#vectors = Array.from({ length: n }, (_, i) => new MsiVector(kConstruct, this.#handle, i));
    return this.#vectors;
  }

  /**
   * Fires `vector` from software: VFIO_DEVICE_SET_IRQS with DATA_NONE (the
   * kernel's loopback), which signals the vector's eventfd if it has one.
   * @throws VfioError EINVAL when MSI is not enabled (the kernel's answer; the error's hint says
   *   so) or the vector is out of range; ERR_VFIO_CLOSED
   */
  trigger(vector: number): void {
    Msi.#check(this);
    if (typeof vector !== 'number') throw invalidArgType('vector', 'of type number', vector);
    try {
      this.#handle.msiTrigger(vector);
    } catch (e) {
      if (e instanceof VfioError && e.code === 'EINVAL') {
        const count = this.#handle.msiInfo().count;
        if (this.#vectors.length === 0) {
          e.addHint('MSI is not enabled on this device: call msi.enable() first (the kernel has no vector to signal)');
        } else if (vector >= count) {
          e.addHint(`${this.#device.name} has ${count} MSI vectors (0..${count - 1})`);
        }
      }
      throw e;
    }
  }

  /**
   * Detaches every eventfd (SET_IRQS DATA_NONE, count 0), stops polling and
   * closes the eventfds. Pending waits reject with ERR_VFIO_CLOSED. Idempotent.
   */
  disable(): void {
    Msi.#check(this);
    this.#handle.msiDisable();
    this.#closed();
  }

  static {
    closeMsi = (msi) => msi.#closed();
  }

  // The device closed or MSI was disabled: every vector dies. Each vector's 'close' listeners
  // run; if some throw, the first error is rethrown after all vectors are closed.
  #closed(): void {
    const vectors = this.#vectors;
    this.#vectors = [];
    this.#deliver = undefined;
    let first: { error: unknown } | undefined;
    for (const v of vectors) {
      try {
        closeVector(v);
      } catch (error) {
        first ??= { error };
      }
    }
    if (first) throw first.error;
  }

}
