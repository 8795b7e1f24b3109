/**
 * conv.ts — conv1d, conv2d and convTranspose1d with groups, as torch.nn.functional's, with
 * their gradients (native/ops/conv: im2col + GEMM, direct kernels for depthwise convs).
 *
 * Glossary: N batch, Cin/Cout channels, G groups, K kernel size, s stride, p padding, d dilation.
 *   conv1d          x (N, Cin, L), w (Cout, Cin/G, K), bias (Cout) -> (N, Cout, Lout),
 *                   Lout = floor((L + 2p - d(K-1) - 1) / s) + 1
 *   conv2d          x (N, Cin, H, W), w (Cout, Cin/G, kh, kw) -> (N, Cout, Hout, Wout), per dim as above
 *   convTranspose1d x (N, Cin, L), w (Cin, Cout/G, K) -> (N, Cout, (L-1)s - 2p + d(K-1) + outputPadding + 1)
 * padding 'same' (stride 1 only) pads d(K-1) in all, the odd one at the end, as PyTorch does.
 * A transposed conv is the input-gradient of the conv from its output back to its input, so
 * all three run on the same three native primitives (forward, backward-input, backward-weight).
 * dtypes: float32; bfloat16 on CUDA (weight float32 or bfloat16, grads in each tensor's dtype).
 */
import { underAutocast } from '../autograd/autocast';
import { native } from '../native';
import { needsGrad, record } from '../autograd/tape';
import { describe, Tensor } from '../tensor/tensor';
import { checkTensor, optionsArg, shapeStr, wrap } from './util';

/** Options of conv1d. */
export interface Conv1dOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
}

type Pair = number | readonly [number, number];

/** Options of conv2d; a number applies to both spatial dims, a pair is [height, width]. */
export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

/** Options of convTranspose1d. */
export interface ConvTranspose1dOptions {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  dilation?: number;
  groups?: number;
}

/** [N, Cin, Cout, G, ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, spatial] of the conv direction. */
type Geom = number[];

function int(op: string, what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`[${op}] ${what} must be an integer >= ${min}, got ${describe(v)}`);
  return v;
}

function pair(op: string, what: string, v: Pair, min: number): [number, number] {
  if (typeof v === 'number') return [int(op, what, v, min), int(op, what, v, min)];
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`[${op}] ${what} must be a number or a pair [h, w], got ${describe(v)}`);
  return [int(op, what, v[0], min), int(op, what, v[1], min)];
}

function optBias(op: string, bias: Tensor | null | undefined, C: number): Tensor | null {
  if (bias === undefined || bias === null) return null;
  checkTensor(op, 'bias', bias);
  if (bias.ndim !== 1 || bias.shape[0] !== C) throw new Error(`[${op}] bias must have shape (${C}), got ${shapeStr(bias.shape)}`);
  return bias;
}

function checkGroups(op: string, groups: number, Cin: number, Cout: number, x: Tensor, w: Tensor): void {
  if (Cin % groups !== 0) throw new Error(`[${op}] groups = ${groups} must divide the input channels (${Cin}) of x ${shapeStr(x.shape)}`);
  if (Cout % groups !== 0) throw new Error(`[${op}] groups = ${groups} must divide the output channels (${Cout}) of weight ${shapeStr(w.shape)}`);
}

/** Output size and padding before the first input of one spatial dim. */
function outSize(op: string, dim: string, size: number, k: number, s: number, d: number, pad: number | 'same' | 'valid'): [number, number] {
  let before: number;
  let total: number;
  if (pad === 'same') {
    if (s !== 1) throw new Error(`[${op}] padding 'same' needs stride 1, got stride ${s}`);
    total = d * (k - 1);
    before = Math.floor(total / 2);
  } else if (pad === 'valid') {
    before = total = 0;
  } else {
    before = pad;
    total = 2 * pad;
  }
  const span = d * (k - 1) + 1;
  if (size + total < span) {
    throw new Error(`[${op}] the padded input ${dim} (${size} + ${total} padding) is shorter than the dilated kernel (${span} = ${d} x (${k} - 1) + 1)`);
  }
  return [Math.floor((size + total - span) / s) + 1, before];
}

/** Records the conv-direction gradient: dx by backward-input, dw by backward-weight, db by a channel sum. */
function convNode(op: string, x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, geom: Geom): void {
  const inputs = [x, w, b];
  if (!needsGrad(inputs)) return;
  const [needX, needW, needB] = [x.requiresGrad, w.requiresGrad, b !== null && b.requiresGrad];
  const wdtype = w.dtype;
  const bdtype = b ? b.dtype : 'float32';
  record(op, inputs, [y], [x, w], ([g], [xs, ws]) => {
    if (!g) return [null, null, null];
    return [
      needX ? wrap(native.convBackwardInput(op, g.handle(op), ws.handle(op), null, geom)) : null,
      needW ? wrap(native.convBackwardWeight(op, xs.handle(op), g.handle(op), wdtype, geom)) : null,
      needB ? wrap(native.convBiasGrad(op, g.handle(op), bdtype)) : null,
    ];
  });
}

