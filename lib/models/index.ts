/** lib/models — the paper's task models on the shared encoder spec. */
export * from './encoder_spec';
