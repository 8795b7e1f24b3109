/**
 * beam_search.ts — CTC prefix beam search (Hannun et al. 2014, "First-pass large vocabulary
 * continuous speech recognition using bi-directional recurrent DNNs", Algorithm 1) in log space,
 * with optional shallow fusion of a token language model.
 *
 * Glossary:
 *   prefix l        a collapsed label sequence; prefixes live in a trie (node = parent + token), so
 *                   extending or comparing one costs O(1) and no prefix is ever copied
 *   pB(l), pNB(l)   log-probability of the frame paths so far that collapse to l and end in a blank
 *                   / in l's last token; they are kept apart because a repeated token only extends
 *                   l after a blank (l + c with c = last(l) takes pB only; pNB·y_c stays in l)
 *   acoustic        log P(l | x) = log(e^pB + e^pNB): tracked during the search, recomputed
 *                   exactly for the final hypotheses (CTC forward over every path, lattice.ts)
 *   lm              Σ log P_lm(token_i | token_<i) (+ log P_lm(</s> | l) at the end with lmEos)
 *   score           acoustic + lmWeight·lm + insertionBonus·|l|: the ranking used to prune and sort
 *   greedy anchor   with keepGreedy (default), the prefix of the best path (argmax per frame)
 *                   never leaves the beam: it takes the last slot when it is not in the top
 *                   beamWidth. So width 1 is exactly greedy decoding, and because final scores
 *                   are exact, the best hypothesis never scores below the greedy one. (Plain
 *                   prefix beam search with width 1 is not greedy: a frame whose argmax is a new
 *                   token c can still keep l when y_blank + y_last > y_c.)
 *   tokenPrune      per frame, only the topK tokens and/or those with log-prob >= minLogProb are
 *                   tried as extensions (the frame's argmax always is); staying in l via the blank
 *                   or a repeat is always scored
 *
 * Cost per frame: beamWidth · (tokens tried) trie look-ups plus a top-beamWidth selection; the
 * trie only receives nodes for surviving prefixes (<= beamWidth per frame), so memory is
 * O(T·beamWidth) nodes. The final rescoring costs O(T·|l|) per hypothesis.
 */
import type { Lengths } from '../../ops/selective_scan';
import { greedyPath } from './greedy';
import { checkBlank, LogProbsInput, readLogProbs } from './input';
import { ctcLogProbsShared, logAddExp } from './lattice';
import type { TokenLM } from './ngram';

/** Per-frame limits on the tokens tried as extensions. */
export interface TokenPrune {
  /** Try at most this many tokens per frame (the highest log-probabilities). */
  topK?: number;
  /** Try only tokens with log-probability >= this (e.g. -8). */
  minLogProb?: number;
}

/** Options of beamSearch. */
export interface BeamSearchOptions {
  /** Prefixes kept per frame (default 8). */
  beamWidth?: number;
  /** Index of the blank class (default 0). */
  blank?: number;
  /** A token language model for shallow fusion (e.g. NgramLM), or null (default). */
  lm?: TokenLM | null;
  /** Weight of the LM log-probability in the score (default 0.5; ignored without lm). */
  lmWeight?: number;
  /** Added to the score per emitted token (default 0). */
  insertionBonus?: number;
  /** Add log P_lm(</s> | l) to finished hypotheses when the LM has scoreEnd (default true). */
  lmEos?: boolean;
  /** Per-frame token pruning (default: every token is tried). */
  tokenPrune?: TokenPrune;
  /** Hypotheses returned per utterance, best first, at most beamWidth (default 1). */
  nBest?: number;
  /** Keep the greedy path's prefix in the beam (see the glossary; default true). */
  keepGreedy?: boolean;
}

/** One decoded hypothesis: token ids and its score = acoustic + lmWeight·lm + insertionBonus·|tokens|. */
export interface Hypothesis {
  tokens: number[];
  score: number;
  acoustic: number;
  lm: number;
}

const NEG = -Infinity;

/**
 * CTC prefix beam search over logProbs (B, T, V) — or (T, V) as one utterance — within the first
 * lengths[b] frames of each utterance. `logProbs` must be log-probabilities (log-softmax output)
 * for the scores to mean log P. Returns per utterance the `nBest` hypotheses, best score first,
 * with exact acoustic scores. A Tensor input is read once.
 */
