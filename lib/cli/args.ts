/**
 * Command-line parsing for `vfio-cdx`: the command table, options, and usage errors.
 *
 * Conventions (those of lspci, dpdk-devbind, devmem2 and Node's own CLIs): options may come
 * anywhere, `--opt value` and `--opt=value` are the same, `--` ends the options, and nothing is
 * silently ignored: an unknown command or option, an option a command does not take, a missing or
 * extra argument and a malformed number are each a {@link UsageError} (exit status 2).
 * @internal
 */
import { isDeviceName } from '../bus';
import { MOCK_PROFILES, type MockProfile } from '../mock';

/** A usage error: the command line itself is wrong. Exit status 2. */
export class UsageError extends Error {
  /** The command whose help to point at, if known. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** The mock kernel profiles `--mock` accepts. */
export const PROFILES: readonly MockProfile[] = MOCK_PROFILES;

type OptionName = 'help' | 'version' | 'json' | 'mock' | 'verbose' | 'width' | 'dma';

interface OptionSpec {
  long: string;
  short?: string;
  /** 'value': takes one; 'profile': takes a profile name if one follows; undefined: a flag. */
  takes?: 'value' | 'profile';
}

const OPTIONS: Record<OptionName, OptionSpec> = {
  help: { long: 'help', short: 'h' },
  version: { long: 'version' },
  json: { long: 'json' },
  mock: { long: 'mock', takes: 'profile' },
  verbose: { long: 'verbose', short: 'v' },
  width: { long: 'width', takes: 'value' },
  dma: { long: 'dma', takes: 'value' },
};

/** One positional argument of a command: `name`, `name?` (optional). */
type ArgSpec = string;

export interface CommandSpec {
  args: ArgSpec[];
  /** Command-specific options (the global ones are help, version, json, mock). */
  options: OptionName[];
  /** Whether --json is supported. */
  json: boolean;
  /** Whether --mock means anything (every command that talks to a kernel). */
  kernel: boolean;
}

export const COMMANDS: Record<string, CommandSpec> = {
  list: { args: [], options: ['verbose'], json: true, kernel: true },
  info: { args: ['dev'], options: [], json: true, kernel: true },
  bind: { args: ['dev'], options: [], json: true, kernel: true },
  unbind: { args: ['dev'], options: [], json: true, kernel: true },
  reset: { args: ['dev'], options: [], json: true, kernel: true },
  dump: { args: ['dev', 'region', 'offset?', 'length?'], options: [], json: true, kernel: true },
  read: { args: ['dev', 'region', 'offset'], options: ['width'], json: true, kernel: true },
  write: { args: ['dev', 'region', 'offset', 'value'], options: ['width'], json: true, kernel: true },
  watch: { args: ['dev', 'vectors?'], options: [], json: true, kernel: true },
  doctor: { args: ['dev?'], options: ['dma'], json: true, kernel: true },
  demo: { args: [], options: [], json: false, kernel: true },
  help: { args: ['command?'], options: [], json: false, kernel: false },
};

/** A parsed command line. */
export type Parsed =
  | { kind: 'help'; command: string | undefined }
  | { kind: 'version' }
  | {
      kind: 'run';
      command: string;
      /** Positional arguments after the command, by name ('dev', 'region', ...). */
      args: Record<string, string | undefined>;
      json: boolean;
      /** The --mock profile, or undefined without --mock. */
      mock: MockProfile | undefined;
      verbose: boolean;
      width: string | undefined;
      dma: string | undefined;
    };

/** Parses argv (without node and the script). @throws UsageError */
export function parse(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const seen = new Map<OptionName, string | true>();
  let afterBareMock = -1;  // index in `positional` of the word right after a bare --mock
  let i = 0;
  const byLong = (name: string) => (Object.keys(OPTIONS) as OptionName[]).find((k) => OPTIONS[k].long === name);
  const byShort = (name: string) => (Object.keys(OPTIONS) as OptionName[]).find((k) => OPTIONS[k].short === name);
  while (i < argv.length) {
    const a = argv[i++]!;
    if (a === '--') {
      positional.push(...argv.slice(i));
      break;
    }
    let key: OptionName | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      key = byLong(name);
      if (key === undefined) throw new UsageError(`unknown option '--${name}'`);
    } else if (a.startsWith('-') && a.length > 1) {
      key = a.length === 2 ? byShort(a[1]!) : undefined;
      if (key === undefined) throw new UsageError(`unknown option '${a}'`);
    } else {
      positional.push(a);
      continue;
    }
    const spec = OPTIONS[key];
    let value: string | true = true;
    if (spec.takes === 'value') {
      if (inline !== undefined) value = inline;
      else if (i < argv.length) value = argv[i++]!;
      else throw new UsageError(`option '--${spec.long}' needs a value`);
      if (value === '') throw new UsageError(`option '--${spec.long}' needs a value`);
    } else if (spec.takes === 'profile') {
      if (inline !== undefined) value = inline;
      else if (i < argv.length && (PROFILES as readonly string[]).includes(argv[i]!)) value = argv[i++]!;
      else afterBareMock = positional.length;
      if (value !== true && !(PROFILES as readonly string[]).includes(value)) {
        throw new UsageError(`unknown mock profile '${value}' (profiles: ${PROFILES.join(', ')})`);
      }
    } else if (inline !== undefined) {
      throw new UsageError(`option '--${spec.long}' takes no value`);
    }
    if (seen.has(key) && seen.get(key) !== value) throw new UsageError(`option '--${spec.long}' given twice`);
    seen.set(key, value);
  }

