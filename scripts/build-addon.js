#!/usr/bin/env node
// Builds the native addon into build/Release/mamba_speech.node. It is the package's install script
// and the `mamba-speech-build` bin.
//
//   cmake found      -> cmake-js with CMakeLists.txt
//   no cmake         -> node-gyp with binding.gyp (CPU only)
//
// CUDA is compiled when it is wanted and nvcc is on the PATH. It is wanted when MAMBA_SPEECH_CUDA=1
// (or ON), when CMAKE_CUDA_ARCHITECTURES is set, or when a GPU is present (/dev/nvidia0 or
// `nvidia-smi -L`); MAMBA_SPEECH_CUDA=0 (or OFF) forces a CPU-only build. So a GPU-less machine with
// the CUDA toolkit no longer spends minutes compiling kernels it cannot run.
//
// As an install script of an installed package (not a git checkout) with the prebuilt CPU binary
// for this platform (prebuilds/, see scripts/prebuild.js), nothing is compiled unless CUDA is
// wanted or MAMBA_SPEECH_BUILD=1: the prebuilt addon is loaded. MAMBA_SPEECH_BUILD=0 never builds.
//
// Progress: compiler output goes to stdout as before; npm hides install-script output unless
// --foreground-scripts, so a progress line ("compiling 23/56 ...", elapsed time) is also written to
// the terminal (/dev/tty) when there is one. MAMBA_SPEECH_JOBS sets build parallelism;
// MAMBA_SPEECH_BUILDER=node-gyp skips cmake even when it is installed.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const jobs = process.env.MAMBA_SPEECH_JOBS || String(Math.max(1, os.cpus().length));
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'mamba_speech.napi.node');
const out = path.join(root, 'build', 'Release', 'mamba_speech.node');

function log(msg) {
  console.log(`[mamba-speech-build] ${msg}`);
}

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function flag(name) {
  const v = process.env[name];
  if (v === undefined || v === '') return null;
  return !(v === '0' || v.toUpperCase() === 'OFF' || v.toLowerCase() === 'false');
}