function checkPadding(op: string, p: unknown): void {
  if (p === 'same' || p === 'valid') return;
  int(op, 'padding', p, 0);
}

/** 1-D convolution of x (N, Cin, L) with w (Cout, Cin/groups, K), as torch.nn.functional.conv1d. */
export function conv1d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv1dOptions = {}): Tensor {
  const ac = underAutocast([x, w, bias], (xc, wc, bc) => conv1d(xc as Tensor, wc as Tensor, bc, opts));
  if (ac) return ac;
  const op = 'conv1d';
  checkTensor(op, 'x', x);
  opts = optionsArg(op, opts);
  checkTensor(op, 'weight', w);
  if (opts === null || typeof opts !== 'object') throw new Error(`[${op}] options must be an object, got ${describe(opts)}`);
  if (x.ndim !== 3) throw new Error(`[${op}] x must have shape (N, Cin, L), got ${shapeStr(x.shape)}`);
  if (w.ndim !== 3) throw new Error(`[${op}] weight must have shape (Cout, Cin/groups, K), got ${shapeStr(w.shape)}`);
  const s = int(op, 'stride', opts.stride ?? 1, 1);
  const d = int(op, 'dilation', opts.dilation ?? 1, 1);
  const G = int(op, 'groups', opts.groups ?? 1, 1);
  const pad = opts.padding ?? 0;
  checkPadding(op, pad);
  const [N, Cin, L] = x.shape;
  const [Cout, cinG, K] = w.shape;
  checkGroups(op, G, Cin, Cout, x, w);
  if (cinG * G !== Cin) throw new Error(`[${op}] weight ${shapeStr(w.shape)} expects Cin/groups = ${cinG} (Cin = ${cinG * G} with groups = ${G}) but x ${shapeStr(x.shape)} has Cin = ${Cin}`);
  if (K < 1) throw new Error(`[${op}] kernel size must be >= 1, got weight ${shapeStr(w.shape)}`);
  const b = optBias(op, bias, Cout);
  const [Lout, p] = outSize(op, 'length', L, K, s, d, pad);
  const geom = [N, Cin, Cout, G, 1, L, 1, Lout, 1, K, 1, s, 0, p, 1, d, 1];
  const y = wrap(native.convForward(op, x.handle(op), w.handle(op), b ? b.handle(op) : null, geom));
  convNode(op, x, w, b, y, geom);
  return y;
}

/** 2-D convolution of x (N, Cin, H, W) with w (Cout, Cin/groups, kh, kw), as torch.nn.functional.conv2d. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const ac = underAutocast([x, w, bias], (xc, wc, bc) => conv2d(xc as Tensor, wc as Tensor, bc, opts));
  if (ac) return ac;
  const op = 'conv2d';
  checkTensor(op, 'x', x);
  opts = optionsArg(op, opts);
  checkTensor(op, 'weight', w);
  if (opts === null || typeof opts !== 'object') throw new Error(`[${op}] options must be an object, got ${describe(opts)}`);
  if (x.ndim !== 4) throw new Error(`[${op}] x must have shape (N, Cin, H, W), got ${shapeStr(x.shape)}`);
  if (w.ndim !== 4) throw new Error(`[${op}] weight must have shape (Cout, Cin/groups, kh, kw), got ${shapeStr(w.shape)}`);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? 1, 1);
  const [dh, dw] = pair(op, 'dilation', opts.dilation ?? 1, 1);
  const G = int(op, 'groups', opts.groups ?? 1, 1);
  const padOpt = opts.padding ?? 0;
  const [padH, padW]: [number | 'same' | 'valid', number | 'same' | 'valid'] =
    padOpt === 'same' || padOpt === 'valid' ? [padOpt, padOpt] : pair(op, 'padding', padOpt, 0);
  const [N, Cin, H, W] = x.shape;
  const [Cout, cinG, kh, kw] = w.shape;
  checkGroups(op, G, Cin, Cout, x, w);
  if (cinG * G !== Cin) throw new Error(`[${op}] weight ${shapeStr(w.shape)} expects Cin/groups = ${cinG} (Cin = ${cinG * G} with groups = ${G}) but x ${shapeStr(x.shape)} has Cin = ${Cin}`);
  if (kh < 1 || kw < 1) throw new Error(`[${op}] kernel size must be >= 1, got weight ${shapeStr(w.shape)}`);
  const b = optBias(op, bias, Cout);
  if (padOpt === 'same' && (sh !== 1 || sw !== 1)) throw new Error(`[${op}] padding 'same' needs stride 1, got stride [${sh}, ${sw}]`);
  const [Ho, ph] = outSize(op, 'height', H, kh, sh, dh, padH);
  const [Wo, pw] = outSize(op, 'width', W, kw, sw, dw, padW);
  const geom = [N, Cin, Cout, G, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, 2];
  const y = wrap(native.convForward(op, x.handle(op), w.handle(op), b ? b.handle(op) : null, geom));
  convNode(op, x, w, b, y, geom);
  return y;
}

/**
 * Transposed 1-D convolution of x (N, Cin, L) with w (Cin, Cout/groups, K), as
 * torch.nn.functional.conv_transpose1d: the gradient of conv1d with respect to its input.
 */
