// Issue 19, the newcomer's path: the README's examples run as written (CommonJS under require,
// ES modules with top-level await), its benchmark figures are the committed bench/results, and
// it points only at files the package has.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as lib from '../../lib';
import { REGISTER, ROOT } from '../helpers/child';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The README's runnable examples: a `<!-- readme-example: cjs|esm -->` line, then a js block. */
function examples(): { kind: 'cjs' | 'esm'; code: string; line: number }[] {
  const out: { kind: 'cjs' | 'esm'; code: string; line: number }[] = [];
  const re = /<!-- readme-example: (cjs|esm) -->\n```js\n([\s\S]*?)```/g;
  for (let m = re.exec(readme); m; m = re.exec(readme)) {
    out.push({ kind: m[1] as 'cjs' | 'esm', code: m[2], line: readme.slice(0, m.index).split('\n').length });
  }
  return out;
}

describe('README examples run as written', () => {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-readme-'));
  afterAll(() => fs.rmSync(app, { recursive: true, force: true }));
  beforeAll(() => {
    // node_modules/mamba-speech: the sources of this checkout (through the TypeScript hook), with
    // its export names spelled out so that ESM named imports of this CommonJS module resolve as
    // they do for the built package.
    const pkg = path.join(app, 'node_modules', 'mamba-speech');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'mamba-speech', main: 'index.js' }));
    const names = Object.keys(lib).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
    fs.writeFileSync(path.join(pkg, 'index.js'), [
      `require(${JSON.stringify(REGISTER)});`,
      `${names.map((n) => `exports.${n}`).join(' = ')} = void 0;`,
      `module.exports = require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))});`,
    ].join('\n'));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  });

  const cases = examples();
  test('the README has CommonJS and ESM examples', () => {
    expect(cases.filter((c) => c.kind === 'cjs').length).toBeGreaterThanOrEqual(2);
    expect(cases.filter((c) => c.kind === 'esm').length).toBeGreaterThanOrEqual(1);
  });

  test.each(cases)('the $kind example at README line $line', ({ line, kind, code }) => {
    const file = path.join(app, `example-${line}.${kind === 'cjs' ? 'js' : 'mjs'}`);
    fs.writeFileSync(file, code);
    const r = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8', timeout: 120000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    if (code.includes('training-set PER')) {
      const per = Number(/training-set PER ([\d.]+) %/.exec(r.stdout)?.[1]);
      expect(per).toBeLessThan(20); // 50 epochs over 24 utterances: the model fits them (0.8 % measured)
    } else if (code.includes('training MSE')) {
      const mse = Number(/training MSE after 200 steps: ([\d.]+)/.exec(r.stdout)?.[1]);
      expect(mse).toBeLessThan(0.05); // sin(sum of 8 normals) has variance ~0.5: the model learnt
    } else {
      expect(r.stdout).toMatch(/Tensor\(\(2, 3\), float32, cpu, \[/);
    }
  });
});