function gpuPresent() {
  if (fs.existsSync('/dev/nvidia0')) return true;
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  return r.status === 0 && /GPU \d/.test(r.stdout || '');
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

/** True when the prebuilt binary loads and runs an op in a fresh process. */
function prebuiltWorks() {
  if (!fs.existsSync(prebuilt)) return false;
  const r = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(prebuilt)});
    const a = m.fill([2], 1, 'float32', 'cpu'); process.exit(m.add(a, a).dataSync()[0] === 2 ? 0 : 1);`], { stdio: 'ignore' });
  return r.status === 0;
}

// ---- progress ------------------------------------------------------------------------------------

function gypTotal() {
  try {
    const src = JSON.parse(fs.readFileSync(path.join(root, 'native', 'sources.json'), 'utf8'));
    return src.cpu.length + src.cpu_only.length;
  } catch {
    return '?';
  }
}

/** The terminal, when output goes elsewhere (npm captures install-script output). */
function openTty() {
  if (process.stdout.isTTY || process.env.MAMBA_SPEECH_NO_TTY === '1') return null;
  try {
    return fs.openSync('/dev/tty', 'w');
  } catch {
    return null;
  }
}

function elapsed(t0) {
  const s = Math.round((Date.now() - t0) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Runs a build command, echoing its output and reporting progress; exits on failure. */
function run(cmd, args, env, what) {
  return new Promise((resolve) => {
    log(`${cmd === process.execPath ? 'node' : cmd} ${args.join(' ')}`);
    const tty = openTty();
    const t0 = Date.now();
    let step = '';
    const say = (line) => {
      if (tty === null) return;
      try {
        fs.writeSync(tty, `\r\x1b[K[mamba-speech-build] ${what}: ${line} (${elapsed(t0)})`);
      } catch { /* the terminal went away: progress is optional */ }
    };
    say('starting');
    const beat = setInterval(() => {
      if (tty === null) log(`still building${step ? ` (${step})` : ''}, ${elapsed(t0)}`);
      else say(step || 'configuring');
    }, tty === null ? 30000 : 1000);
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let gypCount = 0;
    const onLine = (line) => {
      // ninja "[23/56] Building CXX object .../tensor.cpp.o", make "[ 41%] Building ...",
      // node-gyp "  CXX(target) Release/obj.target/.../tensor.o" (counted against the source list).
      const ninja = /^\[(\d+)\/(\d+)\]/.exec(line);
      const make = /^\[\s*(\d+)%\]/.exec(line);
      const gyp = /\bCXX\(target\) \S*?([\w.-]+)\.o\b/.exec(line);
      if (ninja) step = `compiling ${ninja[1]}/${ninja[2]}`;
      else if (make) step = `compiling ${make[1]}%`;
      else if (gyp) step = `compiling ${++gypCount}/${gypTotal()}`;
      else return;
      const file = /([\w.-]+\.(?:cpp|cc|cu))\.o\b/.exec(line) || (gyp ? [null, gyp[1]] : null);
      if (file) step += ` ${file[1]}`;
      say(step);
    };
    for (const [stream, sink] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      let buf = '';
      stream.on('data', (d) => {
        sink.write(d);
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop();
        lines.forEach(onLine);
      });
    }
    child.on('error', (e) => {
      clearInterval(beat);
      console.error(`[mamba-speech-build] cannot run ${cmd}: ${e.message}`);
      process.exit(1);
    });
    child.on('close', (code) => {
      clearInterval(beat);
      if (tty !== null) {
        try {
          fs.writeSync(tty, `\r\x1b[K[mamba-speech-build] ${what}: ${code === 0 ? 'done' : 'FAILED'} in ${elapsed(t0)}\n`);
          fs.closeSync(tty);
        } catch { /* optional */ }
      }
      if (code !== 0) {
        console.error(`[mamba-speech-build] failed (exit ${code})`);
        process.exit(code || 1);
      }
      resolve();
    });
  });
}

// ---- what to build ---------------------------------------------------------------------------------

async function main() {
  const installing = process.env.npm_lifecycle_event === 'install';
  const checkout = fs.existsSync(path.join(root, '.git'));
  const cudaFlag = flag('MAMBA_SPEECH_CUDA');
  const cudaAsked = cudaFlag === true || (cudaFlag === null && !!process.env.CMAKE_CUDA_ARCHITECTURES);
  const gpu = cudaFlag === false ? false : gpuPresent();
  const wantCuda = cudaFlag !== false && (cudaAsked || gpu);
  const nvcc = wantCuda && has('nvcc', ['--version']);

  if (installing && !checkout) {
    const build = flag('MAMBA_SPEECH_BUILD');
    const usable = build !== true && prebuiltWorks();
    if (build === false || (usable && !wantCuda)) {
      log(usable ? `using the prebuilt CPU addon (${path.relative(root, prebuilt)}); for CUDA build from source: npx mamba-speech-build`
        : 'MAMBA_SPEECH_BUILD=0: not building (require() will say what is missing)');
      return;
    }
    if (usable && wantCuda && !nvcc) {
      log(`${gpu ? 'a GPU is present' : 'CUDA was asked for'} but nvcc is not on the PATH: using the prebuilt CPU addon. ` +
        'Install the CUDA toolkit, then run: npx mamba-speech-build');
      return;
    }
  }

  const forceGyp = process.env.MAMBA_SPEECH_BUILDER === 'node-gyp';
  const cmakeOk = !forceGyp && has('cmake', ['--version']);
  const cuda = cmakeOk && wantCuda && nvcc;
  if (wantCuda && !nvcc) log(`${gpu ? 'a GPU is present' : 'CUDA was asked for'} but nvcc is not on the PATH: building CPU only`);
  else if (wantCuda && !cmakeOk) log('CUDA needs cmake (>= 3.19); building CPU only with node-gyp');
  const what = cuda ? `building the addon with CUDA (archs ${process.env.CMAKE_CUDA_ARCHITECTURES || '80;90'})` : 'building the CPU addon';
  log(`${what}: ${cuda ? 'about 10-20 min on 2 cores' : 'about 2 min on 2 cores'}` +
    (installing ? ' (npm shows this output with --foreground-scripts)' : ''));

  if (cmakeOk) {
    const cmakeJs = resolveFrom('cmake-js/bin/cmake-js');
    if (!cmakeJs) {
      console.error('[mamba-speech-build] cmake-js is not installed; run npm install first');
      process.exit(1);
    }
    const args = [cmakeJs, 'compile', '--out', 'build', '--parallel', jobs, `--CDMAMBA_SPEECH_CUDA=${cuda ? 'ON' : 'OFF'}`];
    if (cuda && process.env.CMAKE_CUDA_ARCHITECTURES) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.CMAKE_CUDA_ARCHITECTURES}`);
    await run(process.execPath, args, {}, what);
  } else {
    const gyp = nodeGypPath();
    if (!gyp) {
      console.error('[mamba-speech-build] neither cmake nor node-gyp was found; install cmake (>= 3.19)');
      process.exit(1);
    }
    log(`${forceGyp ? 'MAMBA_SPEECH_BUILDER=node-gyp' : 'cmake not found'}: building the CPU-only addon with node-gyp`);
    // node-gyp downloads Node's headers unless told where they are; there is no network in CI
    // or on many GPU runners, so point it at the headers installed beside this node.
    const args = [gyp, 'rebuild', `--jobs=${jobs}`];
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    const nodedir = process.env.npm_config_nodedir ||
      (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null);
    if (nodedir) args.push(`--nodedir=${nodedir}`);
    await run(process.execPath, args, {}, what);
  }

  if (!fs.existsSync(out)) {
    console.error(`[mamba-speech-build] build finished but ${out} is missing`);
    process.exit(1);
  }
  log(`built ${path.relative(process.cwd(), out) || out}`);
}

main();
