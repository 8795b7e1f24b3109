/**
 * context.ts — what every command shares: the output streams and modes (--quiet, --json,
 * --verbose), and the errors that map to exit codes.
 *
 * Glossary:
 *   exit codes   0 ok; 1 failure (a run that failed, a regression found by bench); 2 bad usage
 *                or bad config (unknown option, missing argument, invalid experiment file);
 *                130 / 143 a run stopped by SIGINT / SIGTERM after saving its checkpoint
 *   --json       the command's result as one JSON document on stdout; nothing else on stdout
 *   --quiet      no progress and no summary; errors still go to stderr
 *   --verbose    error stacks, and more detail where a command has it
 */
import type { Writable } from 'stream';

/** An error the CLI reports as one line plus a hint, with its exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = 1, readonly hint?: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad usage (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
    this.name = 'UsageError';
  }
}

/** Global output options. */
export interface OutputModes {
  quiet: boolean;
  json: boolean;
  verbose: boolean;
}

/** The streams and modes a command writes with. */
export class CliContext {
  modes: OutputModes = { quiet: false, json: false, verbose: false };
  /** the exit code the command asks for (set by actions; errors set their own) */
  exitCode = 0;

  constructor(readonly stdout: Writable & { isTTY?: boolean }, readonly stderr: Writable & { isTTY?: boolean; columns?: number }) {}

  /** A human line on stdout (suppressed by --quiet and --json). */
  print(line: string): void {
    if (!this.modes.quiet && !this.modes.json) this.stdout.write(`${line}\n`);
  }

  /** A status line on stderr (progress, notes; suppressed by --quiet and --json). */
  note(line: string): void {
    if (!this.modes.quiet && !this.modes.json) this.stderr.write(`${line}\n`);
  }

  /** The command's result: JSON on stdout with --json, else `human()` printed (unless --quiet). */
  result(value: unknown, human: () => string[]): void {
    if (this.modes.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else if (!this.modes.quiet) for (const l of human()) this.stdout.write(`${l}\n`);
  }

  /** Whether progress may draw a bar (stderr is a terminal and neither --quiet nor --json). */
  get interactive(): boolean {
    return !!this.stderr.isTTY && !this.modes.quiet && !this.modes.json;
  }
}
