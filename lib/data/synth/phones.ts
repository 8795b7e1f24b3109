/**
 * Phone inventory of the `synth` engine: 39 ARPAbet-like phones plus `sil`, each with the acoustic
 * targets the formant synthesiser steers toward.
 *
 * Glossary:
 *   F1..F3    formant targets in Hz for an adult male vocal tract (Peterson & Barney 1952 averages
 *             for vowels; loci after Delattre 1955 / Klatt 1980 for consonants); speakers scale
 *             them by their vocal-tract length factor (≈1.0 male, ≈1.17 female)
 *   end       second target of a diphthong (the formants glide from F to end over the phone)
 *   dur       base duration in ms at speaking rate 1 (TIMIT-like means)
 *   fric      frication spectrum: up to three band-pass peaks [centre Hz, bandwidth Hz, gain dB]
 *             plus a flat bypass gain in dB, and the overall level in dB re the loudest (s)
 *   nasalZero antiformant of the nasal murmur (Fujimura 1962: m ≈ 1000, n ≈ 1800, ng ≈ 3000 Hz)
 *   voiced    vocal folds vibrate during the phone (voiced stops: a low 'voice bar' in the closure)
 */

export type PhoneClass = 'vowel' | 'diphthong' | 'stop' | 'affricate' | 'fricative' | 'nasal' | 'approximant' | 'aspirate' | 'silence';

export interface FricSpectrum {
  peaks: Array<[centre: number, bandwidth: number, gainDb: number]>;
  bypassDb: number;
  levelDb: number;
}

export interface PhoneDef {
  name: string;
  cls: PhoneClass;
  voiced: boolean;
  /** F1, F2, F3 target (Hz, adult male) */
  f: [number, number, number];
  /** diphthong end target */
  end?: [number, number, number];
  /** base duration (ms) */
  dur: number;
  fric?: FricSpectrum;
  nasalZero?: number;
  /** how this phone is spelt in generated text (a consistent phone → letters map) */
  spelling: string;
}

// Fricative and burst spectra. s/z peak high (4–8 kHz, the front cavity is short); sh/zh lower
// (~2.5–3.5 kHz, lip rounding lengthens it); f/v/th/dh are weak and flat (no front cavity).
const S: FricSpectrum = { peaks: [[5500, 1600, 0], [7000, 1500, -4]], bypassDb: -30, levelDb: 0 };
const SH: FricSpectrum = { peaks: [[2700, 600, 0], [3800, 900, -4], [5800, 1500, -12]], bypassDb: -30, levelDb: -1 };
const F: FricSpectrum = { peaks: [[6500, 3000, -8]], bypassDb: -2, levelDb: -16 };
const TH: FricSpectrum = { peaks: [[5500, 3000, -6]], bypassDb: -4, levelDb: -18 };
// Bursts: labial diffuse-falling, alveolar diffuse-rising (like s), velar compact mid (~F2/F3).
const BURST_LAB: FricSpectrum = { peaks: [[1200, 1500, -6]], bypassDb: -2, levelDb: -8 };
const BURST_ALV: FricSpectrum = { peaks: [[4500, 2000, 0], [6500, 2000, -4]], bypassDb: -18, levelDb: -3 };
const BURST_VEL: FricSpectrum = { peaks: [[2200, 700, 0], [3500, 1200, -10]], bypassDb: -24, levelDb: -4 };

const V = (name: string, f: [number, number, number], dur: number, spelling: string, end?: [number, number, number]): PhoneDef =>
  ({ name, cls: end ? 'diphthong' : 'vowel', voiced: true, f, dur, spelling, ...(end ? { end } : {}) });

