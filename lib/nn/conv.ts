/**
 * conv.ts — convolution layers with torch.nn names and init (kaiming_uniform(a = sqrt(5)) weights,
 * bias U(±1/sqrt(fan_in))): Conv1d weight (out, in/groups, k); Conv2d (out, in/groups, kh, kw);
 * ConvTranspose1d (in, out/groups, k).
 */
import { conv1d, conv2d, convTranspose1d, Conv1dOptions, Conv2dOptions, ConvTranspose1dOptions } from '../ops/conv';
import { Tensor } from '../tensor/tensor';
import { deriveSeed, kaimingUniform, uniform } from './init';
import { LayerOptions } from './layers';
import { Module } from './module';

function bias(n: number, fanIn: number, seed: number, device: LayerOptions['device']): Tensor {
  const b = 1 / Math.sqrt(Math.max(fanIn, 1));
  return uniform([n], -b, b, { seed: deriveSeed(seed, 'bias'), device });
}

export class Conv1d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number,
    readonly opts: Conv1dOptions & LayerOptions & { bias?: boolean } = {}) {
    super();
    const g = opts.groups ?? 1;
    if (inChannels % g || outChannels % g) throw new Error(`[Conv1d] groups ${g} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    const seed = opts.seed ?? 0;
    this.weight = this.param('weight', kaimingUniform([outChannels, inChannels / g, kernelSize], Math.sqrt(5), { seed: deriveSeed(seed, 'weight'), device: opts.device }));
    this.bias = opts.bias === false ? null : this.param('bias', bias(outChannels, (inChannels / g) * kernelSize, seed, opts.device));
  }
  /** x (N, Cin, L) -> (N, Cout, L') */
  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, this.opts);
  }
}

export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number | readonly [number, number],
    readonly opts: Conv2dOptions & LayerOptions & { bias?: boolean } = {}) {
    super();
    const g = (opts as { groups?: number }).groups ?? 1;
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const seed = opts.seed ?? 0;
    this.weight = this.param('weight', kaimingUniform([outChannels, inChannels / g, kh, kw], Math.sqrt(5), { seed: deriveSeed(seed, 'weight'), device: opts.device }));
    this.bias = opts.bias === false ? null : this.param('bias', bias(outChannels, (inChannels / g) * kh * kw, seed, opts.device));
  }
  /** x (N, Cin, H, W) -> (N, Cout, H', W') */
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.opts);
  }
}

export class ConvTranspose1d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number,
    readonly opts: ConvTranspose1dOptions & LayerOptions & { bias?: boolean } = {}) {
    super();
    const g = opts.groups ?? 1;
    const seed = opts.seed ?? 0;
    // PyTorch computes fan_in from weight (in, out/groups, k) as out/groups * k.
    this.weight = this.param('weight', kaimingUniform([inChannels, outChannels / g, kernelSize], Math.sqrt(5), { seed: deriveSeed(seed, 'weight'), device: opts.device }));
    this.bias = opts.bias === false ? null : this.param('bias', bias(outChannels, (outChannels / g) * kernelSize, seed, opts.device));
  }
  /** x (N, Cin, L) -> (N, Cout, L') */
  forward(x: Tensor): Tensor {
    return convTranspose1d(x, this.weight, this.bias, this.opts);
  }
}
