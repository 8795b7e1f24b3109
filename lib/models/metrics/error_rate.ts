/**
 * error_rate.ts — word / character / phone / token error rates from a Levenshtein alignment of
 * each reference with its hypothesis, with per-utterance alignments for inspection.
 *
 * Glossary:
 *   N (refLength)  reference tokens, summed over utterances
 *   S, D, I, H     substitutions, deletions (ref token missing), insertions (extra hyp token), hits
 *   rate           (S + D + I) / N over the whole corpus — the corpus-level figure of sclite and
 *                  jiwer: utterances weigh by their length, it is not the mean of per-utterance
 *                  rates; it can exceed 1 (insertions)
 *   units          'word': split on whitespace; 'char': Unicode code points after trimming and
 *                  turning each whitespace run into one space (spaces count as characters, as in
 *                  jiwer's cer); 'phone' / 'token': whitespace-separated symbols. An utterance given
 *                  as an array is taken as already split, under any unit
 *   ties           the alignment minimises S + D + I; among those it takes the most substitutions
 *                  (fewest D + I — equivalently, for a fixed S + D + I, the fewest insertions and
 *                  deletions), the split python-Levenshtein / jiwer usually report (sclite's 4/3/3
 *                  weights may favour D + I instead; the totals agree); the remaining ties go to the
 *                  path that, read from the end, takes a match, then a substitution, then a
 *                  deletion, then an insertion
 *   empty refs     an utterance with no reference token has rate 0 when its hypothesis is empty,
 *                  +Infinity otherwise; the same rule holds for a corpus whose N is 0 (jiwer raises)
 *
 * The alignment keeps a (|ref|+1)·(|hyp|+1) Int32 cost table per utterance: 1000 x 1000 characters
 * is 4 MB.
 */

export type ErrorUnit = 'word' | 'char' | 'phone' | 'token';
/** A unit of comparison: a word, a character, a phone symbol or a token id. */
export type TranscriptToken = string | number;
/** One utterance: a string (split by the unit) or an already split token array. */
export type Transcript = string | ReadonlyArray<TranscriptToken>;

/** Options of errorRate. */
export interface ErrorRateOptions {
  /** How strings are split (default 'word'; see the glossary). */
  unit?: ErrorUnit;
  /** Applied to every string before splitting, e.g. `(s) => s.toLowerCase()`. */
  transform?: (s: string) => string;
}

/** One step of an alignment: a hit, a substitution, a deletion (ref only) or an insertion (hyp only). */
export interface AlignStep {
  op: 'ok' | 'sub' | 'del' | 'ins';
  ref?: TranscriptToken;
  hyp?: TranscriptToken;
}

/** The alignment of one utterance and its counts; `rate` = (S + D + I) / |ref| (see empty refs). */
export interface UtteranceErrors {
  ref: TranscriptToken[];
  hyp: TranscriptToken[];
  substitutions: number;
  deletions: number;
  insertions: number;
  hits: number;
  rate: number;
  alignment: AlignStep[];
}

/** Corpus totals (rate = (S + D + I) / refLength) and every utterance's alignment. */
export interface ErrorRateResult {
  rate: number;
  substitutions: number;
  deletions: number;
  insertions: number;
  hits: number;
  refLength: number;
  numUtterances: number;
  utterances: UtteranceErrors[];
}

const UNITS: readonly ErrorUnit[] = ['word', 'char', 'phone', 'token'];

/**
 * Error rate of hypotheses against references: `refs` and `hyps` are one transcript each (a
 * string) or equally long lists of transcripts (strings or token arrays). Returns the corpus-level
 * rate (S + D + I) / N with its counts and the per-utterance alignments. Throws `[errorRate] ...`
 * on a count mismatch, an unknown unit or a transcript that is neither a string nor an array.
 */
