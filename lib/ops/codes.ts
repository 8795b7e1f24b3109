/**
 * codes.ts — op codes shared with the addon. The order must match the C++ enums:
 * BinaryOp / UnaryOp in native/ops/elementwise/elementwise.h, ReduceOp in native/ops/reduce/reduce.h.
 * (The op tests exercise every code against an independent reference, so a mismatch fails there.)
 */
export const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'minimum', 'maximum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type BinaryName = (typeof BINARY)[number];

export const UNARY = [
  'neg', 'abs', 'sign', 'square', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'reciprocal', 'sin', 'cos', 'tanh',
  'sigmoid', 'relu', 'leakyRelu', 'gelu', 'geluTanh', 'silu', 'softplus', 'clamp', 'powScalar',
] as const;
export type UnaryName = (typeof UNARY)[number];

export const REDUCE = ['sum', 'mean', 'max', 'min', 'logsumexp', 'var', 'argmax', 'argmin'] as const;
export type ReduceName = (typeof REDUCE)[number];

export const binaryCode = (n: BinaryName): number => BINARY.indexOf(n);
export const unaryCode = (n: UnaryName): number => UNARY.indexOf(n);
export const reduceCode = (n: ReduceName): number => REDUCE.indexOf(n);
