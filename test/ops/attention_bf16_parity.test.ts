// bf16 attention on CUDA: forward and dq/dk/dv errors against float64 no worse than 2x the
// error of PyTorch's bf16 scaled_dot_product_attention on the same bf16-rounded inputs
// (fixture made on the GPU machine by scripts/fixtures/attention_bf16.py).
import * as fs from 'fs';
import * as path from 'path';

import { io, ops } from '../../lib';
import { attentionRef } from '../../lib/ops/attention_ref';
import { describeCuda } from '../helpers/devices';
import { normRelError } from '../helpers/reference';

const file = path.resolve(__dirname, '../fixtures/attention/bf16.safetensors');

describeCuda('bf16 attention vs PyTorch bf16 error', () => {
  test('every case: errors <= 2x PyTorch bf16 (vs float64 on the same inputs)', () => {
    if (!fs.existsSync(file)) throw new Error(`fixture ${file} is missing: run scripts/fixtures/attention_bf16.py on the GPU machine`);
    const { tensors, metadata } = io.loadSafetensors(file, { device: 'cpu' });
    const cases = JSON.parse(metadata.cases) as { shape: number[]; causal: boolean; keyLengths: number[] | null; torchErr: Record<string, number> }[];
    cases.forEach((c, i) => {
      const [B, H, L, Dh] = c.shape;
      const [q, k, v, dout] = ['q', 'k', 'v', 'dout'].map((n) => tensors[`case${i}.${n}`]);
      const ref = attentionRef(q.dataSync(), k.dataSync(), v.dataSync(), [B, H, L, L, Dh], {
        causal: c.causal, keyLengths: c.keyLengths ?? undefined,
      });
      const grads = ref.backward(dout.dataSync());
      const [qb, kb, vb] = [q, k, v].map((t) => t.to({ device: 'cuda', dtype: 'bfloat16' }).detach().requiresGrad_(true));
      const out = ops.attention(qb, kb, vb, { causal: c.causal, keyLengths: c.keyLengths ?? undefined });
      out.backward(dout.to({ device: 'cuda', dtype: 'bfloat16' }));
      const ours = {
        out: normRelError(out.dataSync(), ref.out), dq: normRelError(qb.grad!.dataSync(), grads.dq),
        dk: normRelError(kb.grad!.dataSync(), grads.dk), dv: normRelError(vb.grad!.dataSync(), grads.dv),
      };
      process.stdout.write(`[attention bf16] case ${i} ${JSON.stringify(c.shape)} causal=${c.causal} ours ${JSON.stringify(ours)} torch ${JSON.stringify(c.torchErr)}\n`);
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
        expect({ i, key, ok: ours[key] <= 2 * c.torchErr[key] + 1e-6 }).toEqual({ i, key, ok: true });
      }
    });
  });
});