/** The inventory, vowels first. `sil` is not a phone of any word; it pads utterances and pauses. */
export const PHONES: readonly PhoneDef[] = [
  V('iy', [270, 2290, 3010], 110, 'ee'),
  V('ih', [390, 1990, 2550], 80, 'i'),
  V('eh', [530, 1840, 2480], 90, 'e'),
  V('ae', [660, 1720, 2410], 120, 'a'),
  V('aa', [730, 1090, 2440], 120, 'o'),
  V('ah', [640, 1190, 2390], 80, 'u'),
  V('ao', [570, 840, 2410], 120, 'aw'),
  V('uh', [440, 1020, 2240], 80, 'ou'),
  V('uw', [300, 870, 2240], 110, 'oo'),
  V('er', [490, 1350, 1690], 110, 'er'),
  V('ey', [480, 1900, 2500], 140, 'ay', [330, 2200, 2800]),
  V('ay', [710, 1200, 2450], 160, 'igh', [380, 2050, 2650]),
  V('ow', [550, 960, 2350], 140, 'oa', [350, 800, 2250]),
  V('aw', [720, 1250, 2400], 160, 'ow', [450, 950, 2300]),
  V('oy', [560, 860, 2400], 170, 'oy', [380, 1950, 2600]),
  { name: 'p', cls: 'stop', voiced: false, f: [250, 900, 2100], dur: 95, fric: BURST_LAB, spelling: 'p' },
  { name: 'b', cls: 'stop', voiced: true, f: [200, 900, 2100], dur: 75, fric: BURST_LAB, spelling: 'b' },
  { name: 't', cls: 'stop', voiced: false, f: [250, 1750, 2650], dur: 90, fric: BURST_ALV, spelling: 't' },
  { name: 'd', cls: 'stop', voiced: true, f: [200, 1700, 2600], dur: 70, fric: BURST_ALV, spelling: 'd' },
  { name: 'k', cls: 'stop', voiced: false, f: [250, 1900, 2400], dur: 95, fric: BURST_VEL, spelling: 'k' },
  { name: 'g', cls: 'stop', voiced: true, f: [200, 1900, 2400], dur: 75, fric: BURST_VEL, spelling: 'g' },
  { name: 'ch', cls: 'affricate', voiced: false, f: [300, 1900, 2600], dur: 120, fric: SH, spelling: 'ch' },
  { name: 'jh', cls: 'affricate', voiced: true, f: [250, 1900, 2600], dur: 100, fric: SH, spelling: 'j' },
  { name: 'f', cls: 'fricative', voiced: false, f: [300, 1000, 2200], dur: 100, fric: F, spelling: 'f' },
  { name: 'v', cls: 'fricative', voiced: true, f: [250, 1000, 2200], dur: 70, fric: F, spelling: 'v' },
  { name: 'th', cls: 'fricative', voiced: false, f: [300, 1400, 2700], dur: 100, fric: TH, spelling: 'th' },
  { name: 'dh', cls: 'fricative', voiced: true, f: [250, 1400, 2700], dur: 60, fric: TH, spelling: 'dh' },
  { name: 's', cls: 'fricative', voiced: false, f: [300, 1700, 2700], dur: 110, fric: S, spelling: 's' },
  { name: 'z', cls: 'fricative', voiced: true, f: [250, 1700, 2700], dur: 80, fric: S, spelling: 'z' },
  { name: 'sh', cls: 'fricative', voiced: false, f: [300, 1900, 2500], dur: 120, fric: SH, spelling: 'sh' },
  { name: 'zh', cls: 'fricative', voiced: true, f: [250, 1900, 2500], dur: 80, fric: SH, spelling: 'zh' },
  { name: 'hh', cls: 'aspirate', voiced: false, f: [500, 1500, 2500], dur: 70, spelling: 'h' },
  { name: 'm', cls: 'nasal', voiced: true, f: [280, 1000, 2200], dur: 75, nasalZero: 1000, spelling: 'm' },
  { name: 'n', cls: 'nasal', voiced: true, f: [280, 1650, 2500], dur: 65, nasalZero: 1800, spelling: 'n' },
  { name: 'ng', cls: 'nasal', voiced: true, f: [280, 2000, 2600], dur: 75, nasalZero: 3000, spelling: 'ng' },
  { name: 'l', cls: 'approximant', voiced: true, f: [360, 1000, 2700], dur: 65, spelling: 'l' },
  { name: 'r', cls: 'approximant', voiced: true, f: [350, 1100, 1550], dur: 65, spelling: 'r' },
  { name: 'w', cls: 'approximant', voiced: true, f: [300, 700, 2200], dur: 60, spelling: 'w' },
  { name: 'y', cls: 'approximant', voiced: true, f: [280, 2200, 2950], dur: 60, spelling: 'y' },
  { name: 'sil', cls: 'silence', voiced: false, f: [500, 1500, 2500], dur: 200, spelling: '' },
];

export const PHONE_INDEX: ReadonlyMap<string, PhoneDef> = new Map(PHONES.map((p) => [p.name, p]));

/** The phone names (without `sil`), in inventory order: the synth engine's phone set. */
export const PHONE_NAMES: readonly string[] = PHONES.filter((p) => p.cls !== 'silence').map((p) => p.name);

/** Looks a phone up; throws `[synth] unknown phone "x"` for names outside the inventory. */
export function phoneDef(name: string): PhoneDef {
  const p = PHONE_INDEX.get(name);
  if (!p) throw new Error(`[synth] unknown phone ${JSON.stringify(name)}; known: ${PHONE_NAMES.join(' ')} sil`);
  return p;
}

export const isVowel = (p: PhoneDef): boolean => p.cls === 'vowel' || p.cls === 'diphthong';
