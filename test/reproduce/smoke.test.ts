/**
 * The main job end to end through the command line (child processes, as a user runs it):
 * `reproduce --preset smoke` writes a report whose every number is finite and comes from this
 * run's own files; a run SIGKILLed during stage 3 resumes without redoing stages 1–2 and ends with
 * the same report (timings aside) as the uninterrupted run; bad options exit 2 before any work.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Each smoke run is ~90 s of CPU time on the 2-core machine (14 small models + their MI); under a
// loaded CI worker a run can take several times that in wall time.
jest.setTimeout(900_000);

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-repro-'));
const children = new Set<ReturnType<typeof spawn>>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Out { code: number | null; signal: string | null; stdout: string; stderr: string }

function cli(args: string[], onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(root, 'test/cli/cli.js'), ...args], {
      cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAMBA_SPEECH_DEVICE: 'cpu' },
    });
    children.add(c);
    let stdout = '', stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, (s) => c.kill(s));
    });
    c.on('exit', (code, signal) => {
      children.delete(c);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Drops what legitimately differs between two runs of the same work: wall times and dates. */
function withoutTimings(j: Json): Json {
  if (Array.isArray(j)) return j.map(withoutTimings);
  if (j && typeof j === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(j)) {
      if (/seconds|Seconds|startedAt|finishedAt|timings|elapsed|^dir$|^weights$|^out$|^svg$|^png$|^corpusDir$|^featureDir$/.test(k)) continue;
      out[k] = withoutTimings(v);
    }
    return out;
  }
  return j;
}

function numbers(j: Json, at = '$', out: Array<[string, number | null]> = []): Array<[string, number | null]> {
  if (typeof j === 'number') out.push([at, j]);
  else if (Array.isArray(j)) j.forEach((v, i) => numbers(v, `${at}[${i}]`, out));
  else if (j && typeof j === 'object') for (const [k, v] of Object.entries(j)) numbers(v, `${at}.${k}`, out);
  return out;
}

describe('reproduce --preset smoke', () => {
  const full = path.join(tmp, 'full');

  test('runs end to end: report.md, report.json, plots; every number finite and from this run', async () => {
    const r = await cli(['reproduce', '--preset', 'smoke', '--out', full]);
    expect({ code: r.code, tail: r.stderr.slice(-2000) }).toEqual({ code: 0, tail: expect.any(String) });
    expect(r.stderr).toMatch(/^\[1\/6\] corpus/m);
    expect(r.stderr).toMatch(/^\[6\/6\] report/m);
    expect(r.stdout).toMatch(/Report: .*report\.md/);
    const md = fs.readFileSync(path.join(full, 'report.md'), 'utf8');
    for (const h of ['## Verdict', '## Task results', '## Layer-wise mutual information']) expect(md).toContain(h);
    for (const p of ['mi-ixt', 'mi-ity', 'plane']) {
      const png = fs.readFileSync(path.join(full, `${p}.png`));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.length).toBeGreaterThan(5000);
      expect(md).toContain(`(${p}.png)`);
    }
    const rep = JSON.parse(fs.readFileSync(path.join(full, 'report.json'), 'utf8'));
    // JSON has no NaN/Infinity: a non-finite number would have become null. The measured values must not be null.
    for (const r0 of rep.results) {
      expect(Object.values(r0.test).every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
      expect(r0.perUtterance.values.length).toBe(rep.corpus.counts.test);
      // From this run: the result equals the model folder's own result.json, whose test metrics
      // match a corpus value recomputed from its per-utterance values.
      const own = JSON.parse(fs.readFileSync(path.join(r0.dir, 'result.json'), 'utf8'));
      expect(own.test).toEqual(r0.test);
      expect(fs.existsSync(r0.weights)).toBe(true);
      const { values, weights } = r0.perUtterance as { values: number[]; weights: number[] };
      const corpus = values.reduce((a, v, i) => a + v * weights[i], 0) / weights.reduce((a, w) => a + w, 0);
      const key = r0.task === 'ctc' ? 'per' : 'maskedL1';
      expect(Math.abs(corpus - r0.test[key])).toBeLessThan(1e-6 * Math.max(1, Math.abs(corpus)));
    }
    expect(rep.results.length).toBe(14);
    expect(rep.mi.length).toBe(14);
    for (const m of rep.mi) {
      const own = JSON.parse(fs.readFileSync(path.join(full, '5-analysis', `${m.model}.mi.json`), 'utf8'));
      expect(own.corrected.layers.map((l: { ixt: { nats: number } }) => l.ixt.nats)).toEqual(m.corrected.layers.map((l: { ixt: { nats: number } }) => l.ixt.nats));
      for (const l of m.corrected.layers) expect(Number.isFinite(l.ixt.nats)).toBe(true);
    }
    for (const v of rep.verdict) {
      expect(['supported', 'not supported', 'inconclusive', 'not measured']).toContain(v.decision);
      if (v.difference) for (const k of ['mean', 'lo', 'hi']) expect(Number.isFinite(v.difference[k])).toBe(true);
      expect(md).toContain(`| ${v.id} |`);
    }
    const nulls = numbers(withoutTimings(rep)).filter(([, v]) => v === null || !Number.isFinite(v as number));
    expect(nulls).toEqual([]);
  });

  test('killed during stage 3, it resumes without redoing stages 1–2 and gives the same report', async () => {
    const part = path.join(tmp, 'part');
    let killed = false;
    const first = await cli(['reproduce', '--preset', 'smoke', '--out', part], (text, kill) => {
      // Kill once the second CTC model is training: stage 3 is half done, one model finished.
      if (!killed && /training ctc-mamba-s0/.test(text)) {
        killed = true;
        setTimeout(() => kill('SIGKILL'), 300);
      }
    });
    expect(first.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(part, '3-classification', 'done.json'))).toBe(false);
    const corpusDone = fs.statSync(path.join(part, '1-corpus', 'done.json')).mtimeMs;
    const second = await cli(['reproduce', '--preset', 'smoke', '--out', part, '--resume']);
    expect({ code: second.code, tail: second.stderr.slice(-1500) }).toEqual({ code: 0, tail: expect.any(String) });
    expect(second.stderr).toMatch(/\[1\/6\] corpus \(finished earlier: reused\)/);
    expect(second.stderr).toMatch(/\[2\/6\] reconstruction \(finished earlier: reused\)/);
    expect(second.stderr).not.toMatch(/training ctc-transformer-s0/);
    expect(second.stderr).toMatch(/ctc-transformer-s0 \(\d+\/14\) finished earlier: reused/);
    expect(fs.statSync(path.join(part, '1-corpus', 'done.json')).mtimeMs).toBe(corpusDone);
    const a = withoutTimings(JSON.parse(fs.readFileSync(path.join(full, 'report.json'), 'utf8')));
    const b = withoutTimings(JSON.parse(fs.readFileSync(path.join(part, 'report.json'), 'utf8')));
    expect(b).toEqual(a);
  });

  test('bad options exit 2 before any work; --resume of a missing run says how to start one', async () => {
    const bad = await cli(['reproduce', '--preset', 'huge']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--preset must be one of smoke, tiny, small, paper/);
    const none = await cli(['reproduce', '--preset', 'smoke', '--out', path.join(tmp, 'nothing'), '--resume']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/holds no run/);
    const paper = await cli(['reproduce', '--preset', 'paper', '--out', path.join(tmp, 'paper')]);
    expect(paper.code).not.toBe(0);
    expect(paper.stderr).toMatch(/--data-root/);
    expect(fs.existsSync(path.join(tmp, 'paper', '1-corpus'))).toBe(false);
  });
});
