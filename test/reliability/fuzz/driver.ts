/**
 * driver.ts — runs one fuzz target in this (child) process and prints a JSON summary as its last
 * line. Each case i draws from its own stream deriveSeed(seed, target, i), so one case replays
 * alone: MAMBA_SPEECH_FUZZ_CASE=i. Before each case the index goes to stderr when
 * MAMBA_SPEECH_FUZZ_TRACE=1, to find the input of a hang or a crash.
 *
 * Glossary: outcome = 'ok' (accepted) or the message of the Error it threw; a bad outcome is a
 * thrown non-Error, an Error whose message does not start with the expected prefix, or a broken
 * invariant the target checks itself (nothing leaked, nothing half-written).
 */
import { deriveSeed, Rng } from '../../../lib/data/rng';

/** One fuzz target: `run` feeds case i (drawing from `rng`) to the code under test. */
export interface FuzzTarget {
  /** Expected start of every error message of case inputs (e.g. '[decodeWav] fuzz.wav: '). */
  prefix: string | RegExp;
  /** Set-up once per process (e.g. seed inputs); may be async. */
  setup?: () => Promise<void> | void;
  /** Runs case i; resolves with an invariant violation message, or null when all is well. */
  run: (rng: Rng, i: number) => Promise<string | null> | string | null;
}

export interface FuzzSummary {
  target: string;
  seed: number;
  cases: number;
  accepted: number;
  errors: number;
  /** Up to 10 bad outcomes: [case, what]. */
  bad: [number, string][];
  badCount: number;
  ms: number;
}

function startsWith(msg: string, prefix: string | RegExp): boolean {
  return typeof prefix === 'string' ? msg.startsWith(prefix) : prefix.test(msg);
}

/** Runs `n` cases of `target` (module ./<target>) from `seed`; prints and returns the summary. */
export async function main(name: string, seed: number, n: number): Promise<FuzzSummary> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const target = (require(`./${name}`) as { target: FuzzTarget }).target;
  await target.setup?.();
  const only = process.env.MAMBA_SPEECH_FUZZ_CASE;
  const trace = process.env.MAMBA_SPEECH_FUZZ_TRACE === '1';
  const s: FuzzSummary = { target: name, seed, cases: 0, accepted: 0, errors: 0, bad: [], badCount: 0, ms: 0 };
  const t0 = Date.now();
  const note = (i: number, what: string): void => {
    s.badCount++;
    if (s.bad.length < (process.env.MAMBA_SPEECH_FUZZ_ALL === "1" ? 1e9 : 10)) s.bad.push([i, what.slice(0, 400)]);
  };
  for (let i = only !== undefined ? Number(only) : 0; i < (only !== undefined ? Number(only) + 1 : n); ++i) {
    if (trace) process.stderr.write(`case ${i}\n`);
    const rng = new Rng(deriveSeed(seed, name, i));
    s.cases++;
    try {
      const broken = await target.run(rng, i);
      s.accepted++;
      if (broken) note(i, `invariant: ${broken}`);
    } catch (e) {
      s.errors++;
      if (!(e instanceof Error)) note(i, `threw a non-Error: ${String(e)}`);
      else if (!startsWith(e.message, target.prefix)) note(i, `${e.constructor.name}: ${e.message}`);
      else if (e.message.includes('[object Object]') || /\bundefined\b/.test(e.message.slice(0, 80)) && !/got undefined/.test(e.message)) {
        note(i, `unhelpful message: ${e.message}`);
      }
    }
  }
  s.ms = Date.now() - t0;
  console.log(JSON.stringify(s));
  return s;
}