describe('README figures are the committed bench/results', () => {
  const json = (f: string): Record<string, any> => JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/results', f), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any
  const f = (x: number, d: number): string => x.toFixed(d);
  const span = (xs: number[], d = 2): string => `${f(Math.min(...xs), d)}–${f(Math.max(...xs), d)}×`;
  const int = (x: number): string => Math.round(x).toLocaleString('en-US');

  test('every quoted figure matches its JSON file', () => {
    const cpu = json('foundation-cpu.json');
    const h = json('foundation-NVIDIA-H200.json');
    const mm = json('matmul-cpu.json').cpu;
    const mg = json('matmul-NVIDIA-H200.json').cuda;
    const fb = json('fbank-cpu.json').rows.filter((r: { op: string }) => r.op.startsWith('fbank'));
    const syn = json('synth-cpu.json');
    const mi = json('mi-NVIDIA-H200.json');
    const at = json('attention-NVIDIA-H200.json');
    const sc = json('selective_scan-NVIDIA-H200.json').gpu.filter((c: { kernel: number }) => c.kernel === 2);
    const ratio = (keys: string[]): number[] => keys.map((k) => mg[k].TFLOPs / mg[k].torchTFLOPs);
    const attn = (pred: (k: string) => boolean, key: 'fwd_ms' | 'fwdbwd_ms'): number[] =>
      Object.keys(at.cases).filter((k) => pred(k) && at.reference.cases[k]).map((k) => at.reference.cases[k][key] / at.cases[k][key]);
    const scan = (dtype: string, i: 0 | 1): number[] =>
      sc.filter((c: { dtype: string }) => c.dtype === dtype).map((c: { mambaH200: number[]; fwdMs: number; fwdBwdMs: number }) => c.mambaH200[i] / (i ? c.fwdBwdMs : c.fwdMs));
    const first = sc.find((c: { dtype: string }) => c.dtype === 'bfloat16');
    const hb = Object.fromEntries(json('hubert-NVIDIA-H100-80GB-HBM3.json').rows.map((r: { row: string }) => [r.row, r]));
    const md = json('models-paper-NVIDIA-H100-80GB-HBM3.json').cases;
    const tg = json('trainer_overhead-NVIDIA-H100-80GB-HBM3.json').cuda;
    const tcpu = json('trainer_overhead-cpu.json').cpu;
    const km = hb['kmeans-gpu'];
    const en = json('enhancement-paper-NVIDIA-H100-80GB-HBM3.json').encoders;
    const an = json('analysis-NVIDIA-H100-80GB-HBM3.json');
    const ly = json('nn_layers-NVIDIA-H100-80GB-HBM3.json').layers;
    const expected = [
      `per-call overhead of a 1-element \`add\` ${f(cpu.overhead.cpu.addDispose * 1e6, 1)} µs`,
      `256 MiB from a Float32Array into a tensor ${f(cpu.copy['tensor(Float32Array) -> cpu'].GBps, 1)} GB/s and back through \`dataSync()\` ${f(cpu.copy['dataSync() cpu -> Float32Array'].GBps, 1)} GB/s`,
      `GEMM ${span(Object.values(mm).map((v) => (v as { GFLOPs: number; numpyGFLOPs: number }).GFLOPs / (v as { numpyGFLOPs: number }).numpyGFLOPs))} numpy`,
      `fbank ${int(Math.min(...fb.map((r: { realTime: number }) => r.realTime)))}–${int(Math.max(...fb.map((r: { realTime: number }) => r.realTime)))}× real time per core`,
      `${int(syn.utterances)} corpus utterances\nin ${f(syn.seconds, 1)} s`,
      `per-call overhead\n${f(h.overhead.cpu.addDispose * 1e6, 1)} µs CPU / ${f(h.overhead.cuda.addDispose * 1e6, 1)} µs CUDA enqueue (PyTorch ${f(h.reference.overhead.cpu * 1e6, 1)} / ${f(h.reference.overhead.cuda * 1e6, 1)} µs)`,
      `device-to-device copy ${f(h.copy['d2d (read+write)'].GBps, 0)} GB/s`,
      `into a CPU tensor ${f(h.copy['tensor(Float32Array) -> cpu'].GBps, 1)} GB/s / to CUDA ${f(h.copy['tensor(Float32Array) -> cuda'].GBps, 1)} GB/s (torch.tensor(numpy) ${f(h.reference.copy['tensor(Float32Array) -> cpu'], 1)} /\n${f(h.reference.copy['tensor(Float32Array) -> cuda'], 1)}), back through \`dataSync()\` ${f(h.copy['dataSync() cpu -> Float32Array'].GBps, 1)} / ${f(h.copy['dataSync() cuda -> Float32Array'].GBps, 1)} GB/s (\`.numpy().copy()\` / \`.cpu().numpy()\` ${f(h.reference.copy['dataSync() cpu -> Float32Array'], 1)} / ${f(h.reference.copy['dataSync() cuda -> Float32Array'], 1)})`,
      `${f(mi.cases['cuda:1'].stepsPerSecond / mi.reference.stepsPerSecond.cuda, 2)}× the PyTorch loop for one estimate and ${f(mi.cases['cuda:13'].stepsPerSecond / mi.reference.stepsPerSecond.cuda, 0)}× 13 sequential PyTorch`,
      `cuBLAS matmul ${span(ratio(['float32-4096', 'float32-8192', 'bfloat16-4096', 'bfloat16-8192']))} torch at 4096–8192 (${span(ratio(['float32-1024', 'bfloat16-1024']))} at\n1024)`,
      `fused attention (bf16) ${span(attn((k) => !k.endsWith('keylen'), 'fwd_ms'))} PyTorch flash SDPA forward and ${span(attn((k) => !k.endsWith('keylen'), 'fwdbwd_ms'))} forward+backward`,
      `${span(attn((k) => k.endsWith('keylen'), 'fwd_ms'))} / ${span(attn((k) => k.endsWith('keylen'), 'fwdbwd_ms'))} with key lengths`,
      `${span(scan('bfloat16', 0))} forward and ${span(scan('bfloat16', 1))} forward+backward in bf16, ${span(scan('float32', 0))} / ${span(scan('float32', 1))} in\nfloat32`,
      `bf16: ${f(first.fwdMs, 2)} / ${f(first.fwdBwdMs, 2)} ms against ${f(first.mambaH200[0], 2)} / ${f(first.mambaH200[1], 2)} ms`,
      `${f(md['ctc/transformer'].ms, 1)} ms Transformer, ${f(md['ctc/mamba'].ms, 1)} ms Mamba, ${f(md['ctc/conbimamba'].ms, 1)} ms ConBiMamba`,
      `${f(hb['pretrain transformer'].ms, 1)} ms against torchaudio's ${f(hb['pretrain transformer'].ref, 1)} ms (${f(hb['pretrain transformer'].ref / hb['pretrain transformer'].ms, 2)}×)`,
      `Conformer ${f(hb['pretrain conformer'].ms, 1)} ms against ${f(hb['pretrain conformer'].ref, 1)} ms (${f(hb['pretrain conformer'].ref / hb['pretrain conformer'].ms, 2)}×)`,
      `Mamba ${f(hb['pretrain mamba'].ms, 1)} ms against ${f(hb['pretrain mamba'].ref, 1)} ms`,
      `ConBiMamba ${f(hb['pretrain conbimamba'].ms, 1)} ms against ${f(hb['pretrain conbimamba'].ref, 1)} ms`,
      `${f(en.transformer.msPerStep, 1)} ms Transformer, ${f(en.mamba.msPerStep, 1)} ms Mamba, ${f(en.conbimamba.msPerStep, 1)} ms ConBiMamba; k-means`,
      `${f(an.cases.corrected.seconds, 1)} s, ${f(an.reference.paperSeconds / an.cases.corrected.seconds, 1)}× faster than the paper's PyTorch loop`,
      `Transformer ${f(ly.transformer.ms, 2)} ms against PyTorch's ${f(ly.transformer.torchMs, 2)} ms (${f(ly.transformer.torchMs / ly.transformer.ms, 2)}×)`,
      `Conformer ${f(ly.conformer.ms, 2)} ms against ${f(ly.conformer.torchMs, 2)} ms (${f(ly.conformer.torchMs / ly.conformer.ms, 2)}×)`,
      `Mamba ${f(ly.mamba.ms, 2)} ms, ConBiMamba ${f(ly.conbimamba.ms, 2)} ms; the trainer`,
      `fit ${f(km.ref.fit_s / km.fitS, 2)}× and predict ${f(km.ref.predict_s / km.predictS, 2)}× PyTorch`,
      `the trainer adds ${f((tg.overheadRatio - 1) * 100, 1)} % to a small model's step on CUDA (goal 3 %) and ${f(Math.max(0, (tcpu.overheadRatio - 1) * 100), 1)} % on the CPU`,
    ];
    // Line breaks in the README are free: compare with whitespace runs collapsed.
    const flat = (t: string): string => t.replace(/\s+/g, ' ');
    for (const e of expected) expect(flat(readme)).toContain(flat(e));
  });
});

test('the README points only at files the package has', () => {
  expect(readme).not.toMatch(/\.\.\/shared|ARCHITECTURE\.md/);
  const links = [...readme.matchAll(/\]\(([^)#:]+)\)/g)].map((m) => m[1]);
  expect(links).toContain('docs/architecture.md');
  for (const l of links) expect(fs.existsSync(path.join(ROOT, l))).toBe(true);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  expect(pkg.files).toContain('docs/');
  const arch = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  expect(arch).not.toMatch(/\.\.\/shared|hidden checks/);
});
