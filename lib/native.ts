/**
 * native.ts — the one typed description of the addon; nothing else requires the .node file.
 *
 * The addon is looked up, in order: MAMBA_SPEECH_ADDON (a path), build/Release and build/Debug
 * (a build from source: cmake-js and node-gyp put it there), then the prebuilt CPU binary shipped
 * in the package, prebuilds/<platform>-<arch>/mamba_speech.napi.node (N-API 8: one binary for
 * every Node >= 20). So `npm install mamba-speech` works without running any install script;
 * CUDA needs a build from source (`npx mamba-speech-build`), which then takes precedence. When
 * nothing matches (another platform, no build), requiring the package throws an error naming the
 * commands that build it.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Opaque native tensor handle (native/binding/tensor_wrap.cc). */
export interface NativeHandle {
  shape(): number[];
  /** [shape, dtype, device]; `op` names the caller in errors. */
  meta(op?: string): [number[], string, string];
  /** Values into `dst` (4 bytes per element) or a new ArrayBuffer. */
  dataSync(dst?: ArrayBuffer): Float32Array | Int32Array;
  data(dst?: ArrayBuffer): Promise<Float32Array | Int32Array>;
  dispose(): void;
  isDisposed(): boolean;
  to(dtype: string, device: string, recycle?: NativeHandle): NativeHandle;
  sharesMemoryWith(other: NativeHandle | ArrayBufferView): boolean;
}

export interface NativeBuildInfo {
  napiVersion: number;
  cuda: boolean;
  cublas: boolean;
  cudaStatus: string;
  cudaRuntimeVersion: number;
  threads: number;
  gpus: { name: string; memoryBytes: number; cc: string; smCount: number }[];
}

export interface NativeMemory {
  tensors: number;
  storages: number;
  bytes: { cpu: number; cuda: number };
  cudaCached: number;
  cudaReserved: number;
  cudaAllocCalls: number;
  cudaCacheHits: number;
  cpuCached: number;
  cpuReserved: number;
  cpuAllocCalls: number;
  cpuCacheHits: number;
}

/** Options of selectiveScanFwd/Bwd as the addon takes them (tensors as handles). */
export interface NativeScanOptions {
  D?: NativeHandle | null;
  z?: NativeHandle | null;
  deltaBias?: NativeHandle | null;
  initialState?: NativeHandle | null;
  lengths?: NativeHandle | null;
  deltaSoftplus?: boolean;
  reverse?: boolean;
  returnLastState?: boolean;
  /** Keep chunk-boundary states for the backward (CUDA). */
  save?: boolean;
  deterministic?: boolean;
}

/** Options of causalConv1dFwd/Bwd as the addon takes them. */
export interface NativeConvOptions {
  bias?: NativeHandle | null;
  initialState?: NativeHandle | null;
  lengths?: NativeHandle | null;
  silu?: boolean;
  returnFinalState?: boolean;
}

/** Options of normFwd/normBwd: x seen as (N, C, S) with G groups (lib/ops/norm.ts). */
export interface NativeNormOptions {
  weight?: NativeHandle | null;
  bias?: NativeHandle | null;
  runningMean?: NativeHandle | null;
  runningVar?: NativeHandle | null;
  N: number;
  C: number;
  S: number;
  G: number;
  eps: number;
  momentum?: number;
  training?: boolean;
}

