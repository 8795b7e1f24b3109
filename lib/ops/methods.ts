/**
 * methods.ts — the common ops as Tensor methods (`x.add(y).relu().sum()`), installed on the
 * prototype here because the op modules import the Tensor class. Each method is the op of the
 * same name in lib/ops, with its gradient.
 */
import { Tensor } from '../tensor/tensor';
import * as E from './elementwise';
import * as R from './reduce';
import * as S from './shape';

type Operand = Tensor | number;

declare module '../tensor/tensor' {
  interface Tensor {
    add(other: Operand): Tensor;
    sub(other: Operand): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    pow(other: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    sum(dims?: R.Dims, keepdim?: boolean): Tensor;
    mean(dims?: R.Dims, keepdim?: boolean): Tensor;
    max(dims?: R.Dims, keepdim?: boolean): Tensor;
    min(dims?: R.Dims, keepdim?: boolean): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    reshape(shape: readonly number[]): Tensor;
    permute(perm: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    squeeze(dims?: number | readonly number[]): Tensor;
    expand(shape: readonly number[]): Tensor;
    flatten(start?: number, end?: number): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    contiguous(): Tensor;
  }
}

const P = Tensor.prototype;
P.add = function (o) { return E.add(this, o); };
P.sub = function (o) { return E.sub(this, o); };
P.mul = function (o) { return E.mul(this, o); };
P.div = function (o) { return E.div(this, o); };
P.pow = function (o) { return E.pow(this, o); };
P.neg = function () { return E.neg(this); };
P.exp = function () { return E.exp(this); };
P.log = function () { return E.log(this); };
P.sqrt = function () { return E.sqrt(this); };
P.abs = function () { return E.abs(this); };
P.relu = function () { return E.relu(this); };
P.sigmoid = function () { return E.sigmoid(this); };
P.tanh = function () { return E.tanh(this); };
P.sum = function (d, k) { return R.sum(this, d, k); };
P.mean = function (d, k) { return R.mean(this, d, k); };
P.max = function (d, k) { return R.max(this, d, k); };
P.min = function (d, k) { return R.min(this, d, k); };
P.softmax = function (d) { return R.softmax(this, d); };
P.logSoftmax = function (d) { return R.logSoftmax(this, d); };
P.reshape = function (s) { return S.reshape(this, s); };
P.permute = function (p) { return S.permute(this, p); };
P.transpose = function (a, b) { return S.transpose(this, a, b); };
P.unsqueeze = function (d) { return S.unsqueeze(this, d); };
P.squeeze = function (d) { return S.squeeze(this, d); };
P.expand = function (s) { return S.expand(this, s); };
P.flatten = function (a, b) { return S.flatten(this, a, b); };
P.slice = function (d, a, b, c) { return S.slice(this, d, a, b, c); };
P.contiguous = function () { return S.contiguous(this); };
