import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

export interface WriteOptions {
  /** replace an existing regular file (never a link, device, FIFO or folder) */
  force: boolean;
}

/**
 * Checks, before any work is done, that `file` is a place qlstm may write: not a link,
 * device, FIFO or folder, not an existing file unless `force`, and inside a folder that
 * exists or can be created. Changes nothing on disk.
 */
export function checkOutputPath(file: string, options: WriteOptions): void {
  const existing = lstatOrUndefined(file);
  if (existing) refuseExisting(file, existing, options);
  const folder = nearestExistingFolder(path.dirname(path.resolve(file)), file);
  try {
    fs.accessSync(folder, fs.constants.W_OK);
  } catch (error) {
    throw new UsageError(`cannot write in the folder "${folder}" (${codeOf(error)})`, { file });
  }
}

/**
 * Writes `bytes` to `file` so that the file either does not change or holds all of them:
 * a temporary file in the same folder, flushed, then moved into place (without `force`,
 * by a hard link that fails if the file appeared meanwhile). Missing folders are created.
 * SIGINT, SIGTERM or SIGHUP during the write removes the temporary file before the process
 * ends by that signal.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array, options: WriteOptions): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  createFolders(dir, file);
  const temporary = path.join(dir, `.${[...path.basename(file)].slice(0, 64).join('')}.${process.pid}.${temporaryCounter++}.tmp`);
  cleanUpOnSignal();
  liveTemporaries.add(temporary);
  try {
    const handle = await fs.promises.open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    moveIntoPlace(temporary, file, options);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot write the output (${codeOf(error)})`, { file }, { cause: error });
  } finally {
    liveTemporaries.delete(temporary);
  }
}

let temporaryCounter = 0;
const liveTemporaries = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let handlersInstalled = false;

function cleanUpOnSignal(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = (signal: NodeJS.Signals) => {
    for (const temporary of liveTemporaries) fs.rmSync(temporary, { force: true });
    liveTemporaries.clear();
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    // With our handler gone the default action applies: the process ends by the same
    // signal, so the shell or CI runner sees 130, 143 or 129 as usual.
    process.kill(process.pid, signal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
}

function moveIntoPlace(temporary: string, file: string, options: WriteOptions): void {
  const existing = lstatOrUndefined(file);
  if (existing) refuseExisting(file, existing, options);
  if (options.force) {
    fs.renameSync(temporary, file);
    return;
  }
  try {
    fs.linkSync(temporary, file);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EEXIST') refuseExisting(file, fs.lstatSync(file), options);
    // Some file systems have no hard links; the check above is then all there is.
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code)) throw error;
    fs.renameSync(temporary, file);
    return;
  }
  fs.rmSync(temporary);
}

function refuseExisting(file: string, stat: fs.Stats, options: WriteOptions): void {
  const kind = stat.isSymbolicLink()
    ? 'a symbolic link'
    : stat.isDirectory()
      ? 'a folder'
      : stat.isCharacterDevice()
        ? 'a character device'
        : stat.isBlockDevice()
          ? 'a block device'
          : stat.isFIFO()
            ? 'a FIFO'
            : stat.isSocket()
              ? 'a socket'
              : undefined;
  if (kind) throw new UsageError(`is ${kind}; qlstm writes only regular files`, { file });
  if (!options.force) throw new UsageError('already exists; pass --force to replace it', { file });
}

/** The closest folder at or above `dir` that exists; refuses a file standing where a folder must be. */
function nearestExistingFolder(dir: string, file: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(at);
    } catch (error) {
      const code = codeOf(error);
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(at) !== at) continue;
      throw new UsageError(`cannot use the folder "${at}" (${code})`, { file });
    }
    if (!stat.isDirectory()) throw new UsageError(`its folder cannot be created: "${at}" is not a folder`, { file });
    return at;
  }
}

/** `mkdir -p`, one level at a time (node's recursive mkdir loops forever under /proc). */
function createFolders(dir: string, file: string): void {
  const existing = nearestExistingFolder(dir, file);
  const missing = path.relative(existing, dir).split(path.sep).filter(Boolean);
  let at = existing;
  for (const part of missing) {
    at = path.join(at, part);
    try {
      fs.mkdirSync(at);
    } catch (error) {
      if (codeOf(error) !== 'EEXIST') throw new UsageError(`cannot create the folder "${at}" (${codeOf(error)})`, { file });
    }
  }
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UsageError(`cannot use this output path (${code})`, { file });
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? String((error as Error)?.message ?? error);
}
