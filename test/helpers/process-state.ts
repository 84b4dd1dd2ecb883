/** Snapshots of what a process holds, for leak checks. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Open fds with their targets (fd number → link), excluding the one readdir itself uses. */
export function openFds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // the directory fd of readdirSync, already closed
    }
  }
  return out;
}

/**
 * Mappings of vfio/mock objects and memfds (the only ones this library makes). Matched by what
 * such a mapping is named (a memfd, a vfio anon inode, a device node), never by any path that
 * merely contains "vfio": a Node binary cached under /var/cache/vfio-cdx-node remaps its text
 * at run time.
 */
export function deviceMappings(): string[] {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => /memfd:|anon_inode:\[?vfio|\s\/dev\//.test(l));
}

export function fdDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const d: string[] = [];
  for (const [fd, t] of after) if (before.get(fd) !== t) d.push(`${fd} -> ${t}`);
  return d;
}