export function beamSearch(logProbs: LogProbsInput, lengths?: Lengths, opts: BeamSearchOptions = {}): Hypothesis[][] {
  const op = 'beamSearch';
  const v = readLogProbs(op, logProbs, lengths, true);
  const o = checkOptions(op, opts, v.V);
  const out: Hypothesis[][] = [];
  for (let b = 0; b < v.B; ++b) out.push(searchOne(op, v.data, b * v.T * v.V, v.lengths[b], v.V, o, b));
  return out;
}

interface Resolved {
  beamWidth: number;
  blank: number;
  lm: TokenLM | null;
  lmWeight: number;
  bonus: number;
  lmEos: boolean;
  topK: number;
  minLogProb: number;
  nBest: number;
  keepGreedy: boolean;
}

function checkOptions(op: string, opts: BeamSearchOptions, V: number): Resolved {
  if (opts === null || typeof opts !== 'object') throw new Error(`[${op}] options must be an object`);
  const beamWidth = opts.beamWidth ?? 8;
  if (!Number.isInteger(beamWidth) || beamWidth < 1) throw new Error(`[${op}] beamWidth must be an integer >= 1, got ${beamWidth}`);
  const blank = opts.blank ?? 0;
  checkBlank(op, blank, V);
  const lm = opts.lm ?? null;
  if (lm !== null && (typeof lm.initialState !== 'function' || typeof lm.nextState !== 'function' || typeof lm.scoreToken !== 'function')) {
    throw new Error(`[${op}] lm must implement initialState(), nextState(state, token) and scoreToken(state, token) (e.g. NgramLM)`);
  }
  const lmWeight = lm === null ? 0 : opts.lmWeight ?? 0.5;
  const bonus = opts.insertionBonus ?? 0;
  for (const [name, x] of [['lmWeight', lmWeight], ['insertionBonus', bonus]] as const) {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`[${op}] ${name} must be a finite number, got ${x}`);
  }
  const prune = opts.tokenPrune ?? {};
  const topK = prune.topK ?? V;
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`[${op}] tokenPrune.topK must be an integer >= 1, got ${topK}`);
  const minLogProb = prune.minLogProb ?? NEG;
  if (typeof minLogProb !== 'number' || Number.isNaN(minLogProb)) throw new Error(`[${op}] tokenPrune.minLogProb must be a number, got ${minLogProb}`);
  const nBest = opts.nBest ?? 1;
  if (!Number.isInteger(nBest) || nBest < 1 || nBest > beamWidth) throw new Error(`[${op}] nBest must be an integer in [1, beamWidth = ${beamWidth}], got ${nBest}`);
  const lmEos = (opts.lmEos ?? true) && lm !== null && typeof lm.scoreEnd === 'function';
  return { beamWidth, blank, lm, lmWeight, bonus, lmEos, topK, minLogProb, nBest, keepGreedy: opts.keepGreedy ?? true };
}

/** The prefix trie of one utterance: node 0 is the empty prefix. */
class Trie {
  parent: number[] = [-1];
  token: number[] = [-1];
  depth: number[] = [0];
  lmState: number[] = [0];
  lmScore: number[] = [0];
  // Accumulators of the frame being expanded, valid where stamp === the frame's stamp.
  npB: number[] = [NEG];
  npNB: number[] = [NEG];
  stamp: number[] = [-1];
  children = new Map<number, number>();

  constructor(readonly V: number, lmState0: number) {
    this.lmState[0] = lmState0;
  }

  add(parent: number, token: number, lmState: number, lmScore: number): number {
    const id = this.parent.length;
    this.parent.push(parent);
    this.token.push(token);
    this.depth.push(this.depth[parent] + 1);
    this.lmState.push(lmState);
    this.lmScore.push(lmScore);
    this.npB.push(NEG);
    this.npNB.push(NEG);
    this.stamp.push(-1);
    this.children.set(parent * this.V + token, id);
    return id;
  }

  tokens(node: number): number[] {
    const out: number[] = new Array(this.depth[node]);
    for (let n = node, i = out.length - 1; n > 0; n = this.parent[n], --i) out[i] = this.token[n];
    return out;
  }
}

