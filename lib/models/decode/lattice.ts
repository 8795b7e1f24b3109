/**
 * lattice.ts — the CTC lattice of one utterance on the host, in float64 log space: the forward
 * sum over all paths (log P(y | x)) and the Viterbi best path.
 *
 * Glossary (Graves et al. 2006):
 *   y (S)        target token ids, none equal to blank
 *   l' (2S+1)    y with a blank before, between and after every token: [-, y1, -, y2, ..., yS, -]
 *   state s      position in l'; even s = blank, odd s = token y_{(s-1)/2}
 *   moves        from s-1 or s to s always; from s-2 to s when l'_s is a token different from
 *                l'_{s-2} (a repeated token needs a blank between its copies)
 *   alpha[t][s]  log of the summed (forward) or best (Viterbi) probability of the path prefixes
 *                of frames 0..t that end in state s
 *   feasible     a path exists iff T >= S + (number of adjacent equal tokens in y)
 *
 * Rows are kept two at a time (O(S) memory); Viterbi keeps one byte of back-pointer per (t, s),
 * T·(2S+1) bytes (500 frames x 201 states = 100 kB). Scoring many targets at once goes column by
 * column (a state's values over all frames depend only on the tokens up to it), so targets that
 * share a prefix share its columns: the n-best of a beam search, which mostly differ in their
 * last tokens, cost little more than one of them.
 */

const NEG = -Infinity;

/** log(exp(a) + exp(b)) without overflow; exact -Infinity when both are -Infinity. A gap over
 *  40 nats returns the larger at once (e^-40 = 4e-18 is below float64's relative precision). */
export function logAddExp(a: number, b: number): number {
  if (a === NEG) return b;
  if (b === NEG) return a;
  const d = a - b;
  if (d > 40) return a;
  if (d < -40) return b;
  return d > 0 ? a + Math.log1p(Math.exp(-d)) : b + Math.log1p(Math.exp(d));
}

/** Frames a target needs: S plus one blank between each pair of adjacent equal tokens. */
export function minFrames(target: ArrayLike<number>): number {
  let n = target.length;
  for (let i = 1; i < target.length; ++i) if (target[i] === target[i - 1]) ++n;
  return n;
}

/**
 * log P(target | x) = log of the summed probability of every frame path that collapses to
 * `target`, for one utterance of T frames whose row t starts at off + t·V in `lp`. -Infinity when
 * no path exists (T too short). Float64 accumulation; O(T·S).
 */
export function ctcLogProbAt(lp: ArrayLike<number>, off: number, T: number, V: number, target: ArrayLike<number>, blank: number): number {
  const S = target.length;
  if (T === 0) return S === 0 ? 0 : NEG;
  if (minFrames(target) > T) return NEG;
  const N = 2 * S + 1;
  let prev = new Float64Array(N).fill(NEG);
  let cur = new Float64Array(N).fill(NEG);
  prev[0] = lp[off + blank];
  if (S > 0) prev[1] = lp[off + target[0]];
  for (let t = 1; t < T; ++t) {
    const row = off + t * V;
    // A path at frame t is at most in state 2t + 1: later states stay -Infinity.
    const sHi = Math.min(N - 1, 2 * t + 1);
    for (let s = 0; s <= sHi; ++s) {
      const label = (s & 1) === 0 ? blank : target[(s - 1) >> 1];
      let a = prev[s];
      if (s >= 1) a = logAddExp(a, prev[s - 1]);
      if (s >= 2 && (s & 1) === 1 && label !== target[(s - 3) >> 1]) a = logAddExp(a, prev[s - 2]);
      cur[s] = a === NEG ? NEG : a + lp[row + label];
    }
    for (let s = sHi + 1; s < N; ++s) cur[s] = NEG;
    const tmp = prev;
    prev = cur;
    cur = tmp;
  }
  return S === 0 ? prev[0] : logAddExp(prev[N - 1], prev[N - 2]);
}

/** The best path of one utterance: its frame labels (T) and its log-probability. */
export interface ViterbiPath {
  frames: Int32Array;
  score: number;
}

/**
 * Viterbi over the CTC lattice of one utterance (rows at off + t·V): the single frame path
 * with the highest probability among those that collapse to `target`, or null when none exists.
 * Ties prefer staying in a state, then the move from s-1, then the skip from s-2, and at the end
 * the final blank over the final token (deterministic for equal log-probabilities).
 */
