/** `mamba-speech info`: the build (version, N-API, CUDA, cuBLAS), GPUs, threads, versions. */
import type { Command } from 'commander';
import * as os from 'os';

import { buildInfo } from '../../tensor/device';
import { findEspeak } from '../../data/espeak';
import type { CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program.command('info')
    .description('show the build, CUDA, GPUs, threads and versions')
    .action(() => {
      const b = buildInfo();
      const info = {
        version: b.version,
        node: process.version,
        platform: `${os.platform()} ${os.arch()}`,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        threads: b.threads,
        napiVersion: b.napiVersion,
        cuda: b.cuda,
        cublas: b.cublas,
        cudaRuntimeVersion: b.cudaRuntimeVersion,
        cudaStatus: b.cudaStatus,
        gpus: b.gpus,
        defaultDevice: b.defaultDevice,
        espeak: findEspeak(),
      };
      const gib = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GiB`;
      ctx.result(info, () => [
        `mamba-speech ${info.version} (node ${info.node}, ${info.platform}, N-API ${info.napiVersion})`,
        `cpu:      ${info.cpu}, ${info.cores} cores, ${info.threads} native threads`,
        `cuda:     ${info.cuda ? `built with CUDA${info.cublas ? ' + cuBLAS' : ''}, runtime ${info.cudaRuntimeVersion}` : 'built without CUDA'}${info.cuda && info.gpus.length === 0 ? ` (${info.cudaStatus})` : ''}`,
        ...info.gpus.map((g, i) => `gpu ${i}:    ${g.name}, ${gib(g.memoryBytes)}, compute ${g.cc}, ${g.smCount} SMs`),
        `device:   ${info.defaultDevice} (default; MAMBA_SPEECH_DEVICE overrides)`,
        `espeak:   ${info.espeak ?? 'not found (corpus espeak needs espeak-ng)'}`,
      ]);
    });
}
