/**
 * `watch <dev> [vectors]`: prints MSI interrupts as they arrive, until stopped (Ctrl-C).
 *
 * vfio-cdx attaches the eventfds of vectors 0..N-1 in one SET_IRQS, so watching vector 3 enables
 * vectors 0-3; only the vectors asked for are printed. Interrupts that arrive between two turns of
 * the event loop coalesce into one line whose count is their number. On stop, MSI is disabled and
 * the device closed before the summary line says so.
 * @internal
 */
import { UsageError } from './args';
import type { Context } from './commands';
import { Failure } from './output';

/** '0', '0,2', '1-3', '0,2-3' → sorted vector numbers, each below `count`. @throws UsageError */
export function parseVectors(text: string, count: number, device: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new UsageError(`vectors '${text}' is not a list such as 0, 0,2 or 1-3`, 'watch');
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new UsageError(`vector range '${part}' is backwards`, 'watch');
    if (to >= count) {
      throw new UsageError(`${device} has ${count} MSI vector${count === 1 ? '' : 's'} (0-${count - 1}); ` +
        `there is no vector ${to}`, 'watch');
    }
    for (let v = from; v <= to; v++) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

function ranges(vs: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < vs.length; i++) {
    let j = i;
    while (j + 1 < vs.length && vs[j + 1] === vs[j]! + 1) j++;
    parts.push(j === i ? `${vs[i]}` : `${vs[i]}-${vs[j]}`);
    i = j;
  }
  return parts.join(',');
}

/** Watches until `stop` aborts. */
export async function watch(ctx: Context, name: string, vectorsArg: string | undefined, stop: AbortSignal): Promise<void> {
  using dev = ctx.bus.open(name);
  const count = dev.msi.count;
  if (count === 0) throw new Failure('has no MSI vectors (VFIO_DEVICE_GET_IRQ_INFO reports none)', 'ERR_VFIO_NO_MSI');
  const wanted = vectorsArg === undefined ? Array.from({ length: count }, (_, i) => i) : parseVectors(vectorsArg, count, name);
  const vectors = dev.msi.enable(wanted[wanted.length - 1]! + 1);
  const totals = new Map<number, number>(wanted.map((v) => [v, 0]));
  for (const v of wanted) {
    vectors[v]!.on('interrupt', (n: number) => {
      const total = totals.get(v)! + n;
      totals.set(v, total);
      const time = new Date().toISOString();
      if (ctx.json) {
        ctx.io.out(JSON.stringify({ time, device: name, vector: v, count: n, total }));
      } else {
        ctx.io.out(`${time}  ${name}  vector ${v}: ${n} interrupt${n === 1 ? '' : 's'} (${total} so far)`);
      }
    });
  }
  ctx.io.err(`watching ${name} MSI vector${wanted.length === 1 ? '' : 's'} ${ranges(wanted)} (of ${count}); ` +
    'Ctrl-C to stop');
  if (!stop.aborted) await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
  dev.msi.disable();
  dev.close();
  const sum = [...totals.values()].reduce((a, b) => a + b, 0);
  ctx.io.err(`stopped after ${sum} interrupt${sum === 1 ? '' : 's'}: MSI disabled, ${name} closed`);
}
