import { constants, lstatSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Stable, machine-readable reasons a file path is refused; map them to API error codes. */
export const FileAccessReason = {
  InvalidPath: 'INVALID_PATH',
  PathOutsideUploadRoot: 'PATH_OUTSIDE_UPLOAD_ROOT',
  SymlinkOutsideUploadRoot: 'SYMLINK_OUTSIDE_UPLOAD_ROOT',
  FileNotFound: 'FILE_NOT_FOUND',
  NotAFile: 'NOT_A_FILE',
  FileNotReadable: 'FILE_NOT_READABLE',
  FileTooLarge: 'FILE_TOO_LARGE',
  HardLinkRefused: 'HARD_LINK_REFUSED',
  /** Swapped, renamed or replaced between resolving and opening: a retry sees the file as it is then. */
  FileChanged: 'FILE_CHANGED',
} as const;
export type FileAccessReason = (typeof FileAccessReason)[keyof typeof FileAccessReason];

/**
 * Why a user-supplied `file_path` cannot be used. The first three reasons are the
 * client's fault and are raised at request time; the rest come from the read in the
 * processor, which decides which of them are worth a retry. Messages quote the path
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
  /** The upload directory (UPLOAD_DIR). */
  root: string;
  /**
   * A subdirectory of `root` that is this confinement's whole world (per-kb upload
   * namespaces: the kb id). Relative paths resolve against it, and it must be a real
   * directory: a symlink there would lead out of `root`.
   */
  namespace?: string;
  /** Largest file the pipeline will read, in bytes; unlimited when omitted. */
  maxFileBytes?: number;
  /** Read files that have other hard links too (off: a link planted in the folder could name any file of the file system). */
  allowHardLinks?: boolean;
}

/** A file read by `readConfined`: its bytes, read through the descriptor that was checked. */
export interface ConfinedFile {
  bytes: Buffer;
}

/**
 * Opened without following a symlink in the last component, without blocking on a FIFO or
 * device (O_NONBLOCK: a FIFO opens at once and is then refused as not a regular file, so
 * no libuv thread ever waits on it), and without taking a terminal as controlling tty.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const READ_CHUNK_BYTES = 1 << 20;
/** Where Linux shows the path a descriptor was really opened at; elsewhere the dev+ino comparison stands in. */
const PROC_FD_DIR = '/proc/self/fd';

/**
 * Confines user-supplied file paths to the upload directory, because a task payload's
 * `file_path` is attacker-controlled: without this a client could make the worker read
 * `/etc/passwd` or a secret next to the service. Relative paths resolve against the
 * root; absolute paths are accepted only when they already point inside it; `..` may be
 * used as long as the result stays inside; symbolic links that stay inside are allowed.
 * The check runs twice: `validate` when the task is created (cheap, fails fast for the
 * client, tolerates a file that is not there yet) and `readConfined` in the processor,
 * which opens the file once and judges the descriptor, not the path, because the file
 * system may change at any moment (a file swapped for a symlink or a FIFO, a directory
 * swapped for a link to another one).
 */
export class UploadConfinement {
  readonly root: string;
  readonly maxFileBytes: number | undefined;
  private readonly uploadDir: string;
  private readonly namespace: string | undefined;
  private readonly allowHardLinks: boolean;

  constructor({ root, namespace, maxFileBytes, allowHardLinks = false }: UploadConfinementOptions) {
    if (!root) throw new Error('Upload root must be a non-empty path');
    if (maxFileBytes !== undefined && !(Number.isInteger(maxFileBytes) && maxFileBytes > 0)) {
      throw new Error(`maxFileBytes must be a positive integer, got ${maxFileBytes}`);
    }
    if (
      namespace !== undefined &&
      (namespace === '' || namespace === '.' || namespace === '..' || /[/\\\0]/.test(namespace))
    ) {
      throw new Error(`Upload namespace must be one path segment, got ${JSON.stringify(namespace)}`);
    }
    this.uploadDir = resolve(root);
    this.namespace = namespace;
    this.root = namespace === undefined ? this.uploadDir : join(this.uploadDir, namespace);
    this.maxFileBytes = maxFileBytes;
    this.allowHardLinks = allowHardLinks;
  }

  /**
   * String-level confinement only, without touching the disk: returns the absolute
   * lexical path or throws `INVALID_PATH` / `PATH_OUTSIDE_UPLOAD_ROOT`.
   */
  resolve(filePath: unknown): string {
    // Typed unknown: payload values reach this from JSON, so a non-string must be refused here.
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
    if (
      real !== undefined &&
      !isStrictlyInside(this.realRoot(realPathOfNearestExisting(this.uploadDir) ?? this.uploadDir), real)
    ) {
      throw this.outside(filePath);
    }
    return resolved;
  }

