/**
 * Analysis windows, matching torch.*_window and Kaldi's feature-window functions.
 *
 * Glossary:
 *   N         window length (winLength)
 *   periodic  true: w[n] uses denominator N, the first N points of an (N+1)-point symmetric
 *             window, as torch's default and what STFT overlap-add wants (COLA at hop N/4);
 *             false: symmetric, denominator N - 1 (Kaldi's frames, filter design)
 *   povey     Kaldi's default: symmetric Hann raised to the power 0.85
 */

import { checkPositiveInt, fail, FloatArray, isFloat32Array, isFloat64Array } from './check';

export type WindowName = 'hann' | 'hamming' | 'rectangular' | 'povey' | 'blackman';

/** A named window or explicit coefficients (length winLength). */
export type WindowSpec = WindowName | FloatArray;

/**
 * Window of `length` points as float64. hann: 0.5 - 0.5 cos(2 pi n / D); hamming: 0.54 -
 * 0.46 cos(2 pi n / D); blackman: 0.42 - 0.5 cos(2 pi n / D) + 0.08 cos(4 pi n / D);
 * povey: symmetric hann^0.85; rectangular: ones. D = length (periodic) or length - 1
 * (symmetric); a 1-point window is [1], as in torch. Shape: (length).
 */
export function makeWindow(name: WindowName, length: number, periodic = true, blackmanCoeff = 0.42): Float64Array {
  const op = 'window';
  checkPositiveInt(op, 'length', length);
  const w = new Float64Array(length); // (N)
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  const d = periodic && name !== 'povey' ? length : length - 1;
  const a = (2 * Math.PI) / d;
  for (let n = 0; n < length; n++) {
    switch (name) {
      case 'hann':
        w[n] = 0.5 - 0.5 * Math.cos(a * n);
        break;
      case 'hamming':
        w[n] = 0.54 - 0.46 * Math.cos(a * n);
        break;
      case 'blackman':
        w[n] = blackmanCoeff - 0.5 * Math.cos(a * n) + (0.5 - blackmanCoeff) * Math.cos(2 * a * n);
        break;
      case 'povey':
        w[n] = Math.pow(0.5 - 0.5 * Math.cos(a * n), 0.85);
        break;
      case 'rectangular':
        w[n] = 1;
        break;
      default:
        fail(op, `unknown window ${JSON.stringify(name)}; expected hann, hamming, rectangular, povey or blackman`);
    }
  }
  return w;
}

/**
 * Resolves a WindowSpec to winLength coefficients, then zero-pads it centred to nFft points as
 * torch.stft does (left pad = floor((nFft - winLength) / 2)). Shape: (nFft), float64.
 */
export function resolveWindow(op: string, spec: WindowSpec, winLength: number, nFft: number, periodic = true): Float64Array {
  let w: Float64Array;
  if (typeof spec === 'string') {
    w = makeWindow(spec, winLength, periodic);
  } else if (isFloat32Array(spec) || isFloat64Array(spec)) {
    if (spec.length !== winLength) fail(op, `window has ${spec.length} coefficients, expected winLength = ${winLength}`);
    w = Float64Array.from(spec);
  } else {
    return fail(op, `window must be 'hann', 'hamming', 'rectangular', 'povey', 'blackman' or a Float32Array/Float64Array`);
  }
  if (winLength === nFft) return w;
  const out = new Float64Array(nFft); // (nFft)
  out.set(w, Math.floor((nFft - winLength) / 2));
  return out;
}
