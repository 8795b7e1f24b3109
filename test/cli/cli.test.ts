/**
 * The `mamba-speech` command end to end, each command a child process (test/cli/cli.js runs the
 * TypeScript sources as bin/mamba-speech.js runs dist/): corpus synth -> train (plain progress
 * lines when not a terminal; a bar in a pseudo-terminal) -> eval -> decode --beam; SIGINT and
 * SIGTERM stop a run with 130 / 143 and a resume line, and resume finishes it; bad configs and
 * usage exit 2 with one line and a hint; bench --baseline with a doctored baseline exits 1
 * naming the regressed figure.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';

import { main } from '../../lib/cli';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Out { code: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs the CLI; `onStderr` may send the child a signal once some output appeared. */
function cli(args: string[], opts: { onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(root, 'test/cli/cli.js'), ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, (s) => c.kill(s));
    });
    c.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The CLI in this process (main with captured streams), for fast checks of usage errors. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write(chunk, _enc, cb) { f(chunk.toString()); cb(); } });
  const code = await main(args, { stdout: sink((x) => { stdout += x; }), stderr: sink((x) => { stderr += x; }) });
  return { code, stdout, stderr };
}

const CONFIG = `# a tiny CTC run on the test corpus
data: { corpus: corpus, maxFrames: 1500 }
features: { type: fbank, nMels: 40 }
model: { task: ctc, encoder: { type: mamba, layers: 1, dModel: 32 } }
optimizer: { lr: 0.003 }
schedule: { type: warmupLinear, warmupSteps: 2 }
trainer: { maxSteps: 6, evalEvery: 3, logEvery: 2, monitor: per }
`;