function searchOne(op: string, data: Float32Array | Float64Array, off: number, T: number, V: number, o: Resolved, b: number): Hypothesis[] {
  const { beamWidth: W, blank, lm, lmWeight, bonus } = o;
  const trie = new Trie(V, lm === null ? 0 : lm.initialState());
  const greedy = o.keepGreedy ? greedyPath(data, off, T, V, blank).frames : null;

  // The beam: W prefixes with their (pB, pNB); the empty prefix starts with pB = log 1.
  let beamNode = new Int32Array(W);
  let beamPB = new Float64Array(W);
  let beamPNB = new Float64Array(W);
  let nBeam = 1;
  beamPB[0] = 0;
  beamPNB[0] = NEG;
  let nextNode = new Int32Array(W);
  let nextPB = new Float64Array(W);
  let nextPNB = new Float64Array(W);

  // Candidates of one frame: existing trie nodes (touched) and new (parent, token) extensions.
  const touched: number[] = [];
  const newParent: number[] = [];
  const newToken: number[] = [];
  const newPNB: number[] = [];
  const newLm: number[] = [];
  const tried = new Int32Array(V);
  const order = new Int32Array(V);
  // Selected candidates, best first: id >= 0 a node, id < 0 new extension -1 - id.
  const selId = new Int32Array(W);
  const selScore = new Float64Array(W);
  let anchor = 0;

  for (let t = 0; t < T; ++t) {
    const row = off + t * V;
    const nTried = tokensToTry(data, row, V, o, tried, order, op, b, t);
    const aT = greedy === null ? -1 : greedy[t];
    const anchorMoves = greedy !== null && aT !== blank && (t === 0 || aT !== greedy[t - 1]);
    let anchorNew = -1;
    touched.length = 0;
    newParent.length = 0;
    newToken.length = 0;
    newPNB.length = 0;
    newLm.length = 0;
    const touch = (n: number): void => {
      if (trie.stamp[n] !== t) {
        trie.stamp[n] = t;
        trie.npB[n] = NEG;
        trie.npNB[n] = NEG;
        touched.push(n);
      }
    };
    const lpBlank = data[row + blank];
    for (let i = 0; i < nBeam; ++i) {
      const l = beamNode[i];
      const pb = beamPB[i];
      const pnb = beamPNB[i];
      const p = logAddExp(pb, pnb);
      touch(l);
      trie.npB[l] = logAddExp(trie.npB[l], p + lpBlank);
      const e = trie.token[l];
      if (e >= 0) trie.npNB[l] = logAddExp(trie.npNB[l], pnb + data[row + e]);
      for (let j = 0; j < nTried; ++j) {
        const c = tried[j];
        const ext = (c === e ? pb : p) + data[row + c];
        if (ext === NEG) continue;
        const child = trie.children.get(l * V + c);
        if (child !== undefined) {
          touch(child);
          trie.npNB[child] = logAddExp(trie.npNB[child], ext);
        } else {
          if (l === anchor && c === aT && anchorMoves) anchorNew = newParent.length;
          newParent.push(l);
          newToken.push(c);
          newPNB.push(ext);
          newLm.push(lm === null ? 0 : lm.scoreToken(trie.lmState[l], c));
        }
      }
    }

    // Top-W selection by score (insertion into a sorted list of W; ties keep the earlier).
    let nSel = 0;
    const offer = (id: number, s: number): void => {
      if (!(s > NEG)) return;
      if (nSel === W && s <= selScore[W - 1]) return;
      let k = nSel < W ? nSel++ : W - 1;
      while (k > 0 && selScore[k - 1] < s) {
        selScore[k] = selScore[k - 1];
        selId[k] = selId[k - 1];
        --k;
      }
      selScore[k] = s;
      selId[k] = id;
    };
    for (const n of touched) {
      offer(n, logAddExp(trie.npB[n], trie.npNB[n]) + lmWeight * trie.lmScore[n] + bonus * trie.depth[n]);
    }
    for (let j = 0; j < newParent.length; ++j) {
      const par = newParent[j];
      offer(-1 - j, newPNB[j] + lmWeight * (trie.lmScore[par] + newLm[j]) + bonus * (trie.depth[par] + 1));
    }
    if (greedy !== null) {
      // The greedy prefix after frame t: a new node, an existing child, or the same node.
      let want: number;
      if (!anchorMoves) want = anchor;
      else if (anchorNew >= 0) want = -1 - anchorNew;
      else {
        const child = trie.children.get(anchor * V + aT);
        // Unreachable: the greedy path's own probability (finite) flows into this extension.
        if (child === undefined) throw new Error(`[${op}] internal: the greedy prefix left the beam at utterance ${b}, frame ${t}`);
        want = child;
      }
      let found = false;
      for (let k = 0; k < nSel; ++k) if (selId[k] === want) found = true;
      if (!found) {
        if (nSel < W) ++nSel;
        selId[nSel - 1] = want;
      }
      anchor = want;
    }
    if (nSel === 0) throw new Error(`[${op}] utterance ${b}, frame ${t}: no prefix has a finite score (log-probabilities or LM scores are all -Infinity)`);

    for (let k = 0; k < nSel; ++k) {
      const id = selId[k];
      if (id >= 0) {
        nextNode[k] = id;
        nextPB[k] = trie.npB[id];
        nextPNB[k] = trie.npNB[id];
      } else {
        const j = -1 - id;
        const par = newParent[j];
        const c = newToken[j];
        const state = lm === null ? 0 : lm.nextState(trie.lmState[par], c);
        const node = trie.add(par, c, state, trie.lmScore[par] + newLm[j]);
        if (j === anchorNew) anchor = node;
        nextNode[k] = node;
        nextPB[k] = NEG;
        nextPNB[k] = newPNB[j];
      }
    }
    [beamNode, nextNode] = [nextNode, beamNode];
    [beamPB, nextPB] = [nextPB, beamPB];
    [beamPNB, nextPNB] = [nextPNB, beamPNB];
    nBeam = nSel;
  }

  // Final ranking on exact acoustic scores (every path of each prefix, not only those the beam kept).
  const hyps: Hypothesis[] = [];
  const finals = Array.from(beamNode.subarray(0, nBeam), (node) => trie.tokens(node));
  const exact = ctcLogProbsShared(data, off, T, V, finals, blank);
  for (let i = 0; i < nBeam; ++i) {
    const node = beamNode[i];
    const tokens = finals[i];
    const acoustic = exact[i];
    let lmTotal = trie.lmScore[node];
    if (o.lmEos && lm !== null && lm.scoreEnd) lmTotal += lm.scoreEnd(trie.lmState[node]);
    hyps.push({ tokens, score: acoustic + lmWeight * lmTotal + bonus * tokens.length, acoustic, lm: lmTotal });
  }
  // Stable sort: equal scores keep the beam's order.
  hyps.sort((x, y) => (y.score > x.score ? 1 : y.score < x.score ? -1 : 0));
  return hyps.slice(0, o.nBest);
}

/**
 * The non-blank tokens to try as extensions at one frame, written to `tried`; returns their count.
 * Always includes the frame's argmax when it is a token. Throws when every class is -Infinity.
 */
function tokensToTry(data: ArrayLike<number>, row: number, V: number, o: Resolved, tried: Int32Array, order: Int32Array, op: string, b: number, t: number): number {
  let best = 0;
  for (let c = 1; c < V; ++c) if (data[row + c] > data[row + best]) best = c;
  if (data[row + best] === NEG) throw new Error(`[${op}] utterance ${b}, frame ${t}: every class has log-probability -Infinity`);
  let n = 0;
  for (let c = 0; c < V; ++c) {
    if (c === o.blank) continue;
    if (c === best || data[row + c] >= o.minLogProb) order[n++] = c;
  }
  if (n > o.topK) {
    // Highest log-probabilities first; the argmax is first, so it survives any topK >= 1.
    const sub = Array.from(order.subarray(0, n)).sort((x, y) => data[row + y] - data[row + x] || x - y);
    n = o.topK;
    for (let i = 0; i < n; ++i) tried[i] = sub[i];
    return n;
  }
  tried.set(order.subarray(0, n));
  return n;
}
