/** lib/ops — typed op functions. */
export { add, mul } from './elementwise';
