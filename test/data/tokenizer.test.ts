/** Tokenizers: blank at 0, unknown handling, encode/decode, JSON round trip, built from manifests. */
import { Tokenizer } from '../../lib/data/tokenizer';
import { ManifestEntry } from '../../lib/data/manifest';

const entries: ManifestEntry[] = [
  { id: 'a', audio: 'a.wav', duration: 1, text: 'Hello world', phones: ['hh', 'ah', 'l', 'ow'] },
  { id: 'b', audio: 'b.wav', duration: 1, text: 'low hero', phones: ['l', 'ow', 'hh', 'iy', 'r', 'ow'] },
];

test('char tokenizer from a manifest: blank 0, unk 1, sorted vocabulary, encode/decode', () => {
  const t = Tokenizer.fromManifest(entries, 'char', { lowercase: true });
  expect(t.tokens.slice(0, 2)).toEqual(['<blank>', '<unk>']);
  expect(t.tokens.slice(2)).toEqual([' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
  const ids = t.encode('Hello');
  expect(Array.from(ids)).toEqual([5, 4, 6, 6, 7]);
  expect(t.decode(ids)).toBe('hello');
  expect(Array.from(t.encode('hex'))).toEqual([5, 4, 1]);
  expect(Array.from(t.encode('hex', 'skip'))).toEqual([5, 4]);
  expect(() => t.encode('hex', 'throw')).toThrow('[Tokenizer.encode] unknown token "x" at position 2');
  expect(t.decodeCtc([0, 5, 5, 0, 4, 6, 0, 6, 7, 7])).toBe('hello');
  expect(() => t.decode([99])).toThrow('outside the vocabulary');
});

test('phone tokenizer and JSON round trip', () => {
  const t = Tokenizer.fromManifest(entries, 'phone');
  expect(t.size).toBe(2 + 6);
  const ids = t.encode('l ow hh iy');
  expect(t.decode(ids)).toBe('l ow hh iy');
  expect(t.decodeTokens(t.encode(['r', 'zz']))).toEqual(['r', '<unk>']);
  const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(t)));
  expect(back.tokens).toEqual(t.tokens);
  expect(Array.from(back.encode(['ow', 'r']))).toEqual(Array.from(t.encode(['ow', 'r'])));
  expect(() => Tokenizer.fromJSON({ kind: 'phone', tokens: ['a', '<blank>'] })).toThrow('must start with <blank>, <unk>');
  expect(() => Tokenizer.fromManifest([{ id: 'x', audio: 'x', duration: 1 }], 'phone')).toThrow('no entry has "phones"');
});
