/**
 * lib/cli — the `mamba-speech` command (bin/mamba-speech.js calls main with process.argv minus
 * node and the script): info, corpus, train, resume, eval, decode, bench (commands/). Errors are
 * one line `mamba-speech: <message>` plus a `hint:` line when there is one; --verbose adds the
 * stack. Exit codes: see context.ts.
 */
import { Command, CommanderError } from 'commander';

import '../ops'; // tensor methods (x.add(...)) that some layers call
import { buildInfo } from '../tensor/device';
import { ConfigError } from '../train/config';
import { TrainingError } from '../train/trainer';
import { COMMANDS } from './commands';
import { CliContext, CliError } from './context';

export { CliContext, CliError, UsageError } from './context';
export type { OutputModes } from './context';
export { COMMANDS } from './commands';
export type { RegisterCommand } from './commands';
export { TrainProgress, formatDuration } from './progress';

/** The program with every command registered on `ctx` (exported for embedding and tests). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('mamba-speech')
    .description('Mamba- and attention-based speech models: corpora, training, evaluation, benchmarks')
    .version(buildInfo().version, '-V, --version')
    .option('-q, --quiet', 'no progress or summaries (errors still shown)')
    .option('--json', 'print the result as JSON on stdout (no progress)')
    .option('-v, --verbose', 'show stacks on errors, and more detail')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  program.hook('preAction', (thisCommand, actionCommand) => {
    // The output modes may come before the command (global) or after it (the command's own).
    const o = { ...thisCommand.opts(), ...actionCommand.opts() } as { quiet?: boolean; json?: unknown; verbose?: boolean };
    ctx.modes = { quiet: !!o.quiet, json: o.json === true, verbose: !!o.verbose };
  });
  for (const register of COMMANDS) register(program, ctx);
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
    const has = (flag: string): boolean => c.options.some((x) => x.long === flag);
    if (!has('--quiet')) c.option('-q, --quiet', 'no progress or summaries (errors still shown)');
    if (!has('--json')) c.option('--json', 'print the result as JSON on stdout (no progress)');
    if (!has('--verbose')) c.option('-v, --verbose', 'show stacks on errors, and more detail');
  }
  return program;
}

function hintFor(e: Error): string | undefined {
  if (e instanceof CliError) return e.hint;
  if (e instanceof ConfigError) return 'fix the config file (configs/ has worked examples), or override with --set key=value';
  if (e instanceof TrainingError) return undefined;
  const m = e.message;
  if (/ENOENT/.test(m)) return 'check the path';
  if (/out of memory|cudaErrorMemoryAllocation/i.test(m)) return 'lower data.maxFrames or the model size';
  return undefined;
}

/** Runs the CLI on `argv` (without node and the script name); resolves to the exit code. */
export async function main(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  const ctx = new CliContext((io.stdout ?? process.stdout) as CliContext['stdout'], (io.stderr ?? process.stderr) as CliContext['stderr']);
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors (already printed by commander) exit 2
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.executeSubCommandAsync') return 1;
      return 2;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    const code = e instanceof CliError ? e.exitCode : e instanceof ConfigError ? 2 : 1;
    ctx.stderr.write(`mamba-speech: ${e.message}\n`);
    const hint = hintFor(e);
    if (hint) ctx.stderr.write(`hint: ${hint}\n`);
    if (verbose && e.stack) ctx.stderr.write(`${e.stack}\n`);
    else if (!(e instanceof CliError) && !(e instanceof ConfigError) && !(e instanceof TrainingError)) ctx.stderr.write('(run with --verbose for the stack)\n');
    return code;
  }
}
