/** lib/ops — typed op functions, each with its gradient. */
export * from './elementwise';
export * from './shape';
export * from './reduce';
import './methods';
