/**
 * ngram.ts — a token-level n-gram language model with add-k smoothing, estimated from training
 * transcripts (token id sequences), for shallow fusion in CTC beam search.
 *
 * Glossary:
 *   order n      the model conditions on the previous n-1 symbols (3 = trigram)
 *   <s>, </s>    sentence start (pads the history, never predicted) and end (EOS, predicted after
 *                the last token when `eos` is on); EOS is the exported constant -1
 *   outcomes W   the symbols a distribution covers: token ids 0..V-1 except the blank, plus </s>
 *   c(h), c(h,w) counts of history h and of h followed by w in the training sequences
 *   add-k        P(w | h) = (c(h, w) + k) / (c(h) + k·|W|); k > 0 gives every outcome mass
 *   backoff      the distribution is taken at the longest suffix h of the (n-1)-symbol history
 *                with c(h) > 0 (down to the empty history, the unigram), so an unseen history is
 *                not flattened to uniform; each P(· | h) is a proper distribution over W
 *   state        an integer naming the last n-1 symbols, for incremental scoring (TokenLM)
 */

/** The end-of-sentence outcome in `logProb(context, EOS)`. */
export const EOS = -1;
const BOS = -2;

/**
 * What beam search needs from a language model, in integer states so that prefixes share work:
 * `initialState()` is the empty sentence; `nextState(s, token)` the state after appending a token;
 * `scoreToken(s, token)` = log P(token | s) (natural log); `scoreEnd(s)` = log P(</s> | s), when
 * the model predicts the sentence end.
 */
export interface TokenLM {
  initialState(): number;
  nextState(state: number, token: number): number;
  scoreToken(state: number, token: number): number;
  scoreEnd?(state: number): number;
}

/** Options of NgramLM.fit. */
export interface NgramFitOptions {
  /** Token ids are 0..vocabSize-1 (the CTC vocabulary size, blank included). */
  vocabSize: number;
  /** n of the n-gram (default 3). */
  order?: number;
  /** Add-k constant, > 0 (default 0.5). */
  k?: number;
  /** A token id that is never predicted (default 0, the CTC blank); null: every id is a token. */
  blank?: number | null;
  /** Pad sentence starts with <s> so the first tokens have their own statistics (default true). */
  bos?: boolean;
  /** Model the sentence end </s> as an outcome (default true). */
  eos?: boolean;
}

/** The serialised model (`toJSON`): settings and every non-zero count c(h, w), w = -1 for </s>. */
export interface NgramJSON {
  kind: 'ngram';
  version: 1;
  order: number;
  k: number;
  vocabSize: number;
  blank: number | null;
  bos: boolean;
  eos: boolean;
  /** [history (oldest first, -2 = <s>), flat pairs [w0, c0, w1, c1, ...]] */
  counts: Array<[number[], number[]]>;
}

interface Ctx {
  total: number;
  next: Map<number, number>;
  logDen: number;
}

/** A token n-gram LM with add-k smoothing and history backoff (see the module glossary). */
export class NgramLM implements TokenLM {
  static readonly EOS = EOS;
  readonly order: number;
  readonly k: number;
  readonly vocabSize: number;
  readonly blank: number | null;
  readonly bos: boolean;
  readonly eos: boolean;
  /** |W|: the number of outcomes each distribution covers. */
  readonly numOutcomes: number;
  private readonly ctx = new Map<string, Ctx>();
  private readonly stateHist: number[][] = [];
  private readonly stateIds = new Map<string, number>();
  private readonly stateCtx: Array<Ctx | undefined> = [];
  private readonly trans = new Map<number, number>();

  private constructor(o: Required<Omit<NgramFitOptions, 'blank'>> & { blank: number | null }) {
    const op = 'NgramLM';
    if (!Number.isInteger(o.vocabSize) || o.vocabSize < 1) throw new Error(`[${op}] vocabSize must be a positive integer, got ${o.vocabSize}`);
    if (!Number.isInteger(o.order) || o.order < 1) throw new Error(`[${op}] order must be an integer >= 1, got ${o.order}`);
    if (!(typeof o.k === 'number' && o.k > 0 && Number.isFinite(o.k))) throw new Error(`[${op}] k must be a finite number > 0, got ${o.k}`);
    if (o.blank !== null && (!Number.isInteger(o.blank) || o.blank < 0 || o.blank >= o.vocabSize)) {
      throw new Error(`[${op}] blank must be null or an id in [0, ${o.vocabSize}), got ${o.blank}`);
    }
    this.order = o.order;
    this.k = o.k;
    this.vocabSize = o.vocabSize;
    this.blank = o.blank;
    this.bos = o.bos;
    this.eos = o.eos;
    this.numOutcomes = o.vocabSize - (o.blank === null ? 0 : 1) + (o.eos ? 1 : 0);
    if (this.numOutcomes < 1) throw new Error(`[${op}] no outcome to predict: vocabSize ${o.vocabSize} minus the blank, without eos`);
    this.getCtx([]); // the unigram exists even for an empty corpus (then: uniform over W)
  }

