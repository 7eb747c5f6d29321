/**
 * A problem with what the user gave (a path, a run folder, a file in it), said in one sentence
 * that names it: hosts show the message alone, never a stack, and `prs` exits 2 for it.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Why a file operation failed, in words (the errno code in brackets for searching). */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is used up',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'the operation is not permitted there',
    ENOTDIR: 'a part of the path is a file, not a folder',
    ENOENT: 'the folder above it does not exist or does not allow new folders',
    EEXIST: 'something that is not a folder is already there',
    ENAMETOOLONG: 'the path is too long',
    ELOOP: 'the path has a loop of symbolic links',
    EIO: 'an input/output error of the device',
  };
  const code = e?.code;
  if (code && words[code]) return `${words[code]} (${code})`;
  // better-sqlite3's errors carry SQLite's codes instead.
  // SHMSIZE: the journal's -shm file could not grow, which on a full disk is how SQLite says so.
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE') return `the disk is full (${code})`;
  return code ? `${e.message.replace(/^\w+: /, '')} (${code})` : String(e?.message ?? err);
}
