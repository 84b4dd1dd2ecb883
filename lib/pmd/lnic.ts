/**
 * A poll-mode driver for lnic, the mock kernel's simulated loopback NIC (docs/lnic.md), built
 * from the blocks of this module: a {@link Mempool}, two {@link DescRing}s and {@link Doorbell}s.
 * It is also the reference for a driver of your own device (docs/pmd.md explains each choice).
 *
 * The hot path — {@link LnicPort.rxBurst}, {@link LnicPort.txBurst} — allocates nothing and uses
 * no BigInt: buffers are ids, bursts fill caller-owned typed arrays, descriptors are four int32
 * stores, and each burst ends with at most one doorbell store.
 *
 * - RX: every received slot is refilled at once from the pool; RX_PIDX is rung once
 *   `rxFreeThresh` refills have accumulated.
 * - TX: RS is set on every 32nd descriptor; completed buffers return to the pool 32 at a time,
 *   checked by one DD flag (or one head write-back word) per chunk.
 * - Completion is read from the DD flags ('dd', the default on x86-64, where loads are not
 *   reordered) or from the head write-back words, one `Atomics.load` (an acquire) per burst
 *   ('hwb', the default elsewhere: arm64 needs the acquire before reading descriptors).
 */
import type { Device, DmaBuffer, Mapping, MsiVector } from '../index';
import { checkKeys, invalidArgType, invalidArgValue, outOfRange } from '../errors';
import { Doorbell } from './doorbell';
import { Mempool, type MempoolOptions } from './mempool';
import { DESC_BYTES, DescRing } from './ring';
import * as R from './lnic-regs';

/** Options of {@link LnicPort.open}. */
export interface LnicPortOptions {
  /** Entries per ring, a power of two from 64 to 4096 (default 512). */
  ringSize?: number;
  /** The packet buffer pool: a pool of yours, or options for one the port makes (default 4096 × 2048 B). */
  pool?: Mempool | MempoolOptions;
  /** Refills that make one RX doorbell (default 32). */
  rxFreeThresh?: number;
  /** 'loopback' (TX comes back on RX), 'generator' (the device makes RX traffic), 'sink' (default 'loopback'). */
  mode?: 'loopback' | 'generator' | 'sink';
  /** How completions are read: DD flags, or head write-back words (default: 'dd' on x86-64, else 'hwb'). */
  writeBack?: 'dd' | 'hwb';
  /** RX DROP_EN: drop (and count) frames that find no RX buffer, instead of holding TX back. */
  dropWhenFull?: boolean;
  /** Enable MSI (two vectors: RX/TX and misc) for {@link LnicPort.armRx} / {@link LnicPort.rxVector}. */
  interrupts?: boolean;
  /** Interrupt moderation: completions per interrupt, and the longest wait in µs (0: none). */
  itr?: { threshold?: number; delayUs?: number };
  /** Generator settings (mode 'generator'): packets/s (0: as fast as RX buffers allow), frame length, flows. */
  generator?: { pps?: number; frameLength?: number; flows?: number };
  /**
   * Called while the port waits for the device (reset): a stepped mock's clock, e.g.
   * `() => lnic.step(64, 1000)`. Without it the port polls the registers with a timeout.
   */
  tick?: () => void;
  /** Milliseconds to wait for the device (default 1000). */
  timeout?: number;
}

const MODES = { loopback: R.MODE_LOOPBACK, generator: R.MODE_GENERATOR, sink: R.MODE_SINK } as const;
const DD = R.FLAG_DD << 16;
const RS = R.FLAG_RS << 16;
const TX_CHUNK = 32;
/** Words of the exported driver state (see {@link LnicPort.exportState}). */
export const LNIC_STATE_WORDS = 8;

/** Counters of the device (the STAT registers) as numbers. */
export interface LnicStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxDropNoDesc: number;
  rxDropErr: number;
  txDropLink: number;
}

