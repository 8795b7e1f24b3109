#!/usr/bin/env node
// Builds the native addon into build/Release/mamba_speech.node.
//
//   cmake found      -> cmake-js with CMakeLists.txt (CUDA when nvcc is found)
//   no cmake         -> node-gyp with binding.gyp (CPU only)
//
// Environment: MAMBA_SPEECH_CUDA=0 forces a CPU-only build; CMAKE_CUDA_ARCHITECTURES (e.g. 90)
// limits the GPU architectures compiled; MAMBA_SPEECH_JOBS sets build parallelism;
// MAMBA_SPEECH_BUILDER=node-gyp skips cmake even when it is installed.
// This file is also the `mamba-speech-build` bin, for installs where npm skipped our install
// script (npm 11 does that for dependencies unless they are approved).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const jobs = process.env.MAMBA_SPEECH_JOBS || String(Math.max(1, os.cpus().length));

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function run(cmd, args, env) {
  console.log(`[mamba-speech-build] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`[mamba-speech-build] failed (exit ${r.status})`);
    process.exit(r.status || 1);
  }
}

function resolveFrom(id) {
  try {
    return require.resolve(id, { paths: [root] });
  } catch {
    return null;
  }
}

function nodeGypPath() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) {
    return process.env.npm_config_node_gyp;
  }
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm',
    'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return resolveFrom('node-gyp/bin/node-gyp.js') || (fs.existsSync(bundled) ? bundled : null);
}

const cudaOff = process.env.MAMBA_SPEECH_CUDA === '0' || process.env.MAMBA_SPEECH_CUDA === 'OFF';

const forceGyp = process.env.MAMBA_SPEECH_BUILDER === 'node-gyp';
if (!forceGyp && has('cmake', ['--version'])) {
  const cmakeJs = resolveFrom('cmake-js/bin/cmake-js');
  if (!cmakeJs) {
    console.error('[mamba-speech-build] cmake-js is not installed; run npm install first');
    process.exit(1);
  }
  const args = [cmakeJs, 'compile', '--out', 'build', '--parallel', jobs];
  if (cudaOff) args.push('--CDMAMBA_SPEECH_CUDA=OFF');
  else args.push('--CDMAMBA_SPEECH_CUDA=ON');
  if (process.env.CMAKE_CUDA_ARCHITECTURES) {
    args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.CMAKE_CUDA_ARCHITECTURES}`);
  }
  run(process.execPath, args);
} else {
  const gyp = nodeGypPath();
  if (!gyp) {
    console.error('[mamba-speech-build] neither cmake nor node-gyp was found; install cmake (>= 3.19)');
    process.exit(1);
  }
  console.log(`[mamba-speech-build] ${forceGyp ? 'MAMBA_SPEECH_BUILDER=node-gyp' : 'cmake not found'}: building the CPU-only addon with node-gyp`);
  // node-gyp downloads Node's headers unless told where they are; there is no network in CI
  // or on many GPU runners, so point it at the headers installed beside this node.
  const args = [gyp, 'rebuild', `--jobs=${jobs}`];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir ||
    (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null);
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  run(process.execPath, args);
}

const out = path.join(root, 'build', 'Release', 'mamba_speech.node');
if (!fs.existsSync(out)) {
  console.error(`[mamba-speech-build] build finished but ${out} is missing`);
  process.exit(1);
}
console.log(`[mamba-speech-build] built ${path.relative(process.cwd(), out) || out}`);
