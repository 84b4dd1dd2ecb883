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
 */
import { EventEmitter, on } from 'node:events';
import { closedError, invalidArgType, outOfRange } from './errors';
import type { NativeDeviceHandle } from './native';

/** Options of {@link MsiVector.wait} and the async iterator. */
export interface WaitOptions {
  /** Abort the wait (rejects with the signal's reason, an AbortError). */
  signal?: AbortSignal;
}

/**
 * One MSI vector. Listening for 'interrupt' starts polling its eventfd; when
 * the last listener goes, polling stops. `unref()` lets the process exit while
 * the vector is being watched.
 */
export class MsiVector extends EventEmitter implements AsyncIterable<number> {
  /** Vector number. */
  readonly index: number;
  readonly #handle: NativeDeviceHandle;
  readonly #owner: Msi;
  #refed = true;

  /** @internal */
  constructor(owner: Msi, handle: NativeDeviceHandle, index: number) {
    super();
    this.#owner = owner;
    this.#handle = handle;
    this.index = index;
    this.on('newListener', (event) => {
      if (event === 'interrupt' && this.listenerCount('interrupt') === 0 && this.#owner._live(this)) {
        this.#handle.msiPoll(this.index, true);
      }
    });
    this.on('removeListener', (event) => {
      if (event === 'interrupt' && this.listenerCount('interrupt') === 0 && this.#owner._live(this)) {
        this.#handle.msiPoll(this.index, false);
      }
    });
  }

  /** Keeps the event loop alive while this vector is watched (the default). */
  ref(): this {
    this.#refed = true;
    if (this.#owner._live(this)) this.#handle.msiRef(this.index, true);
    return this;
  }

  /** Lets the process exit even while this vector is watched. */
  unref(): this {
    this.#refed = false;
    if (this.#owner._live(this)) this.#handle.msiRef(this.index, false);
    return this;
  }

  /** Whether this vector keeps the event loop alive while watched. */
  get refed(): boolean {
    return this.#refed;
  }

  /**
   * The next delivery's interrupt count.
   * @throws AbortError when `signal` aborts; ERR_VFIO_CLOSED when MSI is disabled first
   */
  wait(options: WaitOptions = {}): Promise<number> {
    const { signal } = options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
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
  }

  /** Interrupt counts as they arrive, until the signal aborts or MSI is disabled. */
  async *events(options: WaitOptions = {}): AsyncGenerator<number> {
    const ac = new AbortController();
    const onClose = () => ac.abort();
    this.once('close', onClose);
    const forward = () => ac.abort(options.signal!.reason);
    if (options.signal?.aborted) forward();
    options.signal?.addEventListener('abort', forward, { once: true });
    try {
      for await (const [count] of on(this, 'interrupt', { signal: ac.signal })) yield count as number;
    } catch (e) {
      if (!(ac.signal.aborted && !options.signal?.aborted)) throw e;  // closed: end quietly
    } finally {
      this.off('close', onClose);
      options.signal?.removeEventListener('abort', forward);
    }
  }

  /** Same as {@link events} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<number> {
    return this.events();
  }
}

/** The device's MSI interrupts (IRQ index 0 of vfio-cdx). */
export class Msi {
  readonly #handle: NativeDeviceHandle;
  readonly #name: string;
  #vectors: MsiVector[] = [];

  /** @internal */
  constructor(handle: NativeDeviceHandle, name: string) {
    this.#handle = handle;
    this.#name = name;
  }

  /** Number of MSI vectors (VFIO_DEVICE_GET_IRQ_INFO), 0 when the device has none. */
  get count(): number {
    return this.#handle.msiInfo().count;
  }

  /** Whether MSI is enabled (eventfds attached). */
  get enabled(): boolean {
    return this.#vectors.length > 0;
  }

  /** The enabled vectors (empty while disabled). */
  get vectors(): readonly MsiVector[] {
    return this.#vectors;
  }

  /**
   * Attaches one eventfd to each of the first `vectors` vectors, all in one
   * VFIO_DEVICE_SET_IRQS (the kernel enables every vector of the device on the
   * first eventfd, and re-programming a live vector loses interrupts, so this
   * is done once: disable before enabling again).
   * @throws ERR_VFIO_MSI_ENABLED; ERR_VFIO_NO_MSI; RangeError; VfioError from SET_IRQS
   */
  enable(vectors: number = this.count): MsiVector[] {
    if (typeof vectors !== 'number') throw invalidArgType('vectors', 'of type number', vectors);
    const count = this.count;
    if (count > 0 && (!Number.isInteger(vectors) || vectors < 1 || vectors > count)) {
      throw outOfRange('vectors', `an integer from 1 to ${count}`, vectors);
    }
    this.#handle.msiEnable(vectors, (vector, n) => this.#vectors[vector]?.emit('interrupt', n));
    this.#vectors = Array.from({ length: vectors }, (_, i) => new MsiVector(this, this.#handle, i));
    return this.#vectors;
  }

  /**
   * Fires `vector` from software: VFIO_DEVICE_SET_IRQS with DATA_NONE (the
   * kernel's loopback), which signals the vector's eventfd if it has one.
   * @throws VfioError EINVAL when MSI is not enabled (the kernel's answer)
   */
  trigger(vector: number): void {
    if (typeof vector !== 'number') throw invalidArgType('vector', 'of type number', vector);
    this.#handle.msiTrigger(vector);
  }

  /**
   * Detaches every eventfd (SET_IRQS DATA_NONE, count 0), stops polling and
   * closes the eventfds. Pending waits reject with ERR_VFIO_CLOSED. Idempotent.
   */
  disable(): void {
    this.#handle.msiDisable();
    this._closed();
  }

  /** @internal The device closed (its eventfds are gone). */
  _closed(): void {
    const vectors = this.#vectors;
    this.#vectors = [];
    for (const v of vectors) {
      v.emit('close');
      v.removeAllListeners('interrupt');
    }
  }

  /** @internal */
  _live(v: MsiVector): boolean {
    return this.#vectors[v.index] === v;
  }

  /** @internal */
  get _name(): string {
    return this.#name;
  }
}
