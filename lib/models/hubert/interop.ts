/**
 * interop.ts — loading torchaudio HuBERT weights (HuBERTPretrainModel, or the Wav2Vec2Model that
 * torchaudio.models.hubert_base() / a fine-tuned bundle returns) into models.Hubert / HubertCtc.
 * A fairseq checkpoint goes through torchaudio first (torchaudio.models.wav2vec2.utils.
 * import_fairseq_model), then `save_file(model.state_dict(), ...)` to safetensors.
 *
 * Name mapping (torchaudio -> mamba-speech), with i = conv block, l = layer:
 *   [wav2vec2.]feature_extractor.conv_layers.i.conv.weight     feature_extractor.conv_layers.i.conv.weight
 *   [wav2vec2.]feature_extractor.conv_layers.0.layer_norm.*    feature_extractor.conv_layers.0.layer_norm.*
 *   [wav2vec2.]encoder.feature_projection.layer_norm.*         feature_projection.layer_norm.*
 *   [wav2vec2.]encoder.feature_projection.projection.*         feature_projection.projection.*
 *   [wav2vec2.]encoder.transformer.pos_conv_embed.conv.weight_g / .parametrizations.weight.original0
 *                                                              pos_conv_embed.conv.weight_g (1, 1, kernel)
 *   ... .conv.weight_v / .parametrizations.weight.original1    pos_conv_embed.conv.weight_v
 *   ... .conv.bias                                             pos_conv_embed.conv.bias
 *   [wav2vec2.]encoder.transformer.layer_norm.*                layer_norm.*
 *   ...transformer.layers.l.attention.{q,k,v}_proj.weight      encoder.layers.l.self_attn.in_proj_weight
 *                                                              = concat(q, k, v) (3d, d), PyTorch MHA order
 *   ...transformer.layers.l.attention.{q,k,v}_proj.bias        encoder.layers.l.self_attn.in_proj_bias (3d)
 *   ...transformer.layers.l.attention.out_proj.*               encoder.layers.l.self_attn.out_proj.*
 *   ...transformer.layers.l.layer_norm.*                       encoder.layers.l.norm1.*
 *   ...transformer.layers.l.feed_forward.intermediate_dense.*  encoder.layers.l.linear1.*
 *   ...transformer.layers.l.feed_forward.output_dense.*        encoder.layers.l.linear2.*
 *   ...transformer.layers.l.final_layer_norm.*                 encoder.layers.l.norm2.*
 *   mask_generator.mask_embedding                              mask_embedding
 *   logit_generator.final_proj.*                               final_proj.*
 *   logit_generator.label_embeddings                           label_embeddings (K, final_dim)
 *   aux.* (a fine-tuned Wav2Vec2Model's CTC head)              ctc_proj.*
 * The model must be built with the same sizes, encoder type 'transformer', activation 'gelu',
 * frontend 'cnn' (torchaudio 'group_norm' extractor, no conv bias: base; the 'layer_norm'
 * extractor of large is not supported) and normFirst = torchaudio's encoder_layer_norm_first.
 */
import { concat } from '../../ops/shape';
import { loadSafetensors } from '../../io/safetensors';
import { Tensor } from '../../tensor/tensor';
import type { Module } from '../../nn/module';

const RULES: [RegExp, string][] = [
  [/^feature_extractor\.(.*)$/, 'feature_extractor.$1'],
  [/^encoder\.feature_projection\.(.*)$/, 'feature_projection.$1'],
  [/^encoder\.transformer\.pos_conv_embed\.conv\.parametrizations\.weight\.original0$/, 'pos_conv_embed.conv.weight_g'],
  [/^encoder\.transformer\.pos_conv_embed\.conv\.parametrizations\.weight\.original1$/, 'pos_conv_embed.conv.weight_v'],
  [/^encoder\.transformer\.pos_conv_embed\.(.*)$/, 'pos_conv_embed.$1'],
  [/^encoder\.transformer\.layer_norm\.(.*)$/, 'layer_norm.$1'],
  [/^encoder\.transformer\.layers\.(\d+)\.attention\.out_proj\.(.*)$/, 'encoder.layers.$1.self_attn.out_proj.$2'],
  [/^encoder\.transformer\.layers\.(\d+)\.layer_norm\.(.*)$/, 'encoder.layers.$1.norm1.$2'],
  [/^encoder\.transformer\.layers\.(\d+)\.feed_forward\.intermediate_dense\.(.*)$/, 'encoder.layers.$1.linear1.$2'],
  [/^encoder\.transformer\.layers\.(\d+)\.feed_forward\.output_dense\.(.*)$/, 'encoder.layers.$1.linear2.$2'],
  [/^encoder\.transformer\.layers\.(\d+)\.final_layer_norm\.(.*)$/, 'encoder.layers.$1.norm2.$2'],
  [/^mask_generator\.mask_embedding$/, 'mask_embedding'],
  [/^logit_generator\.(final_proj\..*|label_embeddings)$/, '$1'],
  [/^aux\.(.*)$/, 'ctc_proj.$1'],
];
const QKV = /^encoder\.transformer\.layers\.(\d+)\.attention\.([qkv])_proj\.(weight|bias)$/;