/** One lnic queue pair, driven from this thread. */
export class LnicPort implements Disposable {
  readonly device: Device;
  readonly regs: Mapping;
  readonly pool: Mempool;
  readonly tx: DescRing;
  readonly rx: DescRing;
  readonly ringSize: number;
  readonly rxFreeThresh: number;
  readonly writeBack: 'dd' | 'hwb';
  /** MSI vector 0 (RX and TX), when opened with `interrupts`. */
  readonly rxVector: MsiVector | null;
  /** MSI vector 1 (link and errors), when opened with `interrupts`. */
  readonly miscVector: MsiVector | null;

  readonly #ringMem: DmaBuffer;
  readonly #ownsPool: boolean;
  readonly #r: Int32Array;        // the registers
  readonly #txd: Int32Array;      // TX ring words
  readonly #rxd: Int32Array;      // RX ring words
  readonly #hwb: Int32Array;      // [0] TX CIDX, [16] RX CIDX (separate cache lines)
  readonly #txBell: Doorbell;
  readonly #rxBell: Doorbell;
  readonly #stack: Int32Array;
  readonly #mask: number;
  readonly #lo: number;           // pool IOVA low word, as int32
  readonly #hi: number;
  readonly #shift: number;        // log2(bufSize)
  readonly #bufSize: number;
  readonly #useHwb: boolean;
  #txTail = 0;                    // descriptors posted to TX
  #txClean = 0;                   // TX descriptors whose buffers went back to the pool
  #rxNext = 0;                    // RX descriptors consumed
  #rxTail = 0;                    // RX descriptors posted
  #rxRung = 0;                    // RX_PIDX as last rung
  #closed = false;

  private constructor(dev: Device, regs: Mapping, pool: Mempool, ownsPool: boolean, ringMem: DmaBuffer, size: number,
    rxFreeThresh: number, writeBack: 'dd' | 'hwb', vectors: MsiVector[]) {
    this.device = dev;
    this.regs = regs;
    this.pool = pool;
    this.#ownsPool = ownsPool;
    this.#ringMem = ringMem;
    this.ringSize = size;
    this.rxFreeThresh = rxFreeThresh;
    this.writeBack = writeBack;
    this.tx = new DescRing(ringMem, 0, size);
    this.rx = new DescRing(ringMem, size * DESC_BYTES, size);
    this.#hwb = new Int32Array(ringMem.bytes.buffer, ringMem.bytes.byteOffset + 2 * size * DESC_BYTES, 32);
    this.#r = new Int32Array(regs.buffer!);
    this.#txd = this.tx.words;
    this.#rxd = this.rx.words;
    this.#txBell = new Doorbell(regs, R.TXQ + R.Q.PIDX);
    this.#rxBell = new Doorbell(regs, R.RXQ + R.Q.PIDX);
    this.#stack = pool.stack;
    this.#mask = size - 1;
    this.#lo = pool.iovaLo | 0;
    this.#hi = pool.iovaHi | 0;
    this.#shift = pool.bufShift;
    this.#bufSize = pool.bufSize;
    this.#useHwb = writeBack === 'hwb';
    this.rxVector = vectors[0] ?? null;
    this.miscVector = vectors[1] ?? null;
  }

