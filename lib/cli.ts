#!/usr/bin/env node
/**
 * The `vfio-cdx` command line: list | info | bind | unbind | reset | read | write | dump | watch |
 * doctor | demo | help. `vfio-cdx --help` and docs/cli.md describe every command and option.
 *
 * Exit status: 0 success, 1 a failed operation (doctor: not usable), 2 a usage error. Data goes to
 * stdout, status lines and errors to stderr; every error about a device names it. `--mock [profile]`
 * runs a command on a fresh mock kernel with the bundled fixture (lib/cli/mock-fixture.ts).
 *
 * {@link main} takes a kernel so that tests can run the CLI against a mock they control (raise
 * interrupts from the device side, for instance); the binary always uses the running kernel or
 * --mock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CdxBus } from './bus';
import * as access from './cli/access';
import { parse, parseSize, UsageError, type Parsed } from './cli/args';
import * as commands from './cli/commands';
import { diagnose, renderReport } from './cli/doctor';
import { helpText, USAGE } from './cli/help';
import { describeMock, fixtureKernel } from './cli/mock-fixture';
import { json, streamIo, type Io } from './cli/output';
import { watch } from './cli/watch';
import type { Kernel } from './kernel';
import type { MockKernel, MockProfile } from './mock';

/** Options of {@link main}. */
export interface MainOptions {
  /** The kernel to use instead of the running one (ignored with --mock). */
  kernel?: Kernel;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function usageFailure(io: Io, e: UsageError, jsonErrors: boolean): number {
  if (jsonErrors) {
    io.err(JSON.stringify({ error: e.message, code: 'ERR_USAGE' }));
  } else if (e.message === 'no command given') {
    io.err(`${USAGE}\nTry 'vfio-cdx --help'.`);
  } else {
    io.err(`vfio-cdx: ${e.message}\nTry 'vfio-cdx ${e.command ? e.command + ' ' : ''}--help'.`);
  }
  return 2;
}

function operationFailure(io: Io, e: unknown, device: string | undefined, jsonErrors: boolean): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const { code, hint } = err as Error & { code?: unknown; hint?: unknown };
  if (jsonErrors) {
    io.err(JSON.stringify({ error: err.message, code, device, ...(hint !== undefined ? { hint } : {}) }));
  } else {
    const prefix = device !== undefined && !err.message.startsWith(device) ? `${device}: ` : '';
    io.err(`vfio-cdx: ${prefix}${err.message}`);
  }
  return 1;
}

type Run = Extract<Parsed, { kind: 'run' }>;

async function run(p: Run, io: Io, options: MainOptions): Promise<number> {
  let profile: MockProfile | undefined = p.mock;
  const auto = profile === undefined && p.command === 'demo' && options.kernel === undefined &&
    !commands.systemHasCdxBus();
  if (auto) profile = 'linux-6.12';
  let mock: MockKernel | undefined;
  if (profile !== undefined) {
    mock = fixtureKernel(profile);
    if (!auto && p.command !== 'demo') io.err(`vfio-cdx: ${describeMock(mock, profile)}`);
  }
  const kernel = mock ?? options.kernel;
  const ctx: commands.Context = { bus: new CdxBus({ kernel }), kernel, mock, profile, io, json: p.json };
  const a = p.args;
  switch (p.command) {
    case 'list': commands.list(ctx, p.verbose); break;
    case 'info': commands.info(ctx, a.dev!); break;
    case 'bind': commands.bind(ctx, a.dev!); break;
    case 'unbind': commands.unbind(ctx, a.dev!); break;
    case 'reset': commands.reset(ctx, a.dev!); break;
    case 'dump': commands.dump(ctx, a.dev!, a.region!, a.offset, a.length); break;
    case 'read': access.read(ctx, a.dev!, a.region!, a.offset!, p.width); break;
    case 'write': access.write(ctx, a.dev!, a.region!, a.offset!, a.value!, p.width); break;
    case 'demo': commands.demo(ctx, auto); break;
    case 'watch': await watchUntilStopped(ctx, a.dev!, a.vectors, options); break;
    case 'doctor': {
      const dmaBytes = p.dma === undefined ? undefined : parseSize(p.dma, '--dma', 'doctor');
      const report = diagnose(kernel, a.dev ?? null, { dmaBytes, dmaExplicit: p.dma !== undefined });
      io.out(p.json ? json(report) : renderReport(report));
      return report.usable ? 0 : 1;
    }
  }
  return 0;
}

/** watch until SIGINT or SIGTERM, or until stdout goes away (EPIPE). */
async function watchUntilStopped(ctx: commands.Context, dev: string, vectors: string | undefined,
  options: MainOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const stdout = options.stdout ?? process.stdout;
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  stdout.on('error', onError);
  try {
    await watch(ctx, dev, vectors, stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stdout.off('error', onError);
  }
}

/** Runs the CLI on `argv` (without node and the script name); resolves to the exit status. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const io = streamIo(options.stdout ?? process.stdout, options.stderr ?? process.stderr);
  const jsonErrors = argv.includes('--json');
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    if (e instanceof UsageError) return usageFailure(io, e, jsonErrors);
    throw e;
  }
  if (parsed.kind === 'help') {
    io.out(helpText(parsed.command));
    return 0;
  }
  if (parsed.kind === 'version') {
    io.out(`vfio-cdx ${version()}`);
    return 0;
  }
  try {
    return await run(parsed, io, options);
  } catch (e) {
    if (e instanceof UsageError) return usageFailure(io, e, jsonErrors);
    return operationFailure(io, e, parsed.args.dev, jsonErrors);
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
