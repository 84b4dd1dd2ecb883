#!/usr/bin/env node
// Runs the test suites: the conformance suite once per mock kernel profile, the native
// (mock-only) tests, the CLI's, the conformance suite again on kernels with 16 KiB and 64 KiB
// pages, and conformance and native once more with the mock's user-memory copies forced
// through a pipe (the method it falls back to under qemu-user or seccomp). Each run is its own mocha
// process, since the suites take their kernel from the environment at load time.
// Ends with one line "N passed, N failed, N skipped" over all runs.
//
// Arguments select runs whose name contains any of them (e.g. `conformance`,
// `pages`, `pipe`), or, with VFIO_CDX_TEST_EXACT=1, whose name is one of them.
//
// Environment:
//   VFIO_CDX_TEST_NODE         the command that runs mocha, instead of this Node: a Node
//                              binary, optionally behind an emulator, space-separated
//                              (scripts/test-node-lines.sh, scripts/test-arm64.sh)
//   VFIO_CDX_TEST_MOCHA_ARGS   extra mocha arguments, space-separated
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
// mocha's own cli.js with the Node options of .mocharc.json given here: bin/mocha.js would
// re-spawn process.execPath to apply them, which under qemu-user is a binary the host cannot run.
const mocha = path.join(root, 'node_modules', 'mocha', 'lib', 'cli', 'cli.js');
const nodeOptions = require(path.join(root, '.mocharc.json'))['node-option'].map((o) => `--${o}`);
const only = process.argv.slice(2);
const exact = process.env.VFIO_CDX_TEST_EXACT === '1';  // arguments are whole run names
const words = (s) => (s ?? '').split(' ').filter((w) => w !== '');
const node = words(process.env.VFIO_CDX_TEST_NODE);
const command = node.length > 0 ? node : [process.execPath];
const mochaArgs = words(process.env.VFIO_CDX_TEST_MOCHA_ARGS);

const profiles = [
  ['noiommu', 'the twin of the VM kernel'],
  ['linux-6.12', 'type1 IOMMU, group path'],
  ['cdev', 'iommufd + fixed vfio-cdx'],
  ['iommufd-compat', 'iommufd provides /dev/vfio/vfio'],
  ['linux-6.12-iommufd', 'probe fails'],
];
const conformance = (profile, what, extraName, env) => ({
  name: `conformance, mock ${profile} (${what})${extraName}`, spec: 'dist/test/conformance', env: { VFIO_CDX_TEST_PROFILE: profile, ...env },
});
const native = (extraName, env) => ({ name: `native: abuse, leaks, faults, threads, GC (mock)${extraName}`, spec: 'dist/test/native', env });
// The CLI's suite spawns the CLI once per case: it runs once, on the host's Node (and on every x64
// Node line), not again with the pipe, nor under qemu-user where each spawn costs seconds.
const cli = { name: 'cli: commands, conventions, doctor, watch (mock)', spec: 'dist/test/cli', env: {} };
const PIPE = { VFIO_CDX_MOCK_UACCESS: 'pipe' };

const runs = [
  ...profiles.map(([p, what]) => conformance(p, what, '', {})),
  native('', {}),
  cli,
  ...[16384, 65536].flatMap((page) =>
    profiles.map(([p, what]) => conformance(p, what, `, ${page / 1024} KiB pages`, { VFIO_CDX_TEST_PAGE_SIZE: String(page) }))),
  ...profiles.map(([p, what]) => conformance(p, what, ', user copies through a pipe', PIPE)),
  native(', user copies through a pipe', PIPE),
].filter((r) => only.length === 0 || only.some((o) => (exact ? r.name === o : r.name.includes(o))));

if (runs.length === 0) {
  process.stderr.write(`no run matches ${only.join(' ')}\n`);
  process.exit(2);
}

// The bench-only addon (bench/binding.gyp) that the C-vs-JS pmd test needs: built here when it is
// missing, as `npm ci` builds only the library's. Not under PREBUILDS_ONLY=1 (the arm64 tier), where
// the test is skipped because a host build cannot load there.
const benchAddon = path.join(root, 'bench', 'build', 'Release', 'vfio_cdx_bench.node');
const fs = require('node:fs');
if (process.env.PREBUILDS_ONLY !== '1' && fs.existsSync(path.join(root, 'bench', 'binding.gyp')) && !fs.existsSync(benchAddon)) {
  process.stdout.write('building the bench addon (bench/binding.gyp)\n');
  const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  // Node's own headers, never a download: npm's nodedir when npm runs this, else this Node's prefix.
  const prefix = path.dirname(path.dirname(process.execPath));
  const nodedir = process.env.npm_config_nodedir ||
    (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  const b = spawnSync(process.execPath, [gyp, 'rebuild', '-C', 'bench', ...(nodedir ? [`--nodedir=${nodedir}`] : [])],
    { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) {
    process.stderr.write('building the bench addon failed\n');
    process.exit(1);
  }
}

const total = { passed: 0, failed: 0, skipped: 0 };
const summary = [];
let bad = false;
for (const run of runs) {
  process.stdout.write(`\n=== ${run.name}\n`);
  const started = Date.now();
  const r = spawnSync(command[0], [...command.slice(1), ...nodeOptions, mocha, ...mochaArgs, run.spec], {
    cwd: root, env: { ...process.env, VFIO_CDX_TEST_KERNEL: 'mock', ...run.env }, encoding: 'utf8', maxBuffer: 64 << 20,
  });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  if (r.error) process.stderr.write(`${command.join(' ')}: ${r.error.message}\n`);
  const count = (word) => Number((new RegExp(`(\\d+) ${word}`).exec(r.stdout ?? '') ?? [0, 0])[1]);
  const s = { passed: count('passing'), failed: count('failing'), skipped: count('pending') };
  if (r.status !== 0 || s.failed > 0 || s.passed === 0) bad = true;
  if (r.status !== 0 && s.failed === 0) s.failed = 1;  // crashed or mis-configured: count it
  total.passed += s.passed; total.failed += s.failed; total.skipped += s.skipped;
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  summary.push(`${run.name}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} pending (exit ${r.status}, ${secs}s)`);
}
process.stdout.write(`\n${summary.join('\n')}\n\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = bad ? 1 : 0;
