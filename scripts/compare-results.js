#!/usr/bin/env node
// compare-results.js MOCK.json KERNEL.json [LABEL]
// One line per conformance test: its outcome on the mock and on the real
// kernel. Ends with the count of identical outcomes; exits 1 on any
// difference (a test that differs, or that ran on one side only), because
// where the two disagree the mock is wrong.
'use strict';
const fs = require('node:fs');

function outcomes(file) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = new Map();
  for (const t of r.passes) m.set(t.fullTitle, 'pass');
  for (const t of r.pending) m.set(t.fullTitle, 'pending');
  for (const t of r.failures) m.set(t.fullTitle, 'FAIL');
  return { map: m, failures: r.failures };
}

const [mockFile, kernelFile, label = ''] = process.argv.slice(2);
if (!mockFile || !kernelFile) {
  process.stderr.write('usage: compare-results.js MOCK.json KERNEL.json [LABEL]\n');
  process.exit(2);
}
const mock = outcomes(mockFile);
const kernel = outcomes(kernelFile);
const titles = [...new Set([...mock.map.keys(), ...kernel.map.keys()])].sort();
let same = 0;
let differ = 0;
const lines = [`${'mock'.padEnd(8)} ${'kernel'.padEnd(8)} test${label ? ` (${label})` : ''}`];
for (const t of titles) {
  const a = mock.map.get(t) ?? 'absent';
  const b = kernel.map.get(t) ?? 'absent';
  const mark = a === b ? ' ' : '*';
  if (a === b) same++; else differ++;
  lines.push(`${a.padEnd(8)} ${b.padEnd(8)}${mark}${t}`);
}
for (const f of [...mock.failures.map((x) => ['mock', x]), ...kernel.failures.map((x) => ['kernel', x])]) {
  lines.push(`\n${f[0]} failure: ${f[1].fullTitle}\n  ${String(f[1].err.message).split('\n').slice(0, 6).join('\n  ')}`);
}
lines.push(`\n${label ? label + ': ' : ''}${same} of ${titles.length} outcomes identical on the mock and the real kernel` +
  (differ ? `, ${differ} different` : ''));
lines.push(`${same} passed, ${differ} failed`);
process.stdout.write(lines.join('\n') + '\n');
process.exitCode = differ === 0 ? 0 : 1;
