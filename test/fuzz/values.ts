/**
 * Argument values for the fuzzer — valid ones come from the ops themselves;
 * these are the wrong ones: wrong types, edge numbers, hostile objects — and
 * how every value is written in the call journal (as JavaScript source).
 */
import type { Rng } from './rng';

/** Thrown by the fuzzer's hostile objects; seeing it again is the library passing the caller's exception through. */
export const SENTINEL: { readonly fuzzSentinel: true } = Object.freeze({ fuzzSentinel: true as const });

const names = new WeakMap<object, string>();

/** Gives an object a name in the journal (`d3`, `m7`...). */
export function nameOf<T extends object>(value: T, name: string): T {
  names.set(value, name);
  return value;
}

/** A hostile object: any property read (or trap) throws {@link SENTINEL}. */
function hostile(): object {
  const h = new Proxy({}, {
    get() { throw SENTINEL; },
    has() { throw SENTINEL; },
    ownKeys() { throw SENTINEL; },
    getOwnPropertyDescriptor() { throw SENTINEL; },
    getPrototypeOf() { throw SENTINEL; },
  });
  return nameOf(h, 'hostileProxy');
}

function throwingValueOf(): object {
  return nameOf({ valueOf() { throw SENTINEL; }, toString() { throw SENTINEL; } }, 'throwingValueOf');
}

/** Edge-case numbers (valid type, wrong value). */
export const EDGE_NUMBERS: readonly number[] = [
  -1, -0, 0.5, 1.5, 3, 7, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 32 - 5, 2 ** 32 + 4,
  2 ** 53, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 1e300, -1e300, Number.MIN_VALUE, Number.MAX_VALUE, 4095, 4097,
  65536, 0x7fffffff, -4096,
];

/** Values of the wrong type for almost any parameter. */
export function wrongType(r: Rng): unknown {
  switch (r.int(26)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return 0n;
    case 3: return 4n;
    case 4: return -1n;
    case 5: return 2n ** 64n;
    case 6: return Symbol('fuzz');
    case 7: return '';
    case 8: return '4';
    case 9: return 'cdx-00:00';
    case 10: return true;
    case 11: return false;
    case 12: return {};
    case 13: return [];
    case 14: return [4];
    case 15: return Object.create(null);
    case 16: return nameOf(() => 0, '(() => 0)');
    case 17: return new Uint8Array(8);
    case 18: return new ArrayBuffer(8);
    case 19: return hostile();
    case 20: return throwingValueOf();
    case 21: return nameOf({ valueOf: () => 4 }, '{ valueOf: () => 4 }');
    case 22: return 'x'.repeat(5000);
    case 23: return new Date(0);
    case 24: return nameOf(new Proxy({}, {}), 'new Proxy({}, {})');
    default: return r.pick(EDGE_NUMBERS);
  }
}

/** Any bad value: a wrong type or an edge number. */
export function bad(r: Rng): unknown {
  return r.chance(0.4) ? r.pick(EDGE_NUMBERS) : wrongType(r);
}

/** Writes a value as JavaScript source, naming the fuzzer's objects. */
export function show(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'undefined': return 'undefined';
    case 'number':
      if (Object.is(v, -0)) return '-0';
      if (Number.isInteger(v) && Math.abs(v) >= 4096 && Math.abs(v) <= 2 ** 53) {
        const p = Math.log2(Math.abs(v));
        if (Number.isInteger(p)) return `${v < 0 ? '-' : ''}2 ** ${p}`;
        return `${v < 0 ? '-' : ''}0x${Math.abs(v).toString(16)}`;
      }
      return String(v);
    case 'bigint': return v >= 4096n ? `0x${v.toString(16)}n` : `${v}n`;
    case 'string': return v.length > 40 ? `'${v.slice(0, 1)}'.repeat(${v.length})` : JSON.stringify(v);
    case 'boolean': return String(v);
    case 'symbol': return `Symbol(${JSON.stringify(v.description ?? '')})`;
    case 'function': return names.get(v) ?? `function ${v.name || '(anonymous)'}`;
    default: break;
  }
  if (v === null) return 'null';
  const o = v as object;
  const name = names.get(o);
  if (name !== undefined) return name;
  if (depth > 5) return '{…}';
  if (Array.isArray(o)) return `[${o.map((x) => show(x, depth + 1)).join(', ')}]`;
  if (ArrayBuffer.isView(o)) return `new ${o.constructor.name}(${(o as Uint8Array).length})`;
  if (o instanceof ArrayBuffer) return `new ArrayBuffer(${o.byteLength})`;
  if (o instanceof Date) return 'new Date(0)';
  if (Object.getPrototypeOf(o) === null) return 'Object.create(null)';
  if (Object.getPrototypeOf(o) !== Object.prototype) return `/* ${o.constructor?.name ?? 'object'} */ {}`;
  const entries = Object.entries(o).map(([k, x]) => `${/^[a-z_$][\w$]*$/i.test(k) ? k : JSON.stringify(k)}: ${show(x, depth + 1)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

/** Arguments as a call's argument list. */
export function args(...values: unknown[]): string {
  return values.map((v) => show(v)).join(', ');
}