export interface NativeAddon {
  fromTypedArray(data: ArrayBufferView, shape: number[], dtype: string, device: string, copy: boolean, recycle?: NativeHandle): NativeHandle;
  fill(shape: number[], value: number, dtype: string, device: string, recycle?: NativeHandle): NativeHandle;
  arange(start: number, step: number, n: number, dtype: string, device: string, recycle?: NativeHandle): NativeHandle;
  random(kind: 0 | 1, shape: number[], seed: number | bigint, offset: number | bigint, dtype: string, device: string, recycle?: NativeHandle): NativeHandle;
  add(a: NativeHandle, b: NativeHandle | number, recycle?: NativeHandle): NativeHandle;
  mul(a: NativeHandle, b: NativeHandle | number, recycle?: NativeHandle): NativeHandle;
  buildInfo(): NativeBuildInfo;
  memory(): NativeMemory;
  emptyCache(): void;
  setNumThreads(n: number): void;
  synchronize(): void;
  /** kind 0 h2d pageable, 1 h2d pinned, 2 d2h pinned, 3 d2d; returns median seconds. */
  timeCopy(kind: number, bytes: number, iters: number): number;
  /** Benchmarks: record a CUDA event on the stream (returns its id); milliseconds between two. */
  eventRecord(): number;
  eventElapsed(a: number, b: number): number;
  /** A handle over `x`'s storage with another shape/strides/offset (bounds-checked). */
  view(x: NativeHandle, shape: number[], strides: number[], offset: number, recycle?: NativeHandle): NativeHandle;
  /** `x` itself if contiguous, else a row-major copy. */
  contiguous(x: NativeHandle, recycle?: NativeHandle): NativeHandle;
  /** [strides, offset, storage elements] */
  layout(x: NativeHandle): [number[], number, number];
  /** Writes `src` (broadcast) into the strided view `dst`. */
  copyInto(dst: NativeHandle, src: NativeHandle): void;
  /** Elementwise: codes are the enum values in native/ops/elementwise/elementwise.h (lib/ops/codes.ts). */
  binary(code: number, a: NativeHandle, b: NativeHandle | number, recycle?: NativeHandle): NativeHandle;
  where(cond: NativeHandle, a: NativeHandle, b: NativeHandle, recycle?: NativeHandle): NativeHandle;
  unary(code: number, x: NativeHandle, p0: number, p1: number, recycle?: NativeHandle): NativeHandle;
  unaryBackward(code: number, x: NativeHandle, y: NativeHandle, g: NativeHandle, p0: number, p1: number, recycle?: NativeHandle): NativeHandle;
  /** Row reductions over (rows, k); codes in native/ops/reduce/reduce.h. */
  reduceRows(code: number, x: NativeHandle, rows: number, k: number, p: number, recycle?: NativeHandle): NativeHandle;
  /** sum/mean over the middle axis of a contiguous (outer, k, inner) view (CPU or CUDA) -> (outer * inner). */
  reduceCols(op: number, x: NativeHandle, outer: number, k: number, inner: number, recycle?: NativeHandle): NativeHandle;
  softmaxRows(x: NativeHandle, rows: number, k: number, log: boolean, recycle?: NativeHandle): NativeHandle;
  softmaxRowsBackward(y: NativeHandle, g: NativeHandle, rows: number, k: number, log: boolean, recycle?: NativeHandle): NativeHandle;
  /** Selective scan (native/binding/scan_binding.cc): [out, lastState | null, saved | null]. */
  selectiveScanFwd(u: NativeHandle, delta: NativeHandle, A: NativeHandle, B: NativeHandle, C: NativeHandle, opts: NativeScanOptions): [NativeHandle, NativeHandle | null, NativeHandle | null];
  /** [du, ddelta, dA, dB, dC, dD | null, dz | null, ddeltaBias | null, dinitialState | null] */
  selectiveScanBwd(u: NativeHandle, delta: NativeHandle, A: NativeHandle, B: NativeHandle, C: NativeHandle, opts: NativeScanOptions,
    saved: NativeHandle | null, dout: NativeHandle | null, dlast: NativeHandle | null): (NativeHandle | null)[];
  /** Causal depthwise conv1d: [out, finalState | null]. */
  causalConv1dFwd(x: NativeHandle, weight: NativeHandle, opts: NativeConvOptions): [NativeHandle, NativeHandle | null];
  /** [dx, dweight, dbias | null, dinitialState | null] */
  causalConv1dBwd(x: NativeHandle, weight: NativeHandle, opts: NativeConvOptions, dout: NativeHandle | null, dfinal: NativeHandle | null): (NativeHandle | null)[];
  /** GEMM: a (M, K) · b (K, N) -> (M, N), or batched a (Bt, M, K) · b (Bt, K, N) -> (Bt, M, N); any strides. */
  matmul(a: NativeHandle, b: NativeHandle, allowTF32: boolean, recycle?: NativeHandle): NativeHandle;
  /** CPU micro-kernel in use; `forceOwnCuda` switches CUDA matmul to the project's kernel. */
  matmulKernels(forceOwnCuda?: boolean): { cpu: string; ownCuda: boolean };
  TensorHandle: new () => NativeHandle;
  /** Fused attention forward (native/ops/attention): [out (B, H, Lq, Dh), lse (B, H, Lq) float32]. */
  attentionForward(q: NativeHandle, k: NativeHandle, v: NativeHandle, keyLengths: NativeHandle | null, queryLengths: NativeHandle | null, causal: boolean, scale: number, dropout: number, seed: number | bigint, offset: number | bigint, allowTF32: boolean): [NativeHandle, NativeHandle];
  /** Fused attention backward: [dq, dk, dv]. */
  attentionBackward(dout: NativeHandle, q: NativeHandle, k: NativeHandle, v: NativeHandle, out: NativeHandle, lse: NativeHandle, keyLengths: NativeHandle | null, queryLengths: NativeHandle | null, causal: boolean, scale: number, dropout: number, seed: number | bigint, offset: number | bigint, deterministic: boolean, allowTF32: boolean): [NativeHandle, NativeHandle, NativeHandle];
  /**
   * Fused optimizer step over every param, in place (native/ops/optim): algo 0 SGD, 1 Adam/AdamW;
   * `m` holds momentum buffers (SGD) or exp_avg; `hyper` packs 12 values per param in the order
   * of lib/optim/fused.ts. Checks everything before the first write.
   */
  optimStep(algo: 0 | 1, op: string, params: NativeHandle[], grads: NativeHandle[], m: (NativeHandle | null)[], v: (NativeHandle | null)[], vmax: (NativeHandle | null)[], hyper: Float64Array): void;
  /** Per tensor: sum |x|^p (max |x| for p = Infinity), accumulated in double. */
  optimNormParts(xs: NativeHandle[], p: number, scalars?: NativeHandle[]): Float64Array;
  /** x *= factor in place for every tensor (aliases of one buffer scaled once). */
  optimScale(xs: NativeHandle[], factor: number): void;
  /** Indexing on a (O, N, I) view (native/ops/index); geo = [O, Nx, Ni, I, s0, s1, s2, dim]. out[o,j,k] = x[o, idx, k] -> (O, Ni, I). */
  gatherDim(op: string, x: NativeHandle, index: NativeHandle, geo: number[], validate: boolean, recycle?: NativeHandle): NativeHandle;
  /** base (or zeros) with src[o,j,k] added at [o, idx, k] (skipping idx == skip), deterministic -> (O, Nx, I). */
  scatterAddDim(op: string, base: NativeHandle | null, index: NativeHandle, src: NativeHandle, geo: number[], skip: number | null, validate: boolean, recycle?: NativeHandle): NativeHandle;
  cumsumDim(x: NativeHandle, O: number, N: number, I: number, reverse: boolean, recycle?: NativeHandle): NativeHandle;
  oneHot(labels: NativeHandle, numClasses: number, validate: boolean, recycle?: NativeHandle): NativeHandle;
  /** x * keep / (1 - p) with the Philox mask of (seed, offset); the same call on a gradient is the backward. */
  dropout(x: NativeHandle, p: number, seed: number | bigint, offset: number | bigint, recycle?: NativeHandle): NativeHandle;
  /** Fused log-softmax + NLL rows (native/ops/loss/cross_entropy.h): [loss (M), lse (M), wrow (M)]. */
  crossEntropyFwd(op: string, logits: NativeHandle, target: NativeHandle, weight: NativeHandle | null, ignoreIndex: number, smoothing: number, logInput: boolean, validate: boolean): [NativeHandle, NativeHandle, NativeHandle];
  crossEntropyBwd(op: string, logits: NativeHandle, target: NativeHandle, weight: NativeHandle | null, lse: NativeHandle, g: NativeHandle, ignoreIndex: number, smoothing: number, logInput: boolean, recycle?: NativeHandle): NativeHandle;
  /** CTC (native/ops/loss/ctc.h): [nll (B), alpha (B, T, 2S+1)]. */
  ctcLossFwd(logProbs: NativeHandle, targets: NativeHandle, inputLengths: NativeHandle, targetLengths: NativeHandle, blank: number, zeroInfinity: boolean): [NativeHandle, NativeHandle];
  ctcLossBwd(logProbs: NativeHandle, targets: NativeHandle, inputLengths: NativeHandle, targetLengths: NativeHandle, alpha: NativeHandle, g: NativeHandle, blank: number, zeroInfinity: boolean, recycle?: NativeHandle): NativeHandle;
  /** Fused norms (native/ops/norm): kind 0 layer, 1 rms, 2 group, 3 batch -> [y, mean (f32), rstd (f32)]; updates the running stats in place. */
  normFwd(kind: number, x: NativeHandle, opts: NativeNormOptions): [NativeHandle, NativeHandle, NativeHandle];
  /** [dx | null, dweight | null, dbias | null] */
  normBwd(kind: number, x: NativeHandle, mean: NativeHandle, rstd: NativeHandle, dy: NativeHandle, opts: NativeNormOptions, needDx: boolean): (NativeHandle | null)[];
  /** Convolutions (native/ops/conv): geom = [N, Cin, Cout, G, ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, spatial]. */
  convForward(op: string, x: NativeHandle, w: NativeHandle, bias: NativeHandle | null, geom: number[]): NativeHandle;
  /** dx of a conv (+ bias per input channel: a transposed conv's forward). */
  convBackwardInput(op: string, dy: NativeHandle, w: NativeHandle, bias: NativeHandle | null, geom: number[]): NativeHandle;
  convBackwardWeight(op: string, x: NativeHandle, dy: NativeHandle, wdtype: string, geom: number[]): NativeHandle;
  /** dy (N, C, ...) summed over every dim but 1 -> (C) in `dtype`. */
  convBiasGrad(op: string, dy: NativeHandle, dtype: string): NativeHandle;
}