export function convTranspose1d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose1dOptions = {}): Tensor {
  const ac = underAutocast([x, w, bias], (xc, wc, bc) => convTranspose1d(xc as Tensor, wc as Tensor, bc, opts));
  if (ac) return ac;
  const op = 'convTranspose1d';
  checkTensor(op, 'x', x);
  opts = optionsArg(op, opts);
  checkTensor(op, 'weight', w);
  if (opts === null || typeof opts !== 'object') throw new Error(`[${op}] options must be an object, got ${describe(opts)}`);
  if (x.ndim !== 3) throw new Error(`[${op}] x must have shape (N, Cin, L), got ${shapeStr(x.shape)}`);
  if (w.ndim !== 3) throw new Error(`[${op}] weight must have shape (Cin, Cout/groups, K), got ${shapeStr(w.shape)}`);
  const s = int(op, 'stride', opts.stride ?? 1, 1);
  const d = int(op, 'dilation', opts.dilation ?? 1, 1);
  const G = int(op, 'groups', opts.groups ?? 1, 1);
  const p = int(op, 'padding', opts.padding ?? 0, 0);
  const op_ = int(op, 'outputPadding', opts.outputPadding ?? 0, 0);
  const [N, Cin, L] = x.shape;
  const [wCin, coutG, K] = w.shape;
  if (wCin !== Cin) throw new Error(`[${op}] weight ${shapeStr(w.shape)} is for Cin = ${wCin} input channels but x ${shapeStr(x.shape)} has ${Cin}`);
  if (Cin % G !== 0) throw new Error(`[${op}] groups = ${G} must divide the input channels (${Cin}) of x ${shapeStr(x.shape)}`);
  if (K < 1 || coutG < 1) throw new Error(`[${op}] weight ${shapeStr(w.shape)} must have Cout/groups >= 1 and K >= 1`);
  if (op_ >= s && op_ >= d) throw new Error(`[${op}] outputPadding (${op_}) must be smaller than either stride (${s}) or dilation (${d})`);
  const Cout = coutG * G;
  const b = optBias(op, bias, Cout);
  const Lout = (L - 1) * s - 2 * p + d * (K - 1) + op_ + 1;
  if (Lout < 1) {
    throw new Error(`[${op}] output length (${L} - 1) x ${s} - 2 x ${p} + ${d} x (${K} - 1) + ${op_} + 1 = ${Lout} must be >= 1; padding ${p} is too large`);
  }
  if (L < 1) throw new Error(`[${op}] x ${shapeStr(x.shape)} must have length >= 1`);
  // The conv going the other way: input (N, Cout, Lout) -> output (N, Cin, L), weight as given.
  const geom = [N, Cout, Cin, G, 1, Lout, 1, L, 1, K, 1, s, 0, p, 1, d, 1];
  const y = wrap(native.convBackwardInput(op, x.handle(op), w.handle(op), b ? b.handle(op) : null, geom));
  const inputs = [x, w, b];
  if (needsGrad(inputs)) {
    const [needX, needW, needB] = [x.requiresGrad, w.requiresGrad, b !== null && b.requiresGrad];
    const wdtype = w.dtype;
    const bdtype = b ? b.dtype : 'float32';
    record(op, inputs, [y], [x, w], ([g], [xs, ws]) => {
      if (!g) return [null, null, null];
      return [
        needX ? wrap(native.convForward(op, g.handle(op), ws.handle(op), null, geom)) : null,
        needW ? wrap(native.convBackwardWeight(op, g.handle(op), xs.handle(op), wdtype, geom)) : null,
        needB ? wrap(native.convBiasGrad(op, g.handle(op), bdtype)) : null,
      ];
    });
  }
  return y;
}
