/**
 * ts-hook.js — `node -r ./test/cli/ts-hook.js file.ts`: runs the TypeScript sources without a
 * build, for the child processes of the trainer and CLI tests (a stale dist/ is never used).
 * Each file is compiled with typescript.transpileModule (no type check: `npm run typecheck` does
 * that) and the output cached on disk by the source's hash, so the many child processes of a
 * test file compile each module once (a cold compile of lib/ is seconds on a 2-core machine).
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

let ts = null;
const cacheDir = path.join(os.tmpdir(), `mamba-speech-ts-cache-${process.getuid ? process.getuid() : 'u'}`);
fs.mkdirSync(cacheDir, { recursive: true });

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let out;
  try {
    out = fs.readFileSync(cached, 'utf8');
  } catch {
    ts = ts || require('typescript');
    out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, sourceMap: false },
    }).outputText;
    // Written atomically (temp + rename): parallel children may compile the same file.
    const tmp = `${cached}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, out);
    fs.renameSync(tmp, cached);
  }
  module._compile(out, filename);
};