  /**
   * Estimates the model from `sequences` (token ids per transcript, e.g. tokenizer output):
   * counts every history of length 0..n-1 before each token and before </s>. Throws
   * `[NgramLM.fit] ...` for an id outside [0, vocabSize) or equal to the blank.
   */
  static fit(sequences: ReadonlyArray<ArrayLike<number>>, opts: NgramFitOptions): NgramLM {
    if (opts === undefined || opts === null) throw new Error('[NgramLM.fit] options with vocabSize are required');
    const lm = new NgramLM({
      vocabSize: opts.vocabSize, order: opts.order ?? 3, k: opts.k ?? 0.5,
      blank: opts.blank === undefined ? 0 : opts.blank, bos: opts.bos ?? true, eos: opts.eos ?? true,
    });
    if (!Array.isArray(sequences)) throw new Error(`[NgramLM.fit] sequences must be an array of token lists, got ${typeof sequences}`);
    sequences.forEach((seq, i) => lm.count(lm.checkSeq('NgramLM.fit', seq, i)));
    lm.finish();
    return lm;
  }

  /** Rebuilds a model from `toJSON()` output (checked: a bad field throws `[NgramLM.fromJSON] ...`). */
  static fromJSON(json: NgramJSON): NgramLM {
    const op = 'NgramLM.fromJSON';
    if (json === null || typeof json !== 'object' || json.kind !== 'ngram' || json.version !== 1 || !Array.isArray(json.counts)) {
      throw new Error(`[${op}] expected { kind: 'ngram', version: 1, counts: [...] }`);
    }
    const lm = new NgramLM({ vocabSize: json.vocabSize, order: json.order, k: json.k, blank: json.blank, bos: json.bos, eos: json.eos });
    for (const entry of json.counts) {
      if (!Array.isArray(entry) || !Array.isArray(entry[0]) || !Array.isArray(entry[1]) || entry[1].length % 2 !== 0) {
        throw new Error(`[${op}] each counts entry must be [history[], [w, c, ...]]`);
      }
      const [h, pairs] = entry;
      if (h.length >= lm.order) throw new Error(`[${op}] history of length ${h.length} is too long for order ${lm.order}`);
      for (const s of h) if (!(s === BOS || lm.isToken(s))) throw new Error(`[${op}] history symbol ${s} is not <s> (-2) or a token`);
      const c = lm.getCtx(h);
      for (let i = 0; i < pairs.length; i += 2) {
        const w = pairs[i];
        const n = pairs[i + 1];
        if (!((w === EOS && lm.eos) || lm.isToken(w))) throw new Error(`[${op}] outcome ${w} is not a token${lm.eos ? ' or </s> (-1)' : ''}`);
        if (!Number.isInteger(n) || n <= 0) throw new Error(`[${op}] count of ${w} after [${h.join(', ')}] must be a positive integer, got ${n}`);
        c.next.set(w, (c.next.get(w) ?? 0) + n);
        c.total += n;
      }
    }
    lm.finish();
    return lm;
  }

  /** Settings and counts as plain JSON (see NgramJSON). */
  toJSON(): NgramJSON {
    const counts: Array<[number[], number[]]> = [];
    for (const [key, c] of this.ctx) {
      if (c.total === 0) continue;
      const pairs: number[] = [];
      for (const [w, n] of [...c.next].sort((a, b) => a[0] - b[0])) pairs.push(w, n);
      counts.push([key === '' ? [] : key.split(',').map(Number), pairs]);
    }
    return { kind: 'ngram', version: 1, order: this.order, k: this.k, vocabSize: this.vocabSize, blank: this.blank, bos: this.bos, eos: this.eos, counts };
  }

  /**
   * log P(token | context) (natural log). `context` is the sentence so far (oldest first); only its
   * last n-1 tokens matter, and when it is shorter than n-1 it is taken as the sentence start
   * (padded with <s> when `bos`). `token` is an id or EOS (-1, when the model has `eos`); the
   * blank gets -Infinity. Over every outcome the probabilities sum to 1.
   */
  logProb(context: ArrayLike<number>, token: number): number {
    const op = 'NgramLM.logProb';
    const hist = this.history(this.checkSeq(op, context, -1));
    return this.score(this.resolve(hist), this.checkOutcome(op, token));
  }

  /** log P(sentence) = Σ log P(token_i | tokens before i) (+ log P(</s> | sentence) with eos). */
  sequenceLogProb(sequence: ArrayLike<number>): number {
    const seq = this.checkSeq('NgramLM.sequenceLogProb', sequence, -1);
    let s = this.initialState();
    let total = 0;
    for (const w of seq) {
      total += this.scoreToken(s, w);
      s = this.nextState(s, w);
    }
    return this.eos ? total + this.scoreEnd(s) : total;
  }

  /** exp(−(Σ log P) / N) over `sequences`, N = tokens (+ one </s> per sentence with eos). */
  perplexity(sequences: ReadonlyArray<ArrayLike<number>>): number {
    let lp = 0;
    let n = 0;
    for (const s of sequences) {
      lp += this.sequenceLogProb(s);
      n += s.length + (this.eos ? 1 : 0);
    }
    if (n === 0) throw new Error('[NgramLM.perplexity] no tokens to score');
    return Math.exp(-lp / n);
  }