export function errorRate(refs: Transcript | ReadonlyArray<Transcript>, hyps: Transcript | ReadonlyArray<Transcript>, opts: ErrorRateOptions = {}): ErrorRateResult {
  const op = 'errorRate';
  const unit = opts.unit ?? 'word';
  if (!UNITS.includes(unit)) throw new Error(`[${op}] unit must be one of ${UNITS.join(', ')}, got ${JSON.stringify(unit)}`);
  if (opts.transform !== undefined && typeof opts.transform !== 'function') throw new Error(`[${op}] transform must be a function (string) => string`);
  const R = asList(op, 'refs', refs);
  const Hs = asList(op, 'hyps', hyps);
  if (R.length !== Hs.length) throw new Error(`[${op}] refs and hyps must have the same number of utterances, got ${R.length} and ${Hs.length}`);
  const res: ErrorRateResult = { rate: 0, substitutions: 0, deletions: 0, insertions: 0, hits: 0, refLength: 0, numUtterances: R.length, utterances: [] };
  for (let i = 0; i < R.length; ++i) {
    const u = alignTokens(split(op, `refs[${i}]`, R[i], unit, opts.transform), split(op, `hyps[${i}]`, Hs[i], unit, opts.transform));
    res.utterances.push(u);
    res.substitutions += u.substitutions;
    res.deletions += u.deletions;
    res.insertions += u.insertions;
    res.hits += u.hits;
    res.refLength += u.ref.length;
  }
  res.rate = ratio(res.substitutions + res.deletions + res.insertions, res.refLength);
  return res;
}

/**
 * Splits a transcript into tokens by `unit` (see the glossary); an array is returned as a copy.
 * `splitTranscript('a  b', 'char')` = ['a', ' ', 'b'].
 */
export function splitTranscript(text: Transcript, unit: ErrorUnit = 'word'): TranscriptToken[] {
  if (!UNITS.includes(unit)) throw new Error(`[splitTranscript] unit must be one of ${UNITS.join(', ')}, got ${JSON.stringify(unit)}`);
  return split('splitTranscript', 'text', text, unit, undefined);
}

/**
 * Levenshtein alignment of two token sequences (tie rule in the glossary): counts, rate and the
 * step-by-step alignment from the first token to the last. Tokens compare with ===.
 */
export function alignTokens(ref: ReadonlyArray<TranscriptToken>, hyp: ReadonlyArray<TranscriptToken>): UtteranceErrors {
  const n = ref.length;
  const m = hyp.length;
  // Lexicographic cost (edits, then D + I) as one integer: a substitution costs BIG, an insertion
  // or deletion BIG + 1, with BIG larger than any possible count of D + I (n + m).
  const BIG = n + m + 1;
  if ((n + m) * (BIG + 1) > 0x7fffffff) throw new Error(`[alignTokens] sequences of ${n} and ${m} tokens are too long to align (n + m must stay below 46000)`);
  const W = m + 1;
  const D = new Int32Array((n + 1) * W);
  for (let j = 1; j <= m; ++j) D[j] = j * (BIG + 1);
  for (let i = 1; i <= n; ++i) {
    const r = ref[i - 1];
    const row = i * W;
    D[row] = i * (BIG + 1);
    for (let j = 1; j <= m; ++j) {
      const diag = D[row - W + j - 1] + (r === hyp[j - 1] ? 0 : BIG);
      const del = D[row - W + j] + BIG + 1;
      const ins = D[row + j - 1] + BIG + 1;
      D[row + j] = Math.min(diag, del, ins);
    }
  }
  const steps: AlignStep[] = [];
  let S = 0, Dl = 0, I = 0, H = 0;
  let i = n, j = m;
  while (i > 0 || j > 0) {
    const cur = D[i * W + j];
    if (i > 0 && j > 0 && ref[i - 1] === hyp[j - 1] && cur === D[(i - 1) * W + j - 1]) {
      steps.push({ op: 'ok', ref: ref[i - 1], hyp: hyp[j - 1] });
      ++H; --i; --j;
    } else if (i > 0 && j > 0 && cur === D[(i - 1) * W + j - 1] + BIG) {
      steps.push({ op: 'sub', ref: ref[i - 1], hyp: hyp[j - 1] });
      ++S; --i; --j;
    } else if (i > 0 && cur === D[(i - 1) * W + j] + BIG + 1) {
      steps.push({ op: 'del', ref: ref[i - 1] });
      ++Dl; --i;
    } else {
      steps.push({ op: 'ins', hyp: hyp[j - 1] });
      ++I; --j;
    }
  }
  steps.reverse();
  return {
    ref: ref.slice(), hyp: hyp.slice(), substitutions: S, deletions: Dl, insertions: I, hits: H,
    rate: ratio(S + Dl + I, n), alignment: steps,
  };
}

/** Options of formatAlignment. */
export interface FormatAlignmentOptions {
  /** Wrap into blocks of at most this many characters per line (default: one block). */
  lineWidth?: number;
}

