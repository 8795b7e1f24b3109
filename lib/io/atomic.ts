/**
 * atomic.ts — whole-file writes that nobody ever sees half done: checkpoints, manifests, feature
 * caches, WAV files.
 *
 * Glossary:
 *   target     the file being written
 *   temp file  `.<target name>.<host>-<pid>-<thread>-<counter>-<random>.tmp` in the target's
 *              folder (a rename is atomic only within one file system)
 *   stale      a temp file whose writer is gone: on this host with a dead pid, or untouched for
 *              an hour (another host's writer, or a pid reused since)
 *
 * Semantics of writeFileAtomic, also with several threads or processes writing one target at once:
 * each writer fills its own temp file (the name is unique per call: pid + worker-thread id + a
 * per-thread counter + 48 random bits; pid + Date.now() collided between threads), flushes it to
 * disk, closes it once, and renames it over the target. The last complete writer wins; the target
 * is always one writer's whole output, never torn and never a mix of two. A writer killed midway
 * leaves only its temp file, which the next write (or checked read) of the same target removes.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { threadId } from 'worker_threads';

// Temp files untouched this long belong to no live writer (a multi-GB checkpoint is written in
// seconds; mtime moves with every write).
const STALE_MS = 60 * 60 * 1000;
const HOST = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 16) || 'host';
let counter = 0;

/** The temp-file name prefix of `file` (its folder + `.<name>.`). */
function tempPrefix(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.`);
}

/** A fresh temp path for `file` in its folder (the name in the glossary; never repeats). */
export function tempPathFor(file: string): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  const rand = crypto.randomBytes(6).toString('hex');
  return `${tempPrefix(file)}${HOST}-${process.pid}-${threadId}-${counter}-${rand}.tmp`;
}

const TEMP_RE = /^([A-Za-z0-9]+)-(\d+)-(\d+)-(\d+)-([0-9a-f]{12})\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/**
 * Removes stale temp files of `file` (see the glossary) and returns their paths. Errors (a
 * read-only folder, a file removed meanwhile) are ignored: cleaning is best effort.
 */
export function cleanStaleTemps(file: string): string[] {
  const dir = path.dirname(file);
  const base = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const m = TEMP_RE.exec(name.slice(base.length));
    if (!m) continue;
    const full = path.join(dir, name);
    try {
      const dead = m[1] === HOST && !processAlive(Number(m[2]));
      if (dead || now - fs.statSync(full).mtimeMs > STALE_MS) {
        fs.unlinkSync(full);
        removed.push(full);
      }
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

/** Options of writeFileAtomic. */
export interface AtomicWriteOptions {
  /**
   * Flush the data to disk before the rename, so that a power cut too leaves the old or the new
   * file (default false: a process crash is covered either way; checkpoints pass true, thousands
   * of corpus WAV files do not pay a disk flush each).
   */
  fsync?: boolean;
  /** Create the target's folder when missing (default true). */
  mkdir?: boolean;
}

/** Flushes a folder's entry table (the rename) to disk; some file systems refuse: ignored. */
function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* the rename is atomic either way */
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * Writes `target` atomically through `write(tempPath)`, which must create the temp file (any way
 * it likes): then the temp is flushed (opts.fsync, default true here), renamed over `target`, and
 * the folder flushed. On any error the temp is removed, `target` keeps its previous content and
 * the error is rethrown. Stale temps of the same target are cleaned first.
 */
export function writeAtomicWith(target: string, write: (tmp: string) => void, opts: AtomicWriteOptions = {}): void {
  if (opts.mkdir ?? true) fs.mkdirSync(path.dirname(target), { recursive: true });
  cleanStaleTemps(target);
  const tmp = tempPathFor(target);
  try {
    write(tmp);
    if (opts.fsync ?? true) {
      const fd = fs.openSync(tmp, 'r+');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.renameSync(tmp, target);
    if (opts.fsync ?? true) fsyncDir(path.dirname(target));
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes `data` (bytes, a string as UTF-8, or a list of byte chunks written in order) to `file`
 * atomically: temp file + flush + rename, with the semantics in the file comment. Throws the
 * underlying fs error (with the temp file removed); callers prefix their op name.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string | readonly Uint8Array[], opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  if (opts.mkdir ?? true) fs.mkdirSync(dir, { recursive: true });
  cleanStaleTemps(file);
  const tmp = tempPathFor(file);
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  let fd: number | null = fs.openSync(tmp, 'wx', 0o644);
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += fs.writeSync(fd, c, off, c.byteLength - off);
    }
    if (opts.fsync ?? false) fs.fsyncSync(fd);
    const f = fd;
    fd = null; // closed exactly once, even when close itself fails
    fs.closeSync(f);
    fs.renameSync(tmp, file);
    if (opts.fsync ?? false) fsyncDir(dir);
  } catch (e) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* the write error is the one to report */
      }
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
