/**
 * `vfio-cdx/pmd`: poll-mode building blocks for packet processing in JavaScript, in the shape of
 * DPDK (docs/pmd.md): a DMA-backed {@link Mempool} of fixed-size buffers named by id, 16-byte
 * {@link DescRing}s, a {@link Doorbell} that makes one ordered store per burst, and
 * {@link LnicPort}, a complete poll-mode driver for the mock kernel's simulated NIC built from them.
 *
 * The hot path allocates nothing and uses no BigInt: that is what made ixy.js, the best earlier
 * attempt, five times slower than C (docs/pmd.md).
 */
export { Mempool, type MempoolOptions } from './mempool';
export { DescRing, DESC_BYTES } from './ring';
export { Doorbell } from './doorbell';
export { LnicPort, LNIC_STATE_WORDS, type LnicPortOptions, type LnicStats } from './lnic';
export { macSwap, ipv4DecTtl, ipv4HeaderChecksum } from './packet';
export * as lnic from './lnic-regs';