  const commandName = positional[0];
  const command = commandName === undefined ? undefined : COMMANDS[commandName];
  if (commandName !== undefined && command === undefined) {
    throw new UsageError(`unknown command '${commandName}'` + (afterBareMock === 0
      ? ` (if it was meant as the --mock profile: ${PROFILES.join(', ')})` : ''));
  }
  if (seen.has('help')) return { kind: 'help', command: commandName === 'help' ? positional[1] ?? 'help' : commandName };
  if (seen.has('version')) return { kind: 'version' };
  if (commandName === undefined || command === undefined) throw new UsageError('no command given');
  if (commandName === 'help') {
    if (positional.length > 2) throw new UsageError(`unexpected argument '${positional[2]}'`, 'help');
    const topic = positional[1];
    if (topic !== undefined && COMMANDS[topic] === undefined) throw new UsageError(`unknown command '${topic}'`);
    for (const k of seen.keys()) throw new UsageError(`option '--${OPTIONS[k].long}' does not apply to 'help'`, 'help');
    return { kind: 'help', command: topic };
  }

  for (const k of seen.keys()) {
    const global = k === 'json' || k === 'mock';
    if (k === 'json' && !command.json) throw new UsageError(`'${commandName}' has no JSON output`, commandName);
    if (k === 'mock' && !command.kernel) throw new UsageError(`'${commandName}' does not use a kernel`, commandName);
    if (!global && !command.options.includes(k)) {
      throw new UsageError(`option '--${OPTIONS[k].long}' does not apply to '${commandName}'`, commandName);
    }
  }

  const given = positional.slice(1);
  const args: Record<string, string | undefined> = {};
  command.args.forEach((spec, n) => {
    const optional = spec.endsWith('?');
    const name = optional ? spec.slice(0, -1) : spec;
    if (n >= given.length && !optional) throw new UsageError(`missing argument <${name}>`, commandName);
    args[name] = given[n];
  });
  if (given.length > command.args.length) {
    throw new UsageError(`unexpected argument '${given[command.args.length]}'`, commandName);
  }
  const dev = args.dev;
  if (dev !== undefined && !isDeviceName(dev)) {
    throw new UsageError(`'${dev}' is not a CDX device name (cdx-BB:DD, lower-case hex, as \`vfio-cdx list\` shows)`,
      commandName);
  }
  const width = typeof seen.get('width') === 'string' ? (seen.get('width') as string) : undefined;
  const dma = typeof seen.get('dma') === 'string' ? (seen.get('dma') as string) : undefined;
  checkValues(commandName, args, width, dma);
  const mock = seen.get('mock');
  return {
    kind: 'run',
    command: commandName,
    args,
    json: seen.has('json'),
    mock: mock === undefined ? undefined : mock === true ? 'linux-6.12' : (mock as MockProfile),
    verbose: seen.has('verbose'),
    width,
    dma,
  };
}

/**
 * The checks that need no kernel, made before any kernel is touched: numbers, sizes, widths,
 * alignment, and whether a value fits its width. What needs the device (its regions, its vectors)
 * is checked by the command, still as a usage error.
 */
function checkValues(command: string, args: Record<string, string | undefined>, width: string | undefined,
  dma: string | undefined): void {
  const numbers = ['region', 'offset', 'length', 'value'];
  for (const name of numbers) if (args[name] !== undefined) parseUnsigned(args[name]!, name, command);
  if (command === 'read' || command === 'write') {
    const w = parseWidth(width, command);
    const offset = parseUnsigned(args.offset!, 'offset', command);
    if (offset % BigInt(w / 8) !== 0n) {
      throw new UsageError(`offset 0x${offset.toString(16)} is not aligned to ${w / 8} bytes: a ${w}-bit access must ` +
        'be naturally aligned', command);
    }
    if (args.value !== undefined && parseUnsigned(args.value, 'value', command) >> BigInt(w) !== 0n) {
      throw new UsageError(`value ${args.value} does not fit in ${w} bits`, command);
    }
  }
  if (dma !== undefined) parseSize(dma, '--dma', command);
  if (args.vectors !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(args.vectors)) {
    throw new UsageError(`vectors '${args.vectors}' is not a list such as 0, 0,2 or 1-3`, command);
  }
}

/**
 * An unsigned integer written in decimal or 0x-hex, as a bigint.
 * @throws UsageError naming `what`
 */
export function parseUnsigned(text: string, what: string, command: string): bigint {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) {
    throw new UsageError(`${what} '${text}' is not a number (decimal, or hex with 0x)`, command);
  }
  return BigInt(text);
}

/** A byte count: decimal or 0x-hex, with an optional K, M or G suffix (powers of 1024). @throws UsageError */
export function parseSize(text: string, what: string, command: string): number {
  const m = /^(0x[0-9a-f]+|[0-9]+)([kmg])?(i?b)?$/i.exec(text);
  if (m === null) throw new UsageError(`${what} '${text}' is not a size (bytes, or with a K, M or G suffix)`, command);
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  const n = Number(BigInt(m[1]!)) * unit;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what} '${text}' is out of range`, command);
  return n;
}

/** The --width value: 8, 16, 32 (the default) or 64. @throws UsageError */
export function parseWidth(text: string | undefined, command: string): 8 | 16 | 32 | 64 {
  if (text === undefined) return 32;
  if (text === '8' || text === '16' || text === '32' || text === '64') return Number(text) as 8 | 16 | 32 | 64;
  throw new UsageError(`--width must be 8, 16, 32 or 64, not '${text}'`, command);
}
