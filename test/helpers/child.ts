/**
 * child.ts — runs code in a separate Node process, so that a native crash (a signal, an abort)
 * fails the test that caused it instead of killing the jest worker, and a hang is cut off by a
 * timeout. The child loads the TypeScript sources through test/helpers/ts-register.js; `LIB` in
 * the code is the absolute path of lib/ (use `require(LIB)`). Its default device is the CPU
 * (MAMBA_SPEECH_DEVICE=cpu, unless `env` says otherwise): these are host-side tests, and on a GPU
 * machine they must not start CUDA (under `ulimit -v`, or on a card another test is filling).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '../..');
export const REGISTER = path.join(ROOT, 'test/helpers/ts-register.js');
export const LIB = path.join(ROOT, 'lib');
export const ADDON = path.join(ROOT, 'build/Release/mamba_speech.node');

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Options of runChild: extra node flags, env, a timeout (ms) and a shell prefix (e.g. `ulimit -v N;`). */
export interface ChildOptions {
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  shellPrefix?: string;
  args?: string[];
}

/** Runs `code` (CommonJS JavaScript; `LIB`, `ADDON` and `ROOT` are defined) in a child node process. */
export function runChild(code: string, opts: ChildOptions = {}): ChildResult {
  const prelude = `const LIB = ${JSON.stringify(LIB)}, ADDON = ${JSON.stringify(ADDON)}, ROOT = ${JSON.stringify(ROOT)};\n`;
  const nodeArgs = ['-r', REGISTER, ...(opts.nodeArgs ?? []), '-e', prelude + code, '--', ...(opts.args ?? [])];
  const env = { ...process.env, MAMBA_SPEECH_DEVICE: 'cpu', ...opts.env };
  const timeout = opts.timeoutMs ?? 60000;
  const r = opts.shellPrefix
    ? spawnSync('bash', ['-c', `${opts.shellPrefix} exec "$0" "$@"`, process.execPath, ...nodeArgs], { env, timeout, encoding: 'utf8', maxBuffer: 64 << 20 })
    : spawnSync(process.execPath, nodeArgs, { env, timeout, encoding: 'utf8', maxBuffer: 64 << 20 });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut };
}

/** One line describing how a child ended, for assertion messages. */
export function describeExit(r: ChildResult): string {
  const how = r.timedOut ? 'timed out' : r.signal ? `died of ${r.signal}` : `exited with ${r.status}`;
  return `${how}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}
