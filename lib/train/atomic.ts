/**
 * atomic.ts — files that appear whole or not at all: write a temp file beside the target, fsync,
 * rename over the target (POSIX rename is atomic within one file system), fsync the folder.
 *
 * Glossary:
 *   temp name   `.<target>.<pid>.<threadId>.<counter>.<random>.tmp` — unique per call, so two
 *               writers (processes, worker threads, or overlapping calls of one thread) never
 *               share a temp file, and the pid says whose it is
 *   stale temp  a temp of the same target left by a writer that died mid-write (SIGKILL, power
 *               loss): its pid is no longer alive, or it is ours but no call of ours is writing it
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { threadId } from 'worker_threads';

let counter = 0;
const inFlight = new Set<string>();

/** A fresh temp path for `target` in the same folder (see the glossary for the name). */
export function tempPathFor(target: string): string {
  counter += 1;
  const rand = crypto.randomBytes(4).toString('hex');
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${threadId}.${counter}.${rand}.tmp`);
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/**
 * Removes temp files of `target` whose writer is gone (its pid is dead, or it is this process but
 * no write of ours is using it). Temps of live writers are left alone. Returns the removed paths.
 */
export function cleanStaleTemps(target: string): string[] {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  // Our own names, and those of a writer nested inside (saveSafetensors writes `.<our temp>.<pid>.<ms>.tmp`).
  const re = new RegExp(`^\\.\\.?${escapeRe(base)}\\.(\\d+)\\..*\\.tmp$`);
  for (const n of names) {
    const m = re.exec(n);
    if (!m) continue;
    const full = path.join(dir, n);
    const pid = Number(m[1]);
    const ours = pid === process.pid && [...inFlight].some((t) => n.includes(path.basename(t)));
    if (ours || (pid !== process.pid && pidAlive(pid))) continue;
    fs.rmSync(full, { force: true });
    removed.push(full);
  }
  return removed;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* some file systems refuse a directory fsync; the rename is still atomic */
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * Writes `target` atomically through `write(tempPath)`, which must create the temp file (any
 * way it likes). On success the temp is fsynced and renamed over `target`; on any error the temp
 * is removed, `target` keeps its previous content, and the error is rethrown. Stale temps of the
 * same target are cleaned first.
 */
export function writeAtomicWith(target: string, write: (tmp: string) => void): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  cleanStaleTemps(target);
  const tmp = tempPathFor(target);
  inFlight.add(tmp);
  try {
    write(tmp);
    const fd = fs.openSync(tmp, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    fsyncDir(path.dirname(target));
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    inFlight.delete(tmp);
  }
}

/** Writes `data` to `target` atomically (see writeAtomicWith). */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  writeAtomicWith(target, (tmp) => fs.writeFileSync(tmp, data));
}