/**
 * A torchaudio HuBERT state dict (see the mapping in the module header) under mamba-speech names.
 * q/k/v projections are concatenated into new tensors; every other tensor is passed through (not
 * copied). Throws `[fromTorchaudioHubert] ...` listing names it does not know or incomplete q/k/v.
 */
export function fromTorchaudioHubert(sd: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const qkv = new Map<string, Partial<Record<'q' | 'k' | 'v', Tensor>>>();
  const unknown: string[] = [];
  for (const [key0, t] of Object.entries(sd)) {
    const key = key0.replace(/^wav2vec2\./, '');
    const m = QKV.exec(key);
    if (m) {
      const slot = `encoder.layers.${m[1]}.self_attn.in_proj_${m[3]}`;
      const e = qkv.get(slot) ?? {};
      e[m[2] as 'q' | 'k' | 'v'] = t;
      qkv.set(slot, e);
      continue;
    }
    const rule = RULES.find(([re]) => re.test(key));
    if (!rule) {
      unknown.push(key0);
      continue;
    }
    out[key.replace(rule[0], rule[1])] = t;
  }
  if (unknown.length) throw new Error(`[fromTorchaudioHubert] names that are not torchaudio HuBERT parameters: ${unknown.join(', ')}`);
  for (const [slot, e] of qkv) {
    if (!e.q || !e.k || !e.v) throw new Error(`[fromTorchaudioHubert] ${slot}: q, k and v projections must all be present, got ${Object.keys(e).join(', ')}`);
    out[slot] = concat([e.q, e.k, e.v], 0);
  }
  return out;
}

/**
 * Loads a torchaudio HuBERT safetensors file into `model` (Hubert or HubertCtc) by the mapping
 * above; strict by default (every parameter of the model must come from the file, no extras —
 * except that a HubertCtc ignores the pre-training heads and may lack ctc_proj and num_updates,
 * as when a pre-trained checkpoint starts a fine-tuning run). Returns the keys left out.
 */
export function loadTorchaudioHubert(model: Module, file: string, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
  const { tensors } = loadSafetensors(file, { device: 'cpu', asFloat32: true });
  const made: Tensor[] = [];
  try {
    const mapped = fromTorchaudioHubert(tensors);
    for (const t of Object.values(mapped)) if (!Object.values(tensors).includes(t)) made.push(t);
    const own = model.stateDict();
    const ctc = 'ctc_proj.weight' in own;
    if (ctc) for (const k of ['final_proj.weight', 'final_proj.bias', 'label_embeddings']) delete mapped[k];
    // Checked before anything is written: a file that does not fit leaves the model as it was.
    const optional = (k: string) => ctc && (k.startsWith('ctc_proj.') || k === 'num_updates');
    const missing = Object.keys(own).filter((k) => !(k in mapped) && !optional(k));
    const unexpected = Object.keys(mapped).filter((k) => !(k in own));
    if ((opts.strict ?? true) && (missing.length || unexpected.length)) {
      throw new Error(`[loadTorchaudioHubert] ${file} does not fit this model: missing ${missing.join(', ') || 'none'}; unexpected ${unexpected.join(', ') || 'none'}`);
    }
    return model.loadStateDict(mapped, { strict: false });
  } finally {
    Object.values(tensors).forEach((t) => t.dispose());
    made.forEach((t) => t.dispose());
  }
}
