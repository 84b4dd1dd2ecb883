#!/usr/bin/env node
// Runs the test suites: the conformance suite once per mock kernel profile,
// then the native (mock-only) tests. Each run is its own mocha process, since
// the conformance suite takes its kernel from the environment at load time.
// Ends with one line "N passed, N failed, N skipped" over all runs.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const only = process.argv.slice(2);

const runs = [
  { name: 'conformance, mock noiommu (the twin of the VM kernel)', spec: 'dist/test/conformance', env: { VFIO_CDX_TEST_PROFILE: 'noiommu' } },
  { name: 'conformance, mock linux-6.12 (type1 IOMMU, group path)', spec: 'dist/test/conformance', env: { VFIO_CDX_TEST_PROFILE: 'linux-6.12' } },
  { name: 'conformance, mock cdev (iommufd + fixed vfio-cdx)', spec: 'dist/test/conformance', env: { VFIO_CDX_TEST_PROFILE: 'cdev' } },
  { name: 'conformance, mock iommufd-compat (iommufd provides /dev/vfio/vfio)', spec: 'dist/test/conformance', env: { VFIO_CDX_TEST_PROFILE: 'iommufd-compat' } },
  { name: 'conformance, mock linux-6.12-iommufd (probe fails)', spec: 'dist/test/conformance', env: { VFIO_CDX_TEST_PROFILE: 'linux-6.12-iommufd' } },
  { name: 'native: abuse, leaks, faults, threads, GC (mock)', spec: 'dist/test/native', env: {} },
].filter((r) => only.length === 0 || only.some((o) => r.name.includes(o)));

const total = { passed: 0, failed: 0, skipped: 0 };
const summary = [];
let bad = false;
for (const run of runs) {
  process.stdout.write(`\n=== ${run.name}\n`);
  const r = spawnSync(process.execPath, [mocha, run.spec], {
    cwd: root, env: { ...process.env, VFIO_CDX_TEST_KERNEL: 'mock', ...run.env }, encoding: 'utf8', maxBuffer: 64 << 20,
  });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  const count = (word) => Number((new RegExp(`(\\d+) ${word}`).exec(r.stdout) ?? [0, 0])[1]);
  const s = { passed: count('passing'), failed: count('failing'), skipped: count('pending') };
  if (r.status !== 0 || s.failed > 0 || s.passed === 0) bad = true;
  if (r.status !== 0 && s.failed === 0) s.failed = 1;  // crashed or mis-configured: count it
  total.passed += s.passed; total.failed += s.failed; total.skipped += s.skipped;
  summary.push(`${run.name}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} pending (exit ${r.status})`);
}
process.stdout.write(`\n${summary.join('\n')}\n\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = bad ? 1 : 0;
