/**
 * Tokenizers for CTC targets: characters or phones, saved with a model through toJSON/fromJSON.
 *
 * Glossary:
 *   <blank>   the CTC blank, always index 0 (the convention of PyTorch CTCLoss blank=0 and of
 *             wav2vec2/ESPnet vocabularies)
 *   <unk>     index 1: what an unknown token maps to under unknown = 'map'
 *   kind      'char': a text is a sequence of characters (space included as ' ');
 *             'phone': a sequence of phone symbols (array, or a string split on whitespace)
 */

import { ManifestEntry } from './manifest';

export type TokenizerKind = 'char' | 'phone';

export interface TokenizerJSON {
  kind: TokenizerKind;
  tokens: string[];
  lowercase: boolean;
  version: 1;
}

export interface TokenizerOptions {
  /** lower-case text before tokenising (char tokenizers; default false) */
  lowercase?: boolean;
}

export const BLANK = '<blank>';
export const UNK = '<unk>';

/** Maps text or phone sequences to int32 ids and back; index 0 = <blank>, 1 = <unk>. */
export class Tokenizer {
  readonly kind: TokenizerKind;
  readonly tokens: readonly string[];
  readonly lowercase: boolean;
  private readonly index: Map<string, number>;

  /** Makes a tokenizer over `symbols` (deduplicated, order kept) after <blank> and <unk>. */
  constructor(kind: TokenizerKind, symbols: Iterable<string>, opts: TokenizerOptions = {}) {
    if (kind !== 'char' && kind !== 'phone') throw new Error(`[Tokenizer] kind must be 'char' or 'phone', got ${JSON.stringify(kind)}`);
    this.kind = kind;
    this.lowercase = opts.lowercase ?? false;
    const tokens = [BLANK, UNK];
    const index = new Map<string, number>([[BLANK, 0], [UNK, 1]]);
    for (const s of symbols) {
      if (typeof s !== 'string' || s.length === 0) throw new Error(`[Tokenizer] symbols must be non-empty strings, got ${JSON.stringify(s)}`);
      if (kind === 'char' && [...s].length !== 1) throw new Error(`[Tokenizer] char symbols must be single characters, got ${JSON.stringify(s)}`);
      if (!index.has(s)) {
        index.set(s, tokens.length);
        tokens.push(s);
      }
    }
    this.tokens = tokens;
    this.index = index;
  }

  /** Vocabulary size including <blank> and <unk> (the CTC output dimension). */
  get size(): number {
    return this.tokens.length;
  }

  /** Splits an input into symbols: characters (code points) for 'char', whitespace-separated words
   *  or the given array for 'phone'. */
  split(input: string | readonly string[]): string[] {
    if (this.kind === 'char') {
      const text = Array.isArray(input) ? input.join(' ') : (input as string);
      return [...(this.lowercase ? text.toLowerCase() : text)];
    }
    return typeof input === 'string' ? input.trim().split(/\s+/).filter((s) => s.length > 0) : [...input];
  }

  /** Encodes to ids. Unknown symbols: 'map' (default) → <unk> = 1, 'skip' → dropped, 'throw' →
   *  `[Tokenizer.encode] unknown token "x" at position i`. */
  encode(input: string | readonly string[], unknown: 'map' | 'skip' | 'throw' = 'map'): Int32Array {
    const syms = this.split(input);
    const out: number[] = [];
    for (let i = 0; i < syms.length; i++) {
      const id = this.index.get(syms[i]);
      if (id !== undefined && id > 1) out.push(id);
      else if (unknown === 'map') out.push(1);
      else if (unknown === 'throw') throw new Error(`[Tokenizer.encode] unknown token ${JSON.stringify(syms[i])} at position ${i}`);
    }
    return Int32Array.from(out);
  }

  /** Ids back to symbols; <blank> is dropped, <unk> kept as '<unk>'; out-of-range ids throw. */
  decodeTokens(ids: ArrayLike<number>): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
        throw new Error(`[Tokenizer.decode] id ${id} at position ${i} is outside the vocabulary [0, ${this.tokens.length})`);
      }
      if (id !== 0) out.push(this.tokens[id]);
    }
    return out;
  }

  /** Ids back to text: characters joined for 'char', phones joined by spaces for 'phone'. */
  decode(ids: ArrayLike<number>): string {
    return this.decodeTokens(ids).join(this.kind === 'char' ? '' : ' ');
  }

  /** Greedy CTC decoding of a best path: merge repeats, then drop blanks (so "a a <b> a" → "aa"). */
  decodeCtc(path: ArrayLike<number>): string {
    const ids: number[] = [];
    let prev = -1;
    for (let i = 0; i < path.length; i++) {
      if (path[i] !== prev && path[i] !== 0) ids.push(path[i]);
      prev = path[i];
    }
    return this.decode(ids);
  }

  /** Plain object to save beside model weights (tokens in index order). */
  toJSON(): TokenizerJSON {
    return { kind: this.kind, tokens: [...this.tokens], lowercase: this.lowercase, version: 1 };
  }

  /** Rebuilds a tokenizer from toJSON output; checks that <blank> and <unk> sit at 0 and 1 so ids
   *  mean the same as when the model was trained. */
  static fromJSON(j: unknown): Tokenizer {
    const o = j as Partial<TokenizerJSON>;
    if (typeof o !== 'object' || o === null || !Array.isArray(o.tokens) || (o.kind !== 'char' && o.kind !== 'phone')) {
      throw new Error('[Tokenizer.fromJSON] expected { kind: "char" | "phone", tokens: string[] }');
    }
    if (o.tokens[0] !== BLANK || o.tokens[1] !== UNK) {
      throw new Error(`[Tokenizer.fromJSON] tokens must start with ${BLANK}, ${UNK}; got ${JSON.stringify(o.tokens.slice(0, 2))}`);
    }
    if (new Set(o.tokens).size !== o.tokens.length) throw new Error('[Tokenizer.fromJSON] tokens contain duplicates');
    return new Tokenizer(o.kind, o.tokens.slice(2), { lowercase: o.lowercase ?? false });
  }

  /** Builds the vocabulary from manifest entries (text for 'char', phones for 'phone'), sorted so
   *  that the same data gives the same ids whatever the entry order. `minCount` drops rare symbols
   *  (they become <unk>). Throws if no entry has the needed field. */
  static fromManifest(entries: readonly ManifestEntry[], kind: TokenizerKind, opts: TokenizerOptions & { minCount?: number } = {}): Tokenizer {
    const counts = new Map<string, number>();
    const probe = new Tokenizer(kind, [], opts);
    let used = 0;
    for (const e of entries) {
      const src = kind === 'char' ? e.text : e.phones;
      if (src === undefined) continue;
      used++;
      for (const s of probe.split(src)) counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    if (used === 0) throw new Error(`[Tokenizer.fromManifest] no entry has ${kind === 'char' ? '"text"' : '"phones"'}`);
    const min = opts.minCount ?? 1;
    const syms = [...counts].filter(([, n]) => n >= min).map(([s]) => s).sort();
    return new Tokenizer(kind, syms, opts);
  }
}
