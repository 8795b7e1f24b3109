/** lib/autograd — define-by-run reverse-mode autograd (see tape.ts). */
export { backward, noGrad, isGradEnabled, record, needsGrad, alias, GradNode } from './tape';
export type { BackwardFn, BackwardOptions } from './tape';
export { gradCheck } from './gradcheck';
export type { GradCheckOptions, GradCheckResult } from './gradcheck';
export { autocast, autocastDtype } from './autocast';