  /**
   * Processor-time read. Resolves the path's symlinks and refuses a real path outside the
   * root, then opens that real path once (see OPEN_FLAGS) and checks the descriptor: where
   * it was really opened (a directory swapped for a link between the two steps shows
   * here), that it is a regular file with no other hard link, and its size. The bytes are
   * read through that same descriptor, at most `maxFileBytes` of them even if the file
   * grows meanwhile, so what was checked is what is read.
   */
  async readConfined(filePath: string, { signal }: { signal?: AbortSignal } = {}): Promise<ConfinedFile> {
    const resolved = this.resolve(filePath);
    const realRoot = this.realRoot(await realpath(this.uploadDir).catch(() => this.uploadDir));
    let realPath: string;
    try {
      realPath = await realpath(resolved);
    } catch (error) {
      throw this.fsError(error, filePath);
    }
    if (!isStrictlyInside(realRoot, realPath)) throw this.outside(filePath);
    signal?.throwIfAborted();
    let handle: FileHandle;
    try {
      handle = await open(realPath, OPEN_FLAGS);
    } catch (error) {
      // ELOOP: the real path's last component became a symlink since it was resolved.
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw this.changed(filePath, error);
      throw this.fsError(error, filePath);
    }
    try {
      const stats = await handle.stat();
      await this.assertOpenedInside(handle, stats, realRoot, realPath, filePath);
      if (!stats.isFile()) {
        throw new FileAccessError(FileAccessReason.NotAFile, filePath, `Not a regular file: ${filePath}`);
      }
      if (stats.nlink > 1 && !this.allowHardLinks) {
        throw new FileAccessError(
          FileAccessReason.HardLinkRefused,
          filePath,
          `File has ${stats.nlink} hard links; hard-linked uploads are refused (UPLOAD_ALLOW_HARD_LINKS): ${filePath}`,
        );
      }
      this.assertSizeWithinLimit(stats.size, filePath);
      const bytes = await this.readAll(handle, filePath, signal);
      return { bytes };
    } finally {
      await handle.close();
    }
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

  /** The root's real path, given the upload directory's: a namespace directory must be a real one, never a link. */
  private realRoot(realUploadDir: string): string {
    return this.namespace === undefined ? realUploadDir : join(realUploadDir, this.namespace);
  }

  /**
   * The descriptor's own location must be inside the root. On Linux /proc names the very
   * file that was opened, so no swap can fool it; elsewhere the real path must still name
   * the same inode as the descriptor (a narrower, not closed, window).
   */
  private async assertOpenedInside(
    handle: FileHandle,
    stats: Stats,
    realRoot: string,
    realPath: string,
    filePath: string,
  ): Promise<void> {
    const opened = await readlink(`${PROC_FD_DIR}/${handle.fd}`).catch(() => undefined);
    if (opened !== undefined) {
      if (opened.endsWith(' (deleted)')) throw this.changed(filePath);
      if (!isStrictlyInside(realRoot, opened)) throw this.outside(filePath);
      return;
    }
    const now = await lstat(realPath).catch(() => undefined);
    if (now?.dev !== stats.dev || now.ino !== stats.ino) throw this.changed(filePath);
  }

  /** Reads to the end through the descriptor, refusing as soon as more than `maxFileBytes` came in. */
  private async readAll(handle: FileHandle, filePath: string, signal: AbortSignal | undefined): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let total = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      total += bytesRead;
      this.assertSizeWithinLimit(total, filePath);
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
  }

  private outside(filePath: string): FileAccessError {
    return new FileAccessError(
      FileAccessReason.SymlinkOutsideUploadRoot,
      filePath,
      `File path leads outside the upload directory through a symbolic link: ${filePath}`,
    );
  }

  private changed(filePath: string, cause?: unknown): FileAccessError {
    return new FileAccessError(
      FileAccessReason.FileChanged,
      filePath,
      `File changed while it was being opened: ${filePath}`,
      { cause },
    );
  }

  private fsError(error: unknown, filePath: string): Error {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return new FileAccessError(FileAccessReason.FileNotFound, filePath, `File not found: ${filePath}`, {
        cause: error,
      });
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

export interface UploadFolderOptions {
  /** UPLOAD_DIR. */
  root: string;
  /** Each kb reads only `<root>/<kb_id>/` (UPLOAD_NAMESPACE=per_kb). */
  perKb: boolean;
  maxFileBytes?: number;
  allowHardLinks?: boolean;
}

/** The upload directory as the task pipeline sees it: which part of it a kb's tasks may read. */
export class UploadFolder {
  constructor(private readonly options: UploadFolderOptions) {}

  /** Whether each kb reads only its own folder, `<root>/<kb_id>/`. */
  get perKb(): boolean {
    return this.options.perKb;
  }

  /** The confinement of `kbId`'s file paths (kb ids cannot hold `/` or be `.`/`..`; see KB_ID_PATTERN). */
  forKb(kbId: string): UploadConfinement {
    const { root, perKb, maxFileBytes, allowHardLinks } = this.options;
    return new UploadConfinement({ root, namespace: perKb ? kbId : undefined, maxFileBytes, allowHardLinks });
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