  // ---- TokenLM: integer states over the last n-1 symbols ----

  /** The state of an empty sentence (history of n-1 <s> with bos). */
  initialState(): number {
    return this.stateOf(this.bos ? new Array<number>(this.order - 1).fill(BOS) : []);
  }

  /** The state after appending `token` to the sentence of state `state`. */
  nextState(state: number, token: number): number {
    const key = state * this.vocabSize + token;
    let s = this.trans.get(key);
    if (s === undefined) {
      const h = this.stateHist[state].concat([token]);
      s = this.stateOf(h.length > this.order - 1 ? h.slice(h.length - (this.order - 1)) : h);
      this.trans.set(key, s);
    }
    return s;
  }

  /** log P(token | state); -Infinity for the blank. No argument checks (the hot path of fusion). */
  scoreToken(state: number, token: number): number {
    if (token === this.blank) return -Infinity;
    return this.score(this.stateContext(state), token);
  }

  /** log P(</s> | state); 0 when the model has no eos (the end then costs nothing). */
  scoreEnd(state: number): number {
    return this.eos ? this.score(this.stateContext(state), EOS) : 0;
  }

  // ---- internals ----

  private isToken(w: number): boolean {
    return Number.isInteger(w) && w >= 0 && w < this.vocabSize && w !== this.blank;
  }

  private checkSeq(op: string, seq: ArrayLike<number>, index: number): number[] {
    const where = index >= 0 ? `sequence ${index}` : 'context';
    if (seq === null || typeof seq !== 'object' || typeof seq.length !== 'number') throw new Error(`[${op}] ${where} must be an array of token ids`);
    const out = Array.from(seq);
    out.forEach((w, i) => {
      if (!this.isToken(w)) {
        const why = w === this.blank ? `the blank (${w})` : `${w}, outside [0, ${this.vocabSize})`;
        throw new Error(`[${op}] ${where}, position ${i}: token ${why} is not a token the model predicts`);
      }
    });
    return out;
  }

  private checkOutcome(op: string, w: number): number {
    if (w === EOS) {
      if (!this.eos) throw new Error(`[${op}] this model was fit without eos; EOS has no probability`);
      return w;
    }
    if (w === this.blank) return w; // scored as -Infinity
    if (!this.isToken(w)) throw new Error(`[${op}] token must be an id in [0, ${this.vocabSize}) or EOS (-1), got ${w}`);
    return w;
  }

  private getCtx(h: readonly number[]): Ctx {
    const key = h.join(',');
    let c = this.ctx.get(key);
    if (c === undefined) {
      c = { total: 0, next: new Map(), logDen: 0 };
      this.ctx.set(key, c);
    }
    return c;
  }

  private count(seq: number[]): void {
    const n = this.order;
    const hist: number[] = this.bos ? new Array<number>(n - 1).fill(BOS) : [];
    const outcomes: number[] = this.eos ? seq.concat([EOS]) : seq;
    for (const w of outcomes) {
      const maxM = Math.min(n - 1, hist.length);
      for (let m = 0; m <= maxM; ++m) {
        const c = this.getCtx(hist.slice(hist.length - m));
        c.next.set(w, (c.next.get(w) ?? 0) + 1);
        c.total += 1;
      }
      hist.push(w);
    }
  }

  private finish(): void {
    const kW = this.k * this.numOutcomes;
    for (const c of this.ctx.values()) c.logDen = Math.log(c.total + kW);
  }

  private score(c: Ctx, w: number): number {
    if (w === this.blank) return -Infinity;
    return Math.log((c.next.get(w) ?? 0) + this.k) - c.logDen;
  }

  /** The last n-1 symbols of a sentence prefix, <s>-padded at the start when bos. */
  private history(seq: number[]): number[] {
    const n1 = this.order - 1;
    if (seq.length >= n1) return seq.slice(seq.length - n1);
    return this.bos ? new Array<number>(n1 - seq.length).fill(BOS).concat(seq) : seq;
  }

  /** The longest suffix of `hist` that was seen in training (the unigram at worst). */
  private resolve(hist: number[]): Ctx {
    for (let m = hist.length; m > 0; --m) {
      const c = this.ctx.get(hist.slice(hist.length - m).join(','));
      if (c !== undefined && c.total > 0) return c;
    }
    return this.ctx.get('') as Ctx;
  }

  private stateOf(h: number[]): number {
    const key = h.join(',');
    let s = this.stateIds.get(key);
    if (s === undefined) {
      s = this.stateHist.length;
      this.stateHist.push(h);
      this.stateIds.set(key, s);
    }
    return s;
  }

  private stateContext(state: number): Ctx {
    let c = this.stateCtx[state];
    if (c === undefined) {
      c = this.resolve(this.stateHist[state]);
      this.stateCtx[state] = c;
    }
    return c;
  }
}
