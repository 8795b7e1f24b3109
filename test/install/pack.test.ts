// The published package, installed as a dependency the way npm 11 does it (install scripts not
// run): require() must say how to build the addon, the named command must build it, and then
// both require() and ESM import must work.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '../..');

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
}

test('npm pack -> install into a fresh project -> clear error -> mamba-speech-build -> works', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-pack-'));
  try {
    const pack = sh('npm', ['pack', '--pack-destination', tmp, '--silent'], root);
    expect(pack.status).toBe(0);
    const tgz = path.join(tmp, pack.stdout.trim().split('\n').pop()!);
    expect(fs.existsSync(tgz)).toBe(true);
    const listing = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' });
    for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/CMakeLists.txt',
      'package/binding.gyp', 'package/native/sources.json', 'package/scripts/build-addon.js']) {
      expect(listing).toContain(f);
    }
    expect(listing).not.toContain('package/build/');

    const proj = path.join(tmp, 'app');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const inst = sh('npm', ['install', tgz, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], proj);
    expect(inst.status).toBe(0);

    const before = sh('node', ['-e', "require('mamba-speech')"], proj);
    expect(before.status).not.toBe(0);
    expect(before.stderr).toContain('[mamba-speech] the native addon is not built');
    expect(before.stderr).toContain('npx mamba-speech-build');
    expect(before.stderr).toContain('npm rebuild mamba-speech --foreground-scripts --allow-scripts=mamba-speech');

    const build = sh('npx', ['--no-install', 'mamba-speech-build'], proj, { MAMBA_SPEECH_CUDA: '0' });
    if (build.status !== 0) console.error(build.stdout.slice(-3000), build.stderr.slice(-3000));
    expect(build.status).toBe(0);

    const cjs = sh('node', ['-e', `
      const ms = require('mamba-speech');
      const y = ms.add(ms.tensor([1, 2, 3]), 0.5);
      console.log(JSON.stringify({ v: Array.from(y.dataSync()), d: ms.buildInfo().defaultDevice }));`], proj);
    expect(cjs.stderr).toBe('');
    expect(JSON.parse(cjs.stdout)).toEqual({ v: [1.5, 2.5, 3.5], d: 'cpu' });

    const esm = sh('node', ['--input-type=module', '-e', `
      import { tensor, mul } from 'mamba-speech';
      import ms from 'mamba-speech';
      console.log(JSON.stringify([Array.from(mul(tensor([2, 3]), 2).dataSync()), typeof ms.tidy]));`], proj);
    expect(esm.stderr).toBe('');
    expect(JSON.parse(esm.stdout)).toEqual([[4, 6], 'function']);

    // The shipped types compile against a consumer's strict TypeScript.
    fs.writeFileSync(path.join(proj, 'use.ts'), [
      "import { tensor, add, Tensor, DType } from 'mamba-speech';",
      "const t: Tensor = add(tensor([1]), 2);",
      "const d: DType = t.dtype;",
      "export const s: readonly number[] = t.shape; export { d };",
    ].join('\n'));
    const tsc = sh('node', [path.join(root, 'node_modules/typescript/bin/tsc'), '--strict', '--noEmit',
      '--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', 'use.ts'], proj);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 600000);