  /**
   * Resets the device, sets up the rings and the pool, posts every RX buffer and enables the
   * device. Bus mastering is turned on when the kernel lets userspace control it.
   * @throws ERR_VFIO_NOT_LNIC when region 0 does not hold an lnic; ERR_VFIO_POLL_TIMEOUT when the
   *   device does not come out of reset; the errors of mapping, DMA allocation and MSI
   */
  static open(dev: Device, options: LnicPortOptions = {}): LnicPort {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    checkKeys(options, 'LnicPort options', ['ringSize', 'pool', 'rxFreeThresh', 'mode', 'writeBack', 'dropWhenFull',
      'interrupts', 'itr', 'generator', 'tick', 'timeout']);
    const size = options.ringSize ?? 512;
    if (!Number.isInteger(size) || size < R.RING_MIN || size > R.RING_MAX || (size & (size - 1)) !== 0) {
      throw outOfRange('options.ringSize', `a power of two from ${R.RING_MIN} to ${R.RING_MAX}`, size);
    }
    const thresh = options.rxFreeThresh ?? 32;
    if (!Number.isInteger(thresh) || thresh < 1 || thresh > size) throw outOfRange('options.rxFreeThresh', `an integer from 1 to ${size}`, thresh);
    const mode = options.mode ?? 'loopback';
    if (!(mode in MODES)) throw invalidArgValue('options.mode', mode, "must be 'loopback', 'generator' or 'sink'");
    const writeBack = options.writeBack ?? (process.arch === 'x64' ? 'dd' : 'hwb');
    if (writeBack !== 'dd' && writeBack !== 'hwb') throw invalidArgValue('options.writeBack', writeBack, "must be 'dd' or 'hwb'");
    const tick = options.tick;
    if (tick !== undefined && typeof tick !== 'function') throw invalidArgType('options.tick', 'a function', tick);
    const timeout = options.timeout ?? 1000;

    const regs = dev.regions[0]!.map();
    const id = regs.read32(R.REG.ID);
    if (id !== R.ID_VALUE) {
      regs.unmap();
      throw Object.assign(new Error(`${dev.name} is not an lnic: its ID register reads 0x${id.toString(16)}, not ` +
        '0x4c4e4943 ("LNIC")'), { code: 'ERR_VFIO_NOT_LNIC' });
    }
    const cleanup: Array<() => void> = [() => regs.unmap()];
    try {
      // Reset, and wait for CTRL.RESET to clear and READY to come back.
      regs.write32(R.REG.CTRL, R.CTRL_RESET);
      waitFor(regs, R.REG.CTRL, R.CTRL_RESET, 0, 'CTRL', tick, timeout);
      waitFor(regs, R.REG.STATUS, R.STATUS_READY, R.STATUS_READY, 'STATUS', tick, timeout);
      if (dev.busMaster.supported) dev.busMaster.set(true);

      const pool = options.pool instanceof Mempool ? options.pool : Mempool.create(dev, options.pool ?? {});
      if (!(options.pool instanceof Mempool)) cleanup.push(() => pool.close());
      if (pool.count < size + 64) throw outOfRange('pool.count', `at least the ring size + 64 (${size + 64})`, pool.count);
      // One DMA buffer: TX ring, RX ring, then the two write-back slots on separate cache lines.
      const ringMem = dev.dma.alloc(2 * size * DESC_BYTES + 128);
      cleanup.push(() => ringMem.free());

      let vectors: MsiVector[] = [];
      if (options.interrupts) {
        vectors = dev.msi.enable(Math.min(2, dev.msi.count));
        cleanup.push(() => dev.msi.disable());
      }
      const port = new LnicPort(dev, regs, pool, !(options.pool instanceof Mempool), ringMem, size, thresh, writeBack, vectors);
      port.#configure(mode, options);
      return port;
    } catch (e) {
      for (const c of cleanup.reverse()) {
        try { c(); } catch { /* keep the first error */ }
      }
      throw e;
    }
  }