export function viterbiAt(lp: ArrayLike<number>, off: number, T: number, V: number, target: ArrayLike<number>, blank: number): ViterbiPath | null {
  const S = target.length;
  if (minFrames(target) > T) return null;
  if (T === 0) return { frames: new Int32Array(0), score: 0 };
  const N = 2 * S + 1;
  const back = new Uint8Array(T * N); // 0 stay, 1 from s-1, 2 from s-2
  let prev = new Float64Array(N).fill(NEG);
  let cur = new Float64Array(N).fill(NEG);
  prev[0] = lp[off + blank];
  if (S > 0) prev[1] = lp[off + target[0]];
  for (let t = 1; t < T; ++t) {
    const row = off + t * V;
    const sHi = Math.min(N - 1, 2 * t + 1);
    for (let s = 0; s <= sHi; ++s) {
      const label = (s & 1) === 0 ? blank : target[(s - 1) >> 1];
      let best = prev[s];
      let from = 0;
      if (s >= 1 && prev[s - 1] > best) {
        best = prev[s - 1];
        from = 1;
      }
      if (s >= 2 && (s & 1) === 1 && label !== target[(s - 3) >> 1] && prev[s - 2] > best) {
        best = prev[s - 2];
        from = 2;
      }
      cur[s] = best === NEG ? NEG : best + lp[row + label];
      back[t * N + s] = from;
    }
    for (let s = sHi + 1; s < N; ++s) cur[s] = NEG;
    const tmp = prev;
    prev = cur;
    cur = tmp;
  }
  let s = N - 1;
  if (S > 0 && prev[N - 2] > prev[N - 1]) s = N - 2;
  const score = prev[s];
  if (score === NEG) return null; // every path passes a frame whose needed class has probability 0
  const frames = new Int32Array(T);
  for (let t = T - 1; t >= 0; --t) {
    frames[t] = (s & 1) === 0 ? blank : target[(s - 1) >> 1];
    s -= back[t * N + s];
  }
  return { frames, score };
}

/**
 * log P(y | x) for several targets of one utterance (rows at off + t·V), the same values as
 * ctcLogProbAt. Targets are visited in lexicographic order and each reuses the lattice columns of
 * the longest prefix it shares with the one before (O(T·(2S+1)) float64 of memory for the longest).
 */
export function ctcLogProbsShared(lp: ArrayLike<number>, off: number, T: number, V: number, targets: ReadonlyArray<ArrayLike<number>>, blank: number): number[] {
  const out = new Array<number>(targets.length).fill(NEG);
  if (T === 0) {
    targets.forEach((y, i) => (out[i] = y.length === 0 ? 0 : NEG));
    return out;
  }
  const order = targets.map((_, i) => i).sort((i, j) => lexCompare(targets[i], targets[j]));
  let maxS = 0;
  for (const y of targets) maxS = Math.max(maxS, y.length);
  const cols = new Float64Array((2 * maxS + 1) * T); // column s = states' alpha over frames 0..T-1
  let prev: ArrayLike<number> = [];
  let valid = 0; // columns 0..valid-1 hold alpha of the prefix shared with `prev`
  for (const i of order) {
    const y = targets[i];
    const S = y.length;
    let lcp = 0;
    while (lcp < Math.min(S, prev.length) && y[lcp] === prev[lcp]) ++lcp;
    // Columns 0..2·lcp depend only on y[0..lcp-1], which the previous target had too.
    let s = Math.min(valid, 2 * lcp + 1);
    for (; s <= 2 * S; ++s) column(lp, off, T, V, y, blank, cols, s);
    valid = 2 * S + 1;
    prev = y;
    if (minFrames(y) > T) continue;
    out[i] = S === 0 ? cols[T - 1] : logAddExp(cols[(2 * S) * T + T - 1], cols[(2 * S - 1) * T + T - 1]);
  }
  return out;
}

/** Fills column s (alpha[·][s] over every frame) from columns s-1 and s-2. */
function column(lp: ArrayLike<number>, off: number, T: number, V: number, y: ArrayLike<number>, blank: number, cols: Float64Array, s: number): void {
  const label = (s & 1) === 0 ? blank : y[(s - 1) >> 1];
  const skip = (s & 1) === 1 && s >= 3 && label !== y[(s - 3) >> 1];
  const c = s * T;
  // A path at frame t is at most in state 2t + 1: frames before (s - 1) / 2 stay -Infinity.
  const t0 = s >> 1;
  for (let t = 0; t < Math.min(t0, T); ++t) cols[c + t] = NEG;
  if (t0 === 0) cols[c] = lp[off + label];
  for (let t = Math.max(t0, 1); t < T; ++t) {
    // log-sum-exp of the (up to) three predecessors with one log1p: m + log1p(e^(o1-m) + e^(o2-m)).
    const a0 = cols[c + t - 1];
    const a1 = s >= 1 ? cols[c - T + t - 1] : NEG;
    const a2 = skip ? cols[c - 2 * T + t - 1] : NEG;
    let m = a0, o1 = a1, o2 = a2;
    if (a1 > m && a1 >= a2) {
      m = a1;
      o1 = a0;
    } else if (a2 > m) {
      m = a2;
      o2 = a0;
    }
    cols[c + t] = m === NEG ? NEG : m + Math.log1p(Math.exp(o1 - m) + Math.exp(o2 - m)) + lp[off + t * V + label];
  }
}

function lexCompare(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ++i) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
