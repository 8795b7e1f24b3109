/**
 * report.test.ts — report() on two runs (corrected with Y, paper protocol without, one layer
 * whose utterances were all skipped): both sections, one line per run in the plots, the paper
 * run left out of the I(T; Y) plot and the plane, non-finite values written as null / '–',
 * nothing half-written, clear errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analysis } from '../../lib';

const value = (nats: number, half: number) => ({ nats, ci: [nats - half, nats + half] as [number, number], perSeed: [nats - half / 2, nats + half / 2], ceiling: null });

function corrected(): analysis.LayerwiseMiResult {
  return {
    protocol: 'corrected', label: 'ConBiMamba',
    layers: [0, 1, 2].map((i) => ({
      index: i, name: i === 0 ? 'hs0 (input)' : `layer ${i}`, dim: 32, k: 16, explained: 0.9 - 0.1 * i,
      ixt: { ...value(3 - i, 0.1), ceiling: { nats: 5.545, kind: 'channel capacity k/2·ln(1+1/σ²)', all: {} }, calibration: { level: 2, truth: 2.01, nats: 1.9, ci: null, perSeed: [1.9], relError: -0.055 } },
      ity: { probe: { ...value(0.5 + 0.2 * i, 0.05), accuracy: 0.5 + 0.1 * i, chance: 0.3, entropy: 2.5 }, critic: value(0.6 + 0.2 * i, 0.07) },
    })),
    x: { kind: 'hs0 (encoder input)', dim: 32, k: 16, explained: 0.9 },
    y: { kind: 'phones (alignments)', classes: 30, names: null, labelled: 900, entropy: 2.6 },
    frames: { n: 900, utterances: 30, batches: 4, validFrames: 1500, candidates: 1200, subsampling: 2 },
    options: { noise: 1 }, seeds: [0, 1, 2],
    calibration: { dX: 32, dT: 32, n: 900, k: 16, sigma: 1, seconds: 3, points: [{ level: 2, truth: 2.01, nats: 1.9, ci: [1.8, 2.0], perSeed: [1.85, 1.95], relError: -0.055 }] },
    comparability: ['comparable across layers'], protocolText: ['Frames: ...'], timings: { ixt: 1.5, total: 2 },
  };
}

function paper(): analysis.LayerwiseMiResult {
  return {
    protocol: 'paper', label: 'ConBiMamba (paper protocol)',
    layers: [1, 2].map((i) => ({
      index: i, name: `layer ${i}`, dim: 32, k: 32, explained: 1, utterances: i === 2 ? 0 : 5, skipped: i === 2 ? 5 : 0,
      ixt: { nats: i === 2 ? NaN : 4.2, ci: null, perSeed: [i === 2 ? NaN : 4.2], perUtterance: i === 2 ? [] : [4, 4.4], ceiling: null, calibration: null },
    })),
    x: { kind: 'hs0, padding included', dim: 32, k: 32, explained: 1 }, y: null,
    frames: { n: 640, utterances: 5, batches: 1, validFrames: 600, candidates: 640, subsampling: 2 },
    options: {}, seeds: [0], calibration: null, comparability: ['not comparable'], protocolText: ['Paper protocol'], timings: { paper: 9, total: 9 },
  };
}

test('report: two runs, tables, plots with one line per run, NaN as null', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-mi-rep-'));
  const files = analysis.report([corrected(), paper()], { title: 'Two protocols', outDir: path.join(dir, 'out'), scale: 1 });
  const md = fs.readFileSync(files.md, 'utf8');
  expect(md).toContain('## ConBiMamba\n');
  expect(md).toContain('## ConBiMamba (paper protocol)\n');
  expect(md).toContain('| 1 | layer 1 | 32 | 16 (80.0%) | 2.000 | [1.900, 2.100] | 5.545 (channel capacity k/2·ln(1+1/σ²)) | true 2.010, read 1.900 (-5.5%) |');
  expect(md).toContain('| 2 | layer 2 | 0.900 | [0.850, 0.950] | 70.0% (30.0%) | 1.000 | [0.930, 1.070] |');
  expect(md).toContain('| 2 | layer 2 | – | – | 0 | 5 |');                    // every utterance skipped
  expect(md).toContain('| 2.000 | 2.010 | 1.900 | [1.800, 2.000] | -5.5% |');
  const json = JSON.parse(fs.readFileSync(files.json, 'utf8'));
  expect(json.labels).toEqual(['ConBiMamba', 'ConBiMamba (paper protocol)']);
  expect(json.runs[1].layers[1].ixt.nats).toBeNull();
  const ixt = fs.readFileSync(files.plots.ixt.svg, 'utf8');
  expect(ixt).toContain('>ConBiMamba</text>');
  expect(ixt).toContain('>ConBiMamba (paper protocol)</text>');
  expect(ixt).toContain('stroke-dasharray="6 3"');                        // the paper run dashed
  expect(ixt).toContain('I(X; T + σZ), σ = 1 (nats)');
  const ity = fs.readFileSync(files.plots.ity.svg, 'utf8');
  expect(ity).toContain('>ConBiMamba (probe)</text>');
  expect(ity).toContain('>ConBiMamba (critic)</text>');
  expect(ity).not.toContain('paper');
  expect(fs.readFileSync(files.plots.plane.svg, 'utf8')).not.toContain('paper');
  expect(fs.readdirSync(path.join(dir, 'out')).sort()).toEqual(['ity.png', 'ity.svg', 'ixt.png', 'ixt.svg', 'plane.png', 'plane.svg', 'report.json', 'report.md']);
  expect(() => analysis.report([], { title: 't', outDir: dir })).toThrow('[analysis.report] results must be layerwiseMi results');
  expect(() => analysis.report(paper(), { title: 't', outDir: '' })).toThrow('[analysis.report] options need { title, outDir }');
  expect(() => analysis.report(paper(), { title: 't', outDir: dir, labels: ['a', 'b'] })).toThrow('[analysis.report] labels has 2 names for 1 results');
  fs.rmSync(dir, { recursive: true, force: true });
});
