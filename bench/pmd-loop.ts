/**
 * The JavaScript forwarding loop of `npm run bench:pmd`, the same algorithm as the C reference
 * driver's Forward() (bench/native/pmd_ref.cc): receive a burst, work on each frame, send the
 * burst, free what the TX ring could not take, and (stepped) run the model once.
 */
import { ipv4DecTtl, macSwap, type LnicPort } from '../lib/pmd';

/** What each frame gets: 0 one byte touched; 1 MAC swap; 2 MAC swap and IPv4 TTL/checksum. */
export type Work = 0 | 1 | 2;

export function forward(port: LnicPort, ids: Uint32Array, lens: Uint32Array, burst: number, work: Work,
  iterations: number, step: ((budget?: number, advanceNs?: number) => number) | null, stepBudget: number): number {
  const bytes = port.pool.bytes;
  const shift = port.pool.bufShift;
  const pool = port.pool;
  let packets = 0;
  for (let it = 0; it < iterations; it++) {
    const n = port.rxBurst(ids, lens, burst);
    for (let i = 0; i < n; i++) {
      const off = ids[i]! << shift;
      if (work === 0) {
        bytes[off] ^= 1;
      } else {
        macSwap(bytes, off);
        if (work === 2) ipv4DecTtl(bytes, off);
      }
    }
    const sent = port.txBurst(ids, lens, n);
    for (let i = sent; i < n; i++) pool.free(ids[i]!);
    packets += n;
    if (step !== null) step(stepBudget, 0);
  }
  return packets;
}

/** Queues `count` frames of `len` bytes from the pool (the loopback workload's frames in flight). */
export function inject(port: LnicPort, count: number, len: number): void {
  if (count > port.ringSize - 32) throw new RangeError(`at most ${port.ringSize - 32} frames fit in flight`);
  const ids = new Uint32Array(count);
  const lens = new Uint32Array(count).fill(len);
  for (let i = 0; i < count; i++) {
    const id = port.pool.alloc();
    ids[i] = id;
    const off = id * port.pool.bufSize;
    const b = port.pool.bytes;
    b.fill(0, off, off + len);
    // An IPv4/UDP frame, so that every workload has headers to work on.
    b.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00, 0x45, 0, 0, len - 14, 0, 0, 0, 0, 64, 17], off);
    new DataView(b.buffer, b.byteOffset + off).setUint32(42, i, true);
  }
  let sent = 0;
  while (sent < count) sent += port.txBurst(ids.subarray(sent), lens.subarray(sent), count - sent);
}
