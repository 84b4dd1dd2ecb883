#!/usr/bin/env node
// `npm run fuzz -- [options]`: the random-call fuzzer (test/fuzz/, compiled by tsc first).
// `npm run fuzz -- --help` lists the options.
'use strict';
const path = require('node:path');

require(path.join(__dirname, '..', 'dist', 'test', 'fuzz', 'main.js')).main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e) => {
  process.stderr.write(`fuzz: ${e && e.stack || e}\n`);
  process.exitCode = 2;
});
