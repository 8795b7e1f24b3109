/**
 * metrics.ts — per-utterance enhancement metrics on waveforms (float64, CPU, from arrays), and
 * their average over a test set.
 *
 * Glossary:
 *   sisdr       SI-SDR of the enhanced signal against the clean one, dB (audio.siSdr)
 *   sisdrNoisy  SI-SDR of the noisy input; sisdri = sisdr − sisdrNoisy, the improvement
 *   segsnr      segmental SNR of the enhanced signal (30 ms Hann frames, clamped to [−10, 35] dB)
 *   lsd         log-spectral distance to the clean signal (log10 units, nFft 512)
 *   stoi        STOI of the enhanced signal (stoi.ts); stoiNoisy that of the noisy input; NaN for
 *               utterances with under ~0.4 s of speech, left out of the average and counted apart
 */
import { logSpectralDistance, segmentalSnr, siSdr } from '../../audio/metrics';
import { stoi } from './stoi';

/** Metrics of one utterance (see the module glossary). */
export interface UtteranceMetrics {
  sisdr: number;
  sisdrNoisy: number;
  sisdri: number;
  segsnr: number;
  lsd: number;
  stoi: number;
  stoiNoisy: number;
}

/** Metrics of `enhanced` and `noisy` against `clean`, all (n) at `sampleRate` Hz. */
export function utteranceMetrics(clean: Float32Array, enhanced: Float32Array, noisy: Float32Array, sampleRate: number): UtteranceMetrics {
  const sisdr = siSdr(enhanced, clean);
  const sisdrNoisy = siSdr(noisy, clean);
  const frame = Math.round(0.03 * sampleRate);
  return {
    sisdr,
    sisdrNoisy,
    sisdri: sisdr - sisdrNoisy,
    segsnr: clean.length >= frame ? segmentalSnr(enhanced, clean, { sampleRate }).mean : NaN,
    lsd: logSpectralDistance(enhanced, clean),
    stoi: stoi(clean, enhanced, sampleRate),
    stoiNoisy: stoi(clean, noisy, sampleRate),
  };
}

/** Running means of UtteranceMetrics (NaN values skipped, counted per metric). */
export class MetricAverager {
  private readonly sums = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  utterances = 0;

  /** Adds one utterance's values (or weighted batch means with `weight`). */
  add(values: Record<string, number>, weight = 1): void {
    for (const [k, v] of Object.entries(values)) {
      if (!Number.isFinite(v)) continue;
      this.sums.set(k, (this.sums.get(k) ?? 0) + v * weight);
      this.counts.set(k, (this.counts.get(k) ?? 0) + weight);
    }
  }

  /** Means by name, plus `utterances` and, where some were left out, `<name>Count`. */
  result(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, s] of this.sums) {
      const c = this.counts.get(k)!;
      out[k] = s / c;
      if (c !== this.utterances) out[`${k}Count`] = c;
    }
    out.utterances = this.utterances;
    return out;
  }
}