  #configure(mode: keyof typeof MODES, options: LnicPortOptions): void {
    const regs = this.regs;
    const iova = this.#ringMem.iova;
    const lo = (x: bigint) => Number(x & 0xffffffffn);
    const hi = (x: bigint) => Number(x >> 32n);
    const hwb = iova + BigInt(2 * this.ringSize * DESC_BYTES);
    const qctrl = R.QCTRL_ENABLE | (this.#useHwb ? R.QCTRL_HWB : 0);
    for (const [block, ring, slot] of [[R.TXQ, this.tx, hwb], [R.RXQ, this.rx, hwb + 64n]] as const) {
      regs.write32(block + R.Q.BASE_LO, lo(ring.iova));
      regs.write32(block + R.Q.BASE_HI, hi(ring.iova));
      regs.write32(block + R.Q.SIZE, this.ringSize);
      regs.write32(block + R.Q.HWB_LO, lo(slot));
      regs.write32(block + R.Q.HWB_HI, hi(slot));
    }
    regs.write32(R.TXQ + R.Q.CTRL, qctrl);
    regs.write32(R.RXQ + R.Q.CTRL, qctrl | (options.dropWhenFull ? R.QCTRL_DROP_EN : 0));
    const itr = options.itr ?? {};
    checkKeys(itr, 'itr options', ['threshold', 'delayUs']);
    const threshold = itr.threshold ?? 1;
    const delay = itr.delayUs ?? 0;
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > 0xffff) throw outOfRange('itr.threshold', 'an integer from 0 to 65535', threshold);
    if (!Number.isInteger(delay) || delay < 0 || delay > 0xffff) throw outOfRange('itr.delayUs', 'an integer from 0 to 65535', delay);
    regs.write32(R.REG.ITR, (threshold | delay << 16) >>> 0);
    regs.write32(R.REG.INT_VEC, 0x100);
    regs.write32(R.REG.INT_ENABLE, 0);
    if (mode === 'generator') {
      const g = options.generator ?? {};
      checkKeys(g, 'generator options', ['pps', 'frameLength', 'flows']);
      regs.write32(R.REG.GEN_PPS, g.pps ?? 0);
      regs.write32(R.REG.GEN_LEN, g.frameLength ?? 60);
      regs.write32(R.REG.GEN_FLOWS, g.flows ?? 1);
    }
    // Every RX slot gets a buffer before the device is enabled.
    for (let i = 0; i < this.ringSize; i++) this.#postRx(i);
    this.#rxTail = this.ringSize;
    this.#rxRung = this.ringSize;
    this.#rxBell.ring(this.ringSize);
    regs.write32(R.REG.CTRL, R.CTRL_ENABLE | MODES[mode] << R.CTRL_MODE_SHIFT);
  }

  #postRx(count: number): void {
    const b = this.#stack[--this.pool.top]!;
    const w = (count & this.#mask) << 2;
    const d = this.#rxd;
    d[w] = this.#lo + (b << this.#shift) | 0;
    d[w + 1] = this.#hi;
    d[w + 2] = this.#bufSize;
    d[w + 3] = b;
  }

  /**
   * Receives up to `max` frames: their buffer ids into `ids`, their lengths into `lens`. Each
   * frame's slot is refilled from the pool at once (a frame is taken only when a buffer can replace
   * it); the RX doorbell rings once `rxFreeThresh` refills have gathered. The buffers now belong
   * to the caller: send them ({@link txBurst}) or free them (`pool.free`).
   * @returns the number of frames received
   */
  rxBurst(ids: Uint32Array, lens: Uint32Array, max: number): number {
    const d = this.#rxd;
    const stack = this.#stack;
    const pool = this.pool;
    const mask = this.#mask;
    const lo = this.#lo;
    const hi = this.#hi;
    const shift = this.#shift;
    const bufSize = this.#bufSize;
    let top = pool.top;
    let next = this.#rxNext;
    let n = 0;
    if (max > top) max = top;
    if (this.#useHwb) {
      // One acquire load: every descriptor below the written-back CIDX is complete.
      const avail = (Atomics.load(this.#hwb, 16) - next) | 0;
      if (max > avail) max = avail;
      for (; n < max; n++) {
        const w = (next & mask) << 2;
        ids[n] = d[w + 3]! & 0xffff;
        lens[n] = d[w + 2]!;
        const b = stack[--top]!;
        d[w] = lo + (b << shift) | 0;
        d[w + 1] = hi;
        d[w + 2] = bufSize;
        d[w + 3] = b;
        next = next + 1 | 0;
      }
    } else {
      for (; n < max; n++) {
        const w = (next & mask) << 2;
        const word = d[w + 3]!;
        if ((word & DD) === 0) break;
        ids[n] = word & 0xffff;
        lens[n] = d[w + 2]!;
        const b = stack[--top]!;
        d[w] = lo + (b << shift) | 0;
        d[w + 1] = hi;
        d[w + 2] = bufSize;
        d[w + 3] = b;
        next = next + 1 | 0;
      }
    }
    if (n === 0) return 0;
    pool.top = top;
    this.#rxNext = next;
    const tail = this.#rxTail + n | 0;
    this.#rxTail = tail;
    if ((tail - this.#rxRung | 0) >= this.rxFreeThresh) {
      this.#rxRung = tail;
      this.#rxBell.ring(tail);
    }
    return n;
  }

  /**
   * Queues `n` frames for transmission: buffer `ids[i]` with length `lens[i]`, then rings the TX
   * doorbell once. Frees completed TX buffers first when the ring or the pool runs low. The
   * buffers of frames that were queued now belong to the port.
   * @returns how many were queued (fewer than `n` when the ring is full: the rest stay the caller's)
   */
  txBurst(ids: Uint32Array, lens: Uint32Array, n: number): number {
    let tail = this.#txTail;
    let free = this.ringSize - (tail - this.#txClean | 0);
    if (free < n + TX_CHUNK || this.pool.top < 2 * TX_CHUNK) {
      this.txClean();
      free = this.ringSize - (tail - this.#txClean | 0);
    }
    if (n > free) n = free;
    if (n <= 0) return 0;
    const d = this.#txd;
    const mask = this.#mask;
    const lo = this.#lo;
    const hi = this.#hi;
    const shift = this.#shift;
    for (let i = 0; i < n; i++) {
      const w = (tail & mask) << 2;
      const b = ids[i]!;
      d[w] = lo + (b << shift) | 0;
      d[w + 1] = hi;
      d[w + 2] = lens[i]!;
      d[w + 3] = (tail & (TX_CHUNK - 1)) === TX_CHUNK - 1 ? b | RS : b;
      tail = tail + 1 | 0;
    }
    this.#txTail = tail;
    this.#txBell.ring(tail);
    return n;
  }

  /**
   * Returns the buffers of completed TX descriptors to the pool, in chunks of 32: a chunk is done
   * when its last descriptor (the one with RS) reads DD, or when the write-back CIDX covers it.
   * @returns the number of buffers freed
   */
  txClean(): number {
    const d = this.#txd;
    const stack = this.#stack;
    const mask = this.#mask;
    let clean = this.#txClean;
    let top = this.pool.top;
    const done = this.#useHwb ? Atomics.load(this.#hwb, 0) : 0;
    let freed = 0;
    while ((this.#txTail - clean | 0) >= TX_CHUNK) {
      if (this.#useHwb) {
        if ((done - clean | 0) < TX_CHUNK) break;
      } else if ((d[((clean + TX_CHUNK - 1) & mask) << 2 | 3]! & DD) === 0) {
        break;
      }
      for (let i = 0; i < TX_CHUNK; i++) stack[top++] = d[((clean + i) & mask) << 2 | 3]! & 0xffff;
      clean = clean + TX_CHUNK | 0;
      freed += TX_CHUNK;
    }
    this.pool.top = top;
    this.#txClean = clean;
    return freed;
  }

  /** Frames received and not yet taken by {@link rxBurst} (reads one DD flag or the write-back word). */
  rxPending(): boolean {
    if (this.#useHwb) return (Atomics.load(this.#hwb, 16) - this.#rxNext | 0) > 0;
    return (this.#rxd[(this.#rxNext & this.#mask) << 2 | 3]! & DD) !== 0;
  }

  /**
   * Leaves polling for interrupts, without losing a wakeup: acknowledges the RX cause, unmasks
   * RX interrupts, then looks at the ring once more. Returns true when the ring was empty (wait for
   * {@link rxVector}'s next interrupt), false when frames arrived meanwhile (interrupts are masked
   * again: keep polling). The device keeps the RX cause set while a received frame waits, so an
   * acknowledge that reaches it late cannot erase a frame's interrupt. The interrupt is MSI vector
   * 0: {@link rxVector} when the port was opened with `interrupts`, or an eventfd of your own.
   */
  armRx(): boolean {
    const r = this.#r;
    Atomics.store(r, R.REG.INT_CLEAR >>> 2, R.CAUSE_RX | R.CAUSE_TX);
    Atomics.store(r, R.REG.INT_ENABLE >>> 2, R.CAUSE_RX | R.CAUSE_ERR | R.CAUSE_LINK);
    if (!this.rxPending()) return true;
    Atomics.store(r, R.REG.INT_ENABLE >>> 2, 0);
    return false;
  }

  /** Back to polling: masks the port's interrupts. */
  disarmRx(): void {
    Atomics.store(this.#r, R.REG.INT_ENABLE >>> 2, 0);
  }

  /** STATUS, ERR and the first faulting IOVA. */
  status(): { status: number; err: number; errIova: bigint; linkUp: boolean; halted: boolean } {
    const status = this.regs.read32(R.REG.STATUS);
    return {
      status,
      err: this.regs.read32(R.REG.ERR),
      errIova: BigInt(this.regs.read32(R.REG.ERR_IOVA_LO)) | BigInt(this.regs.read32(R.REG.ERR_IOVA_HI)) << 32n,
      linkUp: (status & R.STATUS_LINK_UP) !== 0,
      halted: (status & R.STATUS_HALTED) !== 0,
    };
  }

  /** The device's counters. */
  stats(): LnicStats {
    const s = (off: number) => Number(this.regs.read64(off));
    return {
      rxPackets: s(R.STAT.RX_PKTS), rxBytes: s(R.STAT.RX_BYTES), txPackets: s(R.STAT.TX_PKTS), txBytes: s(R.STAT.TX_BYTES),
      rxDropNoDesc: s(R.STAT.RX_DROP_NODESC), rxDropErr: s(R.STAT.RX_DROP_ERR), txDropLink: s(R.STAT.TX_DROP_LINK),
    };
  }

  /** TX descriptors queued and not yet cleaned. */
  get txInFlight(): number {
    return this.#txTail - this.#txClean | 0;
  }

  /**
   * The driver's ring positions, for handing the port to another driver of the same algorithm
   * (the benchmark's C driver) and back: [txTail, txClean, rxNext, rxTail, rxRung, pool.top,
   * ringSize, rxFreeThresh]. The pool's free stack is `pool.stack`.
   */
  exportState(out: Uint32Array): void {
    out[0] = this.#txTail; out[1] = this.#txClean; out[2] = this.#rxNext; out[3] = this.#rxTail;
    out[4] = this.#rxRung; out[5] = this.pool.top; out[6] = this.ringSize; out[7] = this.rxFreeThresh;
  }

  /** Takes back positions written by another driver (see {@link exportState}). */
  importState(state: Uint32Array): void {
    this.#txTail = state[0]! | 0; this.#txClean = state[1]! | 0; this.#rxNext = state[2]! | 0;
    this.#rxTail = state[3]! | 0; this.#rxRung = state[4]! | 0; this.pool.top = state[5]!;
  }

  /** The ring memory (rings and write-back slots), for a native driver of the same algorithm. */
  get ringMemory(): DmaBuffer {
    return this.#ringMem;
  }

  /**
   * Stops the device (reset), disables MSI if the port enabled it, and frees the ring memory and
   * the pool it made. The Device stays open. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.device.closed) {
      try {
        this.regs.write32(R.REG.CTRL, R.CTRL_RESET);
      } catch { /* the mapping went with the device */ }
      if (this.rxVector !== null && this.device.msi.enabled) this.device.msi.disable();
      this.#ringMem.free();
      if (this.#ownsPool) this.pool.close();
      this.regs.unmap();
    }
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

// Waits until (read32(offset) & mask) === value: by the caller's tick (a stepped mock) or by
// polling with a timeout.
function waitFor(regs: Mapping, offset: number, mask: number, value: number, name: string, tick: (() => void) | undefined,
  timeout: number): void {
  if (tick === undefined) {
    regs.poll32Sync(offset, { mask, value, timeout, interval: 1, name });
    return;
  }
  for (let i = 0; i < 1_000_000; i++) {
    if (((regs.read32(offset) & mask) >>> 0) === value) return;
    tick();
  }
  regs.poll32Sync(offset, { mask, value, timeout: 0, name });  // throws the timeout error
}
