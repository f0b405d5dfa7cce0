import { constants, lstatSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** Stable, machine-readable reasons a file path is refused; map them to API error codes. */
export const FileAccessReason = {
  InvalidPath: 'INVALID_PATH',
  PathOutsideUploadRoot: 'PATH_OUTSIDE_UPLOAD_ROOT',
  SymlinkOutsideUploadRoot: 'SYMLINK_OUTSIDE_UPLOAD_ROOT',
  FileNotFound: 'FILE_NOT_FOUND',
  NotAFile: 'NOT_A_FILE',
  FileNotReadable: 'FILE_NOT_READABLE',
  FileTooLarge: 'FILE_TOO_LARGE',
} as const;
export type FileAccessReason = (typeof FileAccessReason)[keyof typeof FileAccessReason];

/**
 * Why a user-supplied `file_path` cannot be used. The first three reasons are the
 * client's fault and are raised at request time; the rest come from the pre-read check
 * in the processor and are not worth retrying either (the file will not appear or
 * shrink by itself), so a processor can fail the task at once. Messages quote the path
 * as the user gave it, never the server's absolute upload directory.
 */
export class FileAccessError extends Error {
  constructor(
    readonly reason: FileAccessReason,
    /** The path exactly as the user gave it. */
    readonly filePath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FileAccessError';
  }

  /** Same value as `reason`, for error filters that map any coded error by `code`. */
  get code(): FileAccessReason {
    return this.reason;
  }
}

export interface UploadConfinementOptions {
  /** The upload directory (UPLOAD_DIR); relative paths resolve against it. */
  root: string;
  /** Largest file the pipeline will read, in bytes; unlimited when omitted. */
  maxFileBytes?: number;
}

/** A file that passed `checkBeforeRead`: read `realPath`, which is what was checked. */
export interface CheckedFile {
  /** The fully resolved path (symlinks followed), inside the upload root. */
  realPath: string;
  size: number;
}

/**
 * Confines user-supplied file paths to the upload directory, because a task payload's
 * `file_path` is attacker-controlled: without this a client could make the worker read
 * `/etc/passwd` or a secret next to the service. Relative paths resolve against the
 * root; absolute paths are accepted only when they already point inside it; `..` may be
 * used as long as the result stays inside; symbolic links are followed and refused if
 * their target leaves the root. The check runs twice: `validate` when the task is
 * created (cheap, fails fast for the client, tolerates a file that is not there yet) and
 * `checkBeforeRead` in the processor, because the file system may have changed in
 * between (a file replaced by a symlink, deleted, or grown).
 */
export class UploadConfinement {
  readonly root: string;
  readonly maxFileBytes: number | undefined;

  constructor({ root, maxFileBytes }: UploadConfinementOptions) {
    if (!root) throw new Error('Upload root must be a non-empty path');
    if (maxFileBytes !== undefined && !(Number.isInteger(maxFileBytes) && maxFileBytes > 0)) {
      throw new Error(`maxFileBytes must be a positive integer, got ${maxFileBytes}`);
    }
    this.root = resolve(root);
    this.maxFileBytes = maxFileBytes;
  }

  /**
   * String-level confinement only, without touching the disk: returns the absolute
   * lexical path or throws `INVALID_PATH` / `PATH_OUTSIDE_UPLOAD_ROOT`.
   */
  resolve(filePath: string): string {
    if (typeof filePath !== 'string' || filePath.trim() === '') {
      throw new FileAccessError(FileAccessReason.InvalidPath, String(filePath), 'File path must not be empty');
    }
    if (filePath.includes('\0')) {
      throw new FileAccessError(FileAccessReason.InvalidPath, filePath, 'File path must not contain NUL bytes');
    }
    const resolved = resolve(this.root, filePath);
    if (!isStrictlyInside(this.root, resolved)) {
      throw new FileAccessError(
        FileAccessReason.PathOutsideUploadRoot,
        filePath,
        `File path must point to a file inside the upload directory: ${filePath}`,
      );
    }
    return resolved;
  }

  /**
   * Request-time check: `resolve`, then follows symlinks on whatever part of the path
   * exists (the file itself, or its nearest existing parent directory) and refuses a
   * real path outside the root. Synchronous on purpose so it can back a class-validator
   * constraint; it costs one `realpath` call. Does not fail because the file is missing:
   * whether the file is there is the processor's concern. Returns the lexical path.
   */
  validate(filePath: string): string {
    const resolved = this.resolve(filePath);
    const real = realPathOfNearestExisting(resolved);
    if (real !== undefined && !isStrictlyInside(realPathOfNearestExisting(this.root) ?? this.root, real)) {
      throw new FileAccessError(
        FileAccessReason.SymlinkOutsideUploadRoot,
        filePath,
        `File path leads outside the upload directory through a symbolic link: ${filePath}`,
      );
    }
    return resolved;
  }

  /**
   * Processor-time check, just before reading: the path is confined (again, against the
   * current file system), the file exists, is a regular file (not a directory, FIFO or
   * device, which would hang or fail the reader), is readable by this process and is
   * within the size limit.
   */
  async checkBeforeRead(filePath: string): Promise<CheckedFile> {
    const resolved = this.resolve(filePath);
    let realPath: string;
    try {
      realPath = await realpath(resolved);
    } catch (error) {
      throw this.fsError(error, filePath);
    }
    const realRoot = await realpath(this.root).catch(() => this.root);
    if (!isStrictlyInside(realRoot, realPath)) {
      throw new FileAccessError(
        FileAccessReason.SymlinkOutsideUploadRoot,
        filePath,
        `File path leads outside the upload directory through a symbolic link: ${filePath}`,
      );
    }
    let stats: Stats;
    try {
      stats = await stat(realPath);
      await access(realPath, constants.R_OK);
    } catch (error) {
      throw this.fsError(error, filePath);
    }
    if (!stats.isFile()) {
      throw new FileAccessError(FileAccessReason.NotAFile, filePath, `Not a regular file: ${filePath}`);
    }
    this.assertSizeWithinLimit(stats.size, filePath);
    return { realPath, size: stats.size };
  }

  /** Throws `FILE_TOO_LARGE` when `size` exceeds the configured limit (no-op without one). */
  assertSizeWithinLimit(size: number, filePath: string): void {
    if (this.maxFileBytes !== undefined && size > this.maxFileBytes) {
      throw new FileAccessError(
        FileAccessReason.FileTooLarge,
        filePath,
        `File is too large: ${filePath} is ${formatBytes(size)}, the limit is ${formatBytes(this.maxFileBytes)}`,
      );
    }
  }

  private fsError(error: unknown, filePath: string): Error {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return new FileAccessError(FileAccessReason.FileNotFound, filePath, `File not found: ${filePath}`, { cause: error });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new FileAccessError(FileAccessReason.FileNotReadable, filePath, `File is not readable: ${filePath}`, {
        cause: error,
      });
    }
    if (code === 'ELOOP') {
      return new FileAccessError(FileAccessReason.InvalidPath, filePath, `Too many symbolic links: ${filePath}`, {
        cause: error,
      });
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** True when `child` is below `parent` (and not `parent` itself), both absolute and normalised. */
function isStrictlyInside(parent: string, child: string): boolean {
  const path = relative(parent, child);
  return path !== '' && path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path);
}

/**
 * Real path of `path`, or of its nearest existing ancestor when it does not exist yet
 * (with the missing tail appended), so a symlinked parent directory is still caught. A
 * dangling symlink is judged by where it points, so it cannot be planted now and its
 * target created outside the root later. `undefined` when the path cannot be resolved
 * for another reason (permissions, a symlink loop), leaving the verdict to the
 * processor's check.
 */
function realPathOfNearestExisting(path: string, depth = 0): string | undefined {
  let current = path;
  for (;;) {
    try {
      return resolve(realpathSync.native(current), relative(current, path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
      const target = danglingLinkTarget(current);
      if (target !== undefined) {
        return depth >= 40 ? undefined : realPathOfNearestExisting(resolve(target, relative(current, path)), depth + 1);
      }
      const parent = dirname(current);
      if (parent === current) return undefined;
      current = parent;
    }
  }
}

function danglingLinkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? resolve(dirname(path), readlinkSync(path)) : undefined;
  } catch {
    return undefined;
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1).replace(/\.0$/, '')} ${units[unit]} (${bytes} bytes)`;
}
