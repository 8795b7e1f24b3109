/**
 * commands/index.ts — the CLI's subcommands, in help order. To add one, write
 * commands/<name>.ts exporting `register(program, ctx)` (commander 14: program.command(...)
 * .action(async (...) => { ... ctx.exitCode = n; })) and list it here.
 */
import type { Command } from 'commander';

import type { CliContext } from '../context';
import { register as bench } from './bench';
import { register as corpus } from './corpus';
import { register as evaluate } from './evaluate';
import { register as info } from './info';
import { register as mi } from './mi';
import { register as reproduce } from './reproduce';
import { register as train } from './train';

/** Registers one subcommand (or a few related ones) on the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: RegisterCommand[] = [reproduce, info, corpus, train, evaluate, mi, bench];