/**
 * The alignment of one utterance as aligned text, sclite style: a REF line ('*' fills an
 * insertion), a HYP line ('*' fills a deletion) and an EVAL line marking S, D and I under each
 * column (a space token shows as '␣'):
 *
 *     REF:  the cat ** sat
 *     HYP:  the bat on sat
 *     EVAL:     S   I
 */
export function formatAlignment(utt: Pick<UtteranceErrors, 'alignment'>, opts: FormatAlignmentOptions = {}): string {
  if (!utt || !Array.isArray(utt.alignment)) throw new Error('[formatAlignment] expected an utterance result with an alignment (errorRate(...).utterances[i])');
  const lineWidth = opts.lineWidth ?? Infinity;
  if (!(lineWidth >= 12)) throw new Error(`[formatAlignment] lineWidth must be >= 12, got ${lineWidth}`);
  const show = (t: TranscriptToken | undefined): string => (t === undefined ? '' : t === ' ' ? '␣' : String(t));
  const mark: Record<AlignStep['op'], string> = { ok: '', sub: 'S', del: 'D', ins: 'I' };
  const blocks: string[] = [];
  let ref = 'REF: ', hyp = 'HYP: ', ev = 'EVAL:';
  const flush = (): void => {
    blocks.push([ref, hyp, ev].map((l) => l.trimEnd()).join('\n'));
    ref = 'REF: ';
    hyp = 'HYP: ';
    ev = 'EVAL:';
  };
  for (const st of utt.alignment) {
    const r = show(st.ref);
    const h = show(st.hyp);
    const w = Math.max(cpLen(r), cpLen(h), 1);
    if (cpLen(ref) > 5 && cpLen(ref) + 1 + w > lineWidth) flush();
    ref += ' ' + (st.op === 'ins' ? '*'.repeat(w) : pad(r, w));
    hyp += ' ' + (st.op === 'del' ? '*'.repeat(w) : pad(h, w));
    ev += ' ' + pad(mark[st.op], w);
  }
  flush();
  return blocks.join('\n\n');
}

function cpLen(s: string): number {
  let n = 0;
  for (const _ of s) ++n;
  return n;
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(w - cpLen(s));
}

function ratio(edits: number, n: number): number {
  if (n > 0) return edits / n;
  return edits === 0 ? 0 : Infinity;
}

function asList(op: string, what: string, x: Transcript | ReadonlyArray<Transcript>): ReadonlyArray<Transcript> {
  if (typeof x === 'string') return [x];
  if (!Array.isArray(x)) throw new Error(`[${op}] ${what} must be a string or an array of transcripts, got ${x === null ? 'null' : typeof x}`);
  return x as ReadonlyArray<Transcript>;
}

function split(op: string, what: string, x: Transcript, unit: ErrorUnit, transform: ((s: string) => string) | undefined): TranscriptToken[] {
  if (Array.isArray(x)) {
    x.forEach((t: unknown, k: number) => {
      if (typeof t !== 'string' && typeof t !== 'number') throw new Error(`[${op}] ${what}[${k}] must be a string or number token, got ${t === null ? 'null' : typeof t}`);
    });
    return (x as TranscriptToken[]).slice();
  }
  if (typeof x !== 'string') throw new Error(`[${op}] ${what} must be a string or an array of tokens, got ${x === null ? 'null' : typeof x}`);
  let s = transform ? transform(x) : x;
  if (typeof s !== 'string') throw new Error(`[${op}] transform must return a string, got ${typeof s} for ${what}`);
  s = s.trim();
  if (s === '') return [];
  if (unit === 'char') return [...s.replace(/\s+/g, ' ')];
  return s.split(/\s+/);
}

/** The error rates a CTC model reports for token-id references and hypotheses: cer and wer for a
 *  'char' tokenizer (ids decoded to text), per for a 'phone' tokenizer, ter without one. */
export function ctcErrorRates(refs: number[][], hyps: number[][], tokenizer: { kind: string; decode(ids: ArrayLike<number>): string } | null): Record<string, number> {
  if (tokenizer?.kind === 'char') {
    const rt = refs.map((r) => tokenizer.decode(r)), ht = hyps.map((h) => tokenizer.decode(h));
    return { cer: errorRate(rt, ht, { unit: 'char' }).rate, wer: errorRate(rt, ht, { unit: 'word' }).rate };
  }
  return { [tokenizer?.kind === 'phone' ? 'per' : 'ter']: errorRate(refs, hyps, { unit: 'token' }).rate };
}