/** Package root: lib/ and dist/ both sit one level below it. */
export const packageRoot = path.resolve(__dirname, '..');

const candidates = [
  path.join(packageRoot, 'build', 'Release', 'mamba_speech.node'),
  path.join(packageRoot, 'build', 'Debug', 'mamba_speech.node'),
];
/** The prebuilt CPU addon for this platform (present in the published package for linux-x64). */
export const prebuiltPath = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'mamba_speech.napi.node');

function buildHint(): string {
  return (
    'Build it with one of:\n' +
    '  npx mamba-speech-build\n' +
    '  npm rebuild mamba-speech --foreground-scripts --allow-scripts=mamba-speech\n' +
    '(npm 11 skips the install scripts of dependencies until you approve them: ' +
    '`npm approve-scripts mamba-speech` records that approval in your package.json.) ' +
    'Set MAMBA_SPEECH_CUDA=0 for a CPU-only build.'
  );
}

/** Where the loaded addon came from: its path, and whether it is the prebuilt CPU binary. */
export interface AddonSource {
  path: string;
  prebuilt: boolean;
}

function find(): AddonSource {
  const override = process.env.MAMBA_SPEECH_ADDON;
  if (override) return { path: override, prebuilt: false };
  const built = candidates.find((p) => fs.existsSync(p));
  if (built) return { path: built, prebuilt: false };
  if (fs.existsSync(prebuiltPath)) return { path: prebuiltPath, prebuilt: true };
  throw new Error(
    `[mamba-speech] the native addon is not built: no ${candidates[0]}, and no prebuilt binary for ` +
    `${process.platform}-${process.arch} (the package ships one for linux-x64).\n${buildHint()}`,
  );
}

function load(src: AddonSource): NativeAddon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(src.path) as NativeAddon;
  } catch (e) {
    throw new Error(
      `[mamba-speech] the native addon at ${src.path} failed to load: ${(e as Error).message}\n${buildHint()}`,
    );
  }
}

/**
 * Every call that makes a tensor takes an optional last argument `recycle`: a disposed handle the
 * addon may reuse instead of creating a new wrapped object (see Tensor.dispose).
 */
/** The addon's path and kind (see buildInfo().addon). */
export const addonSource: AddonSource = find();
/** The loaded addon (loaded once per JS environment: main thread or worker). */
export const native: NativeAddon = load(addonSource);
