#!/usr/bin/env node
// The `mamba-speech` command: the compiled CLI (dist/cli) does the work; exit code from main().
'use strict';
const { main } = require('../dist/cli/index.js');
main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(`mamba-speech: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
