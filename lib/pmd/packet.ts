/**
 * Per-packet header edits for forwarders, on a pool's bytes by offset: no objects, no copies.
 * Both work on any Ethernet II frame at `off` in `bytes`.
 */

/** Swaps the destination and source MAC addresses (bytes 0..5 and 6..11). */
export function macSwap(bytes: Uint8Array, off: number): void {
  for (let i = 0; i < 6; i++) {
    const t = bytes[off + i]!;
    bytes[off + i] = bytes[off + 6 + i]!;
    bytes[off + 6 + i] = t;
  }
}

/**
 * IPv4 over Ethernet II (EtherType 0x0800, no VLAN tag): decrements the TTL and patches the header
 * checksum incrementally (RFC 1624: HC' = ~(~HC + ~m + m'), where the 16-bit word m holds TTL and
 * protocol). Returns false, changing nothing, when the frame is not IPv4 or the TTL is already 0
 * or 1 (a router drops those).
 */
export function ipv4DecTtl(bytes: Uint8Array, off: number): boolean {
  if (bytes[off + 12] !== 0x08 || bytes[off + 13] !== 0x00 || (bytes[off + 14]! >> 4) !== 4) return false;
  const ttl = bytes[off + 22]!;
  if (ttl <= 1) return false;
  const m = ttl << 8 | bytes[off + 23]!;
  const m2 = m - 0x100;
  let sum = (~(bytes[off + 24]! << 8 | bytes[off + 25]!) & 0xffff) + (~m & 0xffff) + m2;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const hc = ~sum & 0xffff;
  bytes[off + 22] = ttl - 1;
  bytes[off + 24] = hc >>> 8;
  bytes[off + 25] = hc & 0xff;
  return true;
}

/** The IPv4 header checksum of the 20-byte header at `off + 14`, computed from scratch (for tests). */
export function ipv4HeaderChecksum(bytes: Uint8Array, off: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) if (i !== 10) sum += bytes[off + 14 + i]! << 8 | bytes[off + 15 + i]!;
  while (sum >>> 16) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
