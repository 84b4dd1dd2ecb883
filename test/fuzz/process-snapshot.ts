/**
 * What the process holds, by kind, for the leak check after every sequence:
 * descriptors (/proc/self/fd) and the mappings this library and its mock make
 * (/proc/self/maps: region memfds, VFIO nodes, shared anonymous DMA memory,
 * hugetlb memory).
 */
import { readFileSync } from 'node:fs';
import { openFds } from '../helpers/process-state';

export interface Snapshot {
  /** fd number → link target */
  fds: Map<string, string>;
  /** "perms size path" of each relevant mapping → how many */
  maps: Map<string, number>;
}

/** ", flags 02000002" (octal open flags; 02000000 is O_CLOEXEC), or "" when gone. */
function fdFlags(fd: string): string {
  try {
    const m = /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m ? `, flags ${m[1]}` : '';
  } catch {
    return '';
  }
}

/** The kind of an fd target, for the report. */
export function fdKind(target: string): string {
  if (target === 'anon_inode:[eventfd]') return 'eventfd';
  if (target.startsWith('/memfd:')) return 'memfd';
  if (target.startsWith('/dev/')) return 'dev';
  if (target.startsWith('anon_inode:')) return target.slice('anon_inode:'.length);
  const m = /^(\w+):/.exec(target);
  return m ? m[1]! : 'file';
}

// Mappings that only this library or its mock make: region memfds, VFIO device nodes,
// MAP_SHARED|MAP_ANONYMOUS memory (shown as /dev/zero) and hugetlb memory.
const RELEVANT = /memfd:|\/dev\/vfio|\/dev\/zero|anon_hugepage|\/SYSV/;

export function snapshot(): Snapshot {
  const maps = new Map<string, number>();
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    if (!RELEVANT.test(line)) continue;
    const f = line.split(/\s+/);
    const [lo, hi] = f[0]!.split('-').map((x) => BigInt(`0x${x}`));
    const key = `${f[1]} ${(hi! - lo!).toString()} ${f.slice(5).join(' ')}`;
    maps.set(key, (maps.get(key) ?? 0) + 1);
  }
  return { fds: openFds(), maps };
}

interface Change {
  /** 'memfd fd', 'eventfd fd', 'memfd mapping', 'foreign pipe fd closed'... */
  kind: string;
  text: string;
}

function mapKind(key: string): string {
  return /memfd:/.test(key) ? 'memfd' : /\/dev\/zero/.test(key) ? 'anonymous shared (DMA)' : /anon_hugepage/.test(key) ? 'hugetlb' : 'vfio';
}

/**
 * What the sequence left behind: descriptors and mappings that are in `after`
 * but were not in `before`; and what it took away that it did not own — fds and
 * mappings of the process's `origin` (Node's own, the fuzzer's journal) that are
 * gone. Things a previous sequence leaked and that go away now are neither.
 */
function changes(before: Snapshot, after: Snapshot, origin: Snapshot): Change[] {
  const out: Change[] = [];
  for (const [fd, t] of after.fds) {
    if (before.fds.get(fd) !== t) out.push({ kind: `${fdKind(t)} fd`, text: `fd ${fd} left open (${t}${fdFlags(fd)})` });
  }
  for (const [fd, t] of origin.fds) {
    if (before.fds.get(fd) === t && after.fds.get(fd) !== t) {
      out.push({ kind: `foreign ${fdKind(t)} fd closed`, text: `fd ${fd} (${t}) was closed by someone who did not own it` });
    }
  }
  for (const [k, n] of after.maps) {
    const was = before.maps.get(k) ?? 0;
    if (n > was) out.push({ kind: `${mapKind(k)} mapping`, text: `${n - was} mapping(s) left: ${k}` });
  }
  for (const [k, n] of origin.maps) {
    const lost = Math.min(n, before.maps.get(k) ?? 0) - (after.maps.get(k) ?? 0);
    if (lost > 0) out.push({ kind: 'foreign mapping unmapped', text: `${lost} mapping(s) gone that the sequence did not make: ${k}` });
  }
  return out;
}

/** What differs, as readable lines (empty when the process is back where it was). */
export function diff(before: Snapshot, after: Snapshot, origin: Snapshot): string[] {
  return changes(before, after, origin).map((c) => c.text);
}

/** The kinds of what differs, for grouping (no fd numbers, addresses or counts). */
export function diffKinds(before: Snapshot, after: Snapshot, origin: Snapshot): string {
  return [...new Set(changes(before, after, origin).map((c) => c.kind))].sort().join(', ');
}
