// binding.gyp builds the CPU-only addon with node-gyp from the same source list as CMake
// (native/sources.json), for machines without cmake. Builds in a temp copy and runs a few ops.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '../..');

test('node-gyp builds a working CPU addon from native/sources.json', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-gyp-'));
  try {
    for (const f of ['binding.gyp', 'package.json', 'native', 'scripts']) {
      fs.cpSync(path.join(root, f), path.join(tmp, f), { recursive: true });
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
    const r = spawnSync(process.execPath, ['scripts/build-addon.js'], {
      cwd: tmp, encoding: 'utf8', env: { ...process.env, MAMBA_SPEECH_BUILDER: 'node-gyp' }, maxBuffer: 64 << 20,
    });
    if (r.status !== 0) console.error(r.stdout.slice(-3000), r.stderr.slice(-3000));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('building the CPU-only addon with node-gyp');
    const out = spawnSync(process.execPath, ['-e', `
      const m = require('./build/Release/mamba_speech.node');
      const a = m.fromTypedArray(new Float32Array([1, 2, 3, 4]), [2, 2], 'float32', 'cpu', true);
      const c = m.matmul(a, a, false);
      console.log(JSON.stringify({ cuda: m.buildInfo().cuda, mm: Array.from(c.dataSync()), add: Array.from(m.add(a, 1).dataSync()) }));`],
    { cwd: tmp, encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ cuda: false, mm: [7, 10, 15, 22], add: [2, 3, 4, 5] });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 600000);
