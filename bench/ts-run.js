#!/usr/bin/env node
/**
 * Runs a TypeScript file without a build step: registers a require hook that compiles each .ts
 * file with typescript.transpileModule (no type check; `npm run typecheck` does that), then
 * requires the script named on the command line.
 *
 *   node bench/ts-run.js bench/fbank.bench.ts [args...]
 */
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  module._compile(outputText, filename);
};

const script = process.argv[2];
if (!script) {
  console.error('usage: node bench/ts-run.js <file.ts> [args...]');
  process.exit(2);
}
process.argv.splice(1, 1); // the script sees itself as argv[1], as with plain node
require(path.resolve(script));
