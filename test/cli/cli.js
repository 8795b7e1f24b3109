#!/usr/bin/env node
/**
 * cli.js — `mamba-speech` from the TypeScript sources (the tests' child processes), exactly as
 * bin/mamba-speech.js runs dist/cli: node test/cli/cli.js <command> [options]
 */
'use strict';
require('./ts-hook');
const { main } = require('../../lib/cli/index.ts');
main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(`mamba-speech: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
