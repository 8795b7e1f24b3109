// The published package, installed as a dependency the way npm 11 may do it (install scripts not
// run): the prebuilt CPU addon shipped in prebuilds/ loads, an op runs, CommonJS, ESM and the
// shipped types work; with scripts allowed, the install script uses the prebuilt binary instead of
// compiling (no GPU, CUDA not asked for); with no prebuilt binary, require() names the commands
// that build the addon. (`npm pack` runs scripts/prebuild.js: a CPU-only build, reused from
// build/Release when that is CPU-only and current. Building from source is tested in gyp.test.ts.)
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '../..');
const tag = `${process.platform}-${process.arch}`;

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
}

function project(dir: string): string {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  return dir;
}

const gpuHere = fs.existsSync('/dev/nvidia0');

test('npm pack -> install with scripts blocked -> the prebuilt addon works, from CommonJS, ESM and TypeScript', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-pack-'));
  try {
    const pack = sh('npm', ['pack', '--pack-destination', tmp, '--silent'], root);
    if (pack.status !== 0) console.error(pack.stdout.slice(-3000), pack.stderr.slice(-3000));
    expect(pack.status).toBe(0);
    const tgz = path.join(tmp, pack.stdout.trim().split('\n').pop()!);
    const listing = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' });
    const sources = JSON.parse(fs.readFileSync(path.join(root, 'native/sources.json'), 'utf8')) as Record<string, string[] | string>;
    const needed = ['dist/index.js', 'dist/index.d.ts', 'CMakeLists.txt', 'binding.gyp', 'native/sources.json',
      'scripts/build-addon.js', 'docs/architecture.md', `prebuilds/${tag}/mamba_speech.napi.node`,
      // Everything a build from source needs (npx mamba-speech-build after install).
      ...Object.values(sources).filter(Array.isArray).flat()];
    for (const f of needed) expect(listing).toContain(`package/${f}`);
    expect(listing).not.toContain('package/build/');

    const app = project(path.join(tmp, 'app'));
    const inst = sh('npm', ['install', tgz, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], app);
    expect(inst.status).toBe(0);

    const cjs = sh('node', ['-e', `
      const ms = require('mamba-speech');
      const y = ms.add(ms.tensor([1, 2, 3]), 0.5);
      let cuda = '';
      try { ms.zeros([1], { device: 'cuda' }); } catch (e) { cuda = e.message; }
      const i = ms.buildInfo();
      console.log(JSON.stringify({ v: Array.from(y.dataSync()), d: i.defaultDevice, prebuilt: i.addon.prebuilt, cuda }));`], app);
    expect(cjs.stderr).toBe('');
    const got = JSON.parse(cjs.stdout);
    expect(got).toMatchObject({ v: [1.5, 2.5, 3.5], d: 'cpu', prebuilt: true });
    expect(got.cuda).toMatch(/^\[zeros\] device 'cuda' is not available: .*prebuilt CPU binary.*npx mamba-speech-build/);

    const esm = sh('node', ['--input-type=module', '-e', `
      import { tensor, mul } from 'mamba-speech';
      import ms from 'mamba-speech';
      console.log(JSON.stringify([Array.from(mul(tensor([2, 3]), 2).dataSync()), typeof ms.tidy]));`], app);
    expect(esm.stderr).toBe('');
    expect(JSON.parse(esm.stdout)).toEqual([[4, 6], 'function']);

    // The shipped types compile against a consumer's strict TypeScript, methods included.
    fs.writeFileSync(path.join(app, 'use.ts'), [
      "import { tensor, add, Tensor, DType } from 'mamba-speech';",
      'const t: Tensor = add(tensor([1]), 2).square().sum();',
      'const d: DType = t.dtype;',
      'export const s: readonly number[] = t.shape; export { d };',
    ].join('\n'));
    const tsc = sh('node', [path.join(root, 'node_modules/typescript/bin/tsc'), '--strict', '--noEmit',
      '--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', 'use.ts'], app);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    // No prebuilt binary for this platform and no build: require() says how to build.
    const pre = path.join(app, 'node_modules/mamba-speech/prebuilds');
    fs.renameSync(pre, `${pre}.off`);
    const none = sh('node', ['-e', "require('mamba-speech')"], app);
    fs.renameSync(`${pre}.off`, pre);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('[mamba-speech] the native addon is not built');
    expect(none.stderr).toContain('npx mamba-speech-build');

    if (!gpuHere) {
      // Scripts allowed (npm 11 may run them): no GPU and CUDA not asked for -> nothing compiles.
      const app2 = project(path.join(tmp, 'app2'));
      const env = { CMAKE_CUDA_ARCHITECTURES: '', MAMBA_SPEECH_CUDA: '', MAMBA_SPEECH_BUILD: '' };
      const run = sh('npm', ['install', tgz, '--foreground-scripts', '--prefer-offline', '--no-audit', '--no-fund'], app2, env);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('[mamba-speech-build] using the prebuilt CPU addon');
      expect(fs.existsSync(path.join(app2, 'node_modules/mamba-speech/build'))).toBe(false);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 600000);
