#!/usr/bin/env node
// Puts the prebuilt CPU addon for this platform into the package before `npm pack` / `npm publish`
// (the prepack script): prebuilds/<platform>-<arch>/mamba_speech.napi.node, which lib/native.ts
// loads when there is no build from source. N-API 8, so one binary serves every Node >= 20.
//
// The binary must not need CUDA: the local build (build/Release) is reused when it is CPU-only and
// newer than every native source; otherwise a CPU-only build is made in build-prebuild/ (cmake-js,
// incremental), leaving a local CUDA build alone. The copy is stripped and must load and run an
// op in a fresh process. MAMBA_SPEECH_PREBUILD=0 skips all this (a package without a prebuilt
// binary then needs `npx mamba-speech-build` after install).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const tag = `${process.platform}-${process.arch}`;
const dst = path.join(root, 'prebuilds', tag, 'mamba_speech.napi.node');
const local = path.join(root, 'build', 'Release', 'mamba_speech.node');

function log(msg) {
  console.log(`[prebuild] ${msg}`);
}

function fail(msg) {
  console.error(`[prebuild] ${msg}`);
  process.exit(1);
}

/** Newest modification time among the files that make the addon. */
function newestSource() {
  let t = 0;
  const walk = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) fs.readdirSync(p).forEach((n) => walk(path.join(p, n)));
    else t = Math.max(t, st.mtimeMs);
  };
  ['native', 'CMakeLists.txt', 'binding.gyp'].forEach((f) => walk(path.join(root, f)));
  return t;
}

/** { cuda, ok } of an addon, read in a fresh process (ok: it loads and 1 + 1 = 2). */
function probe(file) {
  const r = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(file)});
    const a = m.fill([2], 1, 'float32', 'cpu');
    console.log(JSON.stringify({ cuda: m.buildInfo().cuda, ok: m.add(a, a).dataSync()[0] === 2 }));`], { encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout.trim());
  } catch {
    return { cuda: null, ok: false, error: r.stderr.trim().split('\n').slice(-3).join(' ') };
  }
}

function source() {
  if (fs.existsSync(local) && fs.statSync(local).mtimeMs >= newestSource()) {
    const p = probe(local);
    if (p.ok && p.cuda === false) {
      log(`reusing the CPU-only local build ${path.relative(root, local)}`);
      return local;
    }
    log(`the local build ${p.cuda ? 'has CUDA' : 'does not run here'}: building a CPU-only one in build-prebuild/`);
  }
  if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0) fail('cmake (>= 3.19) is needed to build the prebuilt binary');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const jobs = process.env.MAMBA_SPEECH_JOBS || String(Math.max(1, os.cpus().length));
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build-prebuild', '--parallel', jobs, '--CDMAMBA_SPEECH_CUDA=OFF'],
    { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`the CPU-only build failed (exit ${r.status})`);
  return path.join(root, 'build-prebuild', 'Release', 'mamba_speech.node');
}

function main() {
  if (process.env.MAMBA_SPEECH_PREBUILD === '0') {
    log('MAMBA_SPEECH_PREBUILD=0: the package gets no prebuilt binary');
    return;
  }
  const src = source();
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  const tmp = `${dst}.${process.pid}.tmp`;
  fs.copyFileSync(src, tmp);
  // Symbols are for debugging a local build; the shipped binary drops them (~30 % smaller).
  spawnSync('strip', ['--strip-unneeded', tmp], { stdio: 'ignore' });
  fs.renameSync(tmp, dst);
  const p = probe(dst);
  if (!p.ok || p.cuda !== false) fail(`${path.relative(root, dst)} does not work: ${JSON.stringify(p)}`);
  log(`${path.relative(root, dst)}: ${(fs.statSync(dst).size / 2 ** 20).toFixed(1)} MiB, CPU only, N-API 8`);
}

main();