describe('mamba-speech CLI', () => {
  beforeAll(async () => {
    const r = await cli(['corpus', 'synth', '--out', 'corpus', '-n', '12', '--speakers', '4', '--min-seconds', '1', '--max-seconds', '1.5', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.counts.train + j.counts.dev + j.counts.test).toBe(12);
    fs.writeFileSync(path.join(tmp, 'exp.yaml'), CONFIG);
  });

  test('train (plain lines off a terminal) -> eval -> decode --beam', async () => {
    const t = await cli(['train', 'exp.yaml', '--out', 'run']);
    expect({ code: t.code, stderr: t.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    // Non-TTY progress: one line per log record and per evaluation, no carriage returns or escapes.
    expect(t.stderr).toMatch(/^step 2\/6 epoch \d+ loss \d+\.\d+ lr \S+ grad \S+ \d+\.\d steps\/s ETA \S+$/m);
    expect(t.stderr).toMatch(/^step 6\/6 /m);
    expect(t.stderr).toMatch(/^eval step 3: loss \S+ .*per \S+/m);
    expect(t.stderr).not.toMatch(/[\r\x1b]/);
    expect(t.stdout).toMatch(/^done: 6 steps \(maxSteps\)/m);
    for (const f of ['config.yaml', 'train.jsonl', 'train.csv', 'loss.svg', 'loss.png', 'checkpoints/last.safetensors']) expect(fs.existsSync(path.join(tmp, 'run', f))).toBe(true);
    expect(fs.readFileSync(path.join(tmp, 'run', 'config.yaml'), 'utf8')).toMatch(/totalSteps: 6/); // pinned in the resolved config

    const again = await inProcess(['train', path.join(tmp, 'exp.yaml'), '--out', path.join(tmp, 'run')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^mamba-speech: .*run already holds a run\nhint: continue it with: mamba-speech resume .*run/);

    const e = await cli(['eval', 'run', '--data', 'test', '--json']);
    expect(e.code).toBe(0);
    const ej = JSON.parse(e.stdout);
    expect(ej.checkpoint).toMatch(/best-step\d+\.safetensors$/);
    expect(ej.utterances).toBeGreaterThan(0);
    expect(Number.isFinite(ej.metrics.per)).toBe(true);
    expect(Number.isFinite(ej.metrics.loss)).toBe(true);

    const d = await cli(['decode', 'run', '--data', 'test', '--beam', '3', '--json']);
    expect(d.code).toBe(0);
    const dj = JSON.parse(d.stdout);
    expect(dj.beam).toBe(3);
    expect(dj.hypotheses).toBe(path.join(fs.realpathSync(tmp), 'run', 'decode-test-beam3.jsonl'));
    const rows = fs.readFileSync(dj.hypotheses, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(ej.utterances);
    for (const r of rows) expect(Object.keys(r)).toEqual(['id', 'ref', 'hyp']);
    expect(dj.errorRates.per).toBeGreaterThanOrEqual(0);
  });

  test('a bar with ETA, loss and steps/s in a pseudo-terminal', () => {
    if (spawnSync('script', ['--version']).status !== 0) {
      process.stderr.write('[cli] script(1) not found: TTY progress not checked\n');
      return;
    }
    const cmd = `${process.execPath} ${path.join(root, 'test/cli/cli.js')} train exp.yaml --out run-tty --set trainer.maxSteps=4`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: tmp, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/train \[#+-*\] \d+% \| step [1-4]\/4 \| loss \d+\.\d+ \| \d+\.\d steps\/s \| ETA \S+/);
    expect(out).toMatch(/train \[#+\] 100% \| step 4\/4 \|/);
    expect(out).toContain('\x1b['); // redrawn in place
    expect(out).not.toMatch(/^step 2\/4 epoch/m); // no plain lines on a terminal
  });

  test('SIGINT / SIGTERM: finish the step, save, exit 130 / 143 with the resume line; resume finishes', async () => {
    let sent = false;
    const r = await cli(['train', 'exp.yaml', '--out', 'run-sig', '--set', 'trainer.maxSteps=400', '--set', 'trainer.logEvery=1'], {
      onStderr: (text, kill) => { if (!sent && /^step 3\//m.test(text)) { sent = true; kill('SIGINT'); } },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/mamba-speech: stopped by SIGINT after step (\d+); checkpoint saved to .*last\.safetensors\nresume with: mamba-speech resume run-sig\n$/);
    const stopped = Number(/after step (\d+)/.exec(r.stderr)![1]);
    let sent2 = false;
    const r2 = await cli(['resume', 'run-sig', '--set', 'trainer.logEvery=1'], {
      onStderr: (text, kill) => { if (!sent2 && new RegExp(`^step ${stopped + 2}/`, 'm').test(text)) { sent2 = true; kill('SIGTERM'); } },
    });
    expect(r2.stderr).toMatch(new RegExp(`resuming from step ${stopped} `));
    expect(r2.code).toBe(143);
    expect(r2.stderr).toMatch(/stopped by SIGTERM after step \d+/);
    const r3 = await cli(['resume', 'run-sig', '--set', `trainer.maxSteps=${stopped + 5}`, '--quiet']);
    expect({ code: r3.code, stdout: r3.stdout, stderr: r3.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
    const steps = fs.readFileSync(path.join(tmp, 'run-sig', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'train').map((x) => x.step);
    expect(steps).toEqual(Array.from({ length: stopped + 5 }, (_, i) => i + 1)); // one log, no gaps or repeats
  });

  test('bad config, bad usage: exit 2 with one line and a hint; --verbose adds the stack (in process)', async () => {
    fs.writeFileSync(path.join(tmp, 'bad.yaml'), CONFIG.replace('layers: 1', 'layers: "12a"'));
    const b = await inProcess(['train', path.join(tmp, 'bad.yaml')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toBe(`mamba-speech: [config] ${path.join(tmp, 'bad.yaml')}: model.encoder.layers: expected a positive integer, got "12a"\n` +
      'hint: fix the config file (configs/ has worked examples), or override with --set key=value\n');
    const s = await inProcess(['train', path.join(tmp, 'exp.yaml'), '--set', 'model.encoder.type=conbimama', '--verbose']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/^mamba-speech: \[config\] .*exp.yaml: model.encoder.type: expected one of .*got "conbimama"\nhint: .*\n\S*Error.*\n\s+at /);
    const u = await inProcess(['decode', 'run', '--beam', 'wide']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/--beam must be an integer >= 1/);
    const m = await inProcess(['eval', path.join(tmp, 'no-such-run')]);
    expect(m.code).toBe(2);
    expect(m.stderr).toBe(`mamba-speech: ${path.join(tmp, 'no-such-run')} does not exist\nhint: give a run folder (with checkpoints/) or a .safetensors checkpoint\n`);
    const n = await inProcess(['resume', path.join(tmp, 'run'), '--set', 'optimizer.lr=1']);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/only trainer\.\* settings can change when resuming/);
    const x = await inProcess(['frobnicate']);
    expect(x.code).toBe(2);
    expect(x.stderr).toMatch(/unknown command 'frobnicate'/);
    const h = await inProcess(['train', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Usage: mamba-speech train \[options\] <config>[\s\S]*--set <key=value>/);
  });

  test('corpus folder indexes audio + transcript into a manifest; a missing root is a usage error (in process)', async () => {
    const dir = path.join(tmp, 'folder');
    fs.mkdirSync(dir);
    const train = fs.readFileSync(path.join(tmp, 'corpus', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).slice(0, 3);
    for (const e of train) fs.copyFileSync(path.resolve(tmp, 'corpus', e.audio), path.join(dir, `${e.id}.wav`));
    fs.writeFileSync(path.join(dir, 'transcript.txt'), train.map((e) => `${e.id} ${e.text}`).join('\n') + '\n');
    const r = await inProcess(['corpus', 'folder', dir, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.count).toBe(3);
    const rows = fs.readFileSync(j.manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => [x.id, x.text])).toEqual(train.map((e) => [e.id, e.text]));
    const m = await inProcess(['corpus', 'librispeech']);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/^mamba-speech: corpus librispeech needs the corpus folder\nhint: mamba-speech corpus librispeech <root>/);
  });

  test('bench --json, then --baseline with a doctored figure: exit 1 naming it', async () => {
    const a = await cli(['bench', '--only', 'trainer_overhead', '--quick', '--json', 'base.json']);
    expect({ code: a.code, err: a.code === 0 ? '' : a.stderr }).toEqual({ code: 0, err: '' });
    expect(a.stderr).toMatch(/trainer overhead \((cpu|cuda)/); // the script's table is shown
    const base = JSON.parse(fs.readFileSync(path.join(tmp, 'base.json'), 'utf8'));
    expect(base.format).toBe('mamba-speech/bench');
    // The figures are named by the device the script ran on (the default device: cuda on a GPU machine).
    const key = Object.keys(base.figures).find((k) => /^trainer_overhead\.(cpu|cuda)\.fitSeconds$/.test(k));
    expect(key).toBeDefined();
    const dev = key!.split('.')[1];
    const fit = base.figures[key!];
    expect(fit).toEqual({ value: expect.any(Number), better: 'lower' });
    expect(base.figures[`trainer_overhead.${dev}.overheadRatio`].better).toBe('lower');
    // The baseline claims fit ran 1000x faster: the figure regressed by ~10^5 %, far beyond any
    // noise of a busy machine (the threshold, 500%, keeps the undoctored figures from tripping).
    base.figures[key!].value = fit.value / 1000;
    fs.writeFileSync(path.join(tmp, 'doctored.json'), JSON.stringify(base));
    const b = await cli(['bench', '--only', 'trainer_overhead', '--quick', '--baseline', 'doctored.json', '--threshold', '500%']);
    expect(b.code).toBe(1);
    expect(b.stdout).toContain(`REGRESSED ${key}: `);
    expect(b.stderr).toMatch(new RegExp(`^mamba-speech: bench: 1 figure regressed beyond 500\\.0%: ${key!.replace(/\./g, '\\.')} \\S+ -> \\S+ \\(\\+\\d+\\.\\d% worse\\)$`, 'm'));
    const c = await cli(['bench', '--baseline', 'exp.yaml']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--baseline exp.yaml: not JSON/);
  });
});
