import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAccessError, FileAccessReason, UploadConfinement } from './file-confinement';

function reasonOf(action: () => unknown): FileAccessReason | 'none' {
  try {
    action();
    return 'none';
  } catch (error) {
    if (error instanceof FileAccessError) return error.reason;
    throw error;
  }
}

async function reasonOfAsync(action: () => Promise<unknown>): Promise<FileAccessReason | 'none'> {
  try {
    await action();
    return 'none';
  } catch (error) {
    if (error instanceof FileAccessError) return error.reason;
    throw error;
  }
}

describe('UploadConfinement', () => {
  let base: string;
  let root: string;
  let outside: string;
  let confinement: UploadConfinement;

  beforeAll(async () => {
    base = realpathSync(await mkdtemp(join(tmpdir(), 'confinement-spec-')));
    root = join(base, 'uploads');
    outside = join(base, 'secret');
    await mkdir(join(root, 'docs'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'docs', 'a.txt'), 'hello');
    await writeFile(join(root, 'big.txt'), 'x'.repeat(2048));
    await writeFile(join(outside, 'passwd'), 'secret');
    await symlink(join(outside, 'passwd'), join(root, 'escape.txt'));
    await symlink(outside, join(root, 'escape-dir'));
    await symlink(join(outside, 'not-yet.txt'), join(root, 'dangling.txt'));
    await symlink(join(root, 'docs', 'a.txt'), join(root, 'alias.txt'));
    await symlink(root, join(base, 'uploads-link'));
    confinement = new UploadConfinement({ root, maxFileBytes: 1024 });
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  describe('validate (request time)', () => {
    it('resolves relative paths against the root, even when the file does not exist yet', () => {
      expect(confinement.validate('docs/a.txt')).toBe(join(root, 'docs', 'a.txt'));
      expect(confinement.validate('./docs/not-uploaded-yet.pdf')).toBe(join(root, 'docs', 'not-uploaded-yet.pdf'));
      expect(confinement.validate('new-dir/deeper/file.md')).toBe(join(root, 'new-dir', 'deeper', 'file.md'));
    });

    it('accepts an absolute path only inside the root', () => {
      expect(confinement.validate(join(root, 'docs', 'a.txt'))).toBe(join(root, 'docs', 'a.txt'));
      expect(reasonOf(() => confinement.validate(join(outside, 'passwd')))).toBe(FileAccessReason.PathOutsideUploadRoot);
      expect(reasonOf(() => confinement.validate('/etc/passwd'))).toBe(FileAccessReason.PathOutsideUploadRoot);
      // A sibling whose name merely starts with the root's name is outside.
      expect(reasonOf(() => confinement.validate(`${root}-other/file.txt`))).toBe(FileAccessReason.PathOutsideUploadRoot);
    });

    it('refuses .. escapes but allows .. that stays inside', () => {
      expect(reasonOf(() => confinement.validate('../secret/passwd'))).toBe(FileAccessReason.PathOutsideUploadRoot);
      expect(reasonOf(() => confinement.validate('docs/../../secret/passwd'))).toBe(FileAccessReason.PathOutsideUploadRoot);
      expect(confinement.validate('docs/../docs/a.txt')).toBe(join(root, 'docs', 'a.txt'));
    });

    it('refuses the root itself, empty paths and NUL bytes', () => {
      expect(reasonOf(() => confinement.validate('.'))).toBe(FileAccessReason.PathOutsideUploadRoot);
      expect(reasonOf(() => confinement.validate('docs/..'))).toBe(FileAccessReason.PathOutsideUploadRoot);
      expect(reasonOf(() => confinement.validate(''))).toBe(FileAccessReason.InvalidPath);
      expect(reasonOf(() => confinement.validate('   '))).toBe(FileAccessReason.InvalidPath);
      expect(reasonOf(() => confinement.validate('a\0.txt'))).toBe(FileAccessReason.InvalidPath);
    });

    it('refuses symlinks whose real path leaves the root: to a file, through a directory, or dangling', () => {
      expect(reasonOf(() => confinement.validate('escape.txt'))).toBe(FileAccessReason.SymlinkOutsideUploadRoot);
      expect(reasonOf(() => confinement.validate('escape-dir/passwd'))).toBe(FileAccessReason.SymlinkOutsideUploadRoot);
      expect(reasonOf(() => confinement.validate('escape-dir/missing/file.txt'))).toBe(
        FileAccessReason.SymlinkOutsideUploadRoot,
      );
      expect(reasonOf(() => confinement.validate('dangling.txt'))).toBe(FileAccessReason.SymlinkOutsideUploadRoot);
    });

    it('accepts a symlink that stays inside the root, and a root that is itself a symlink', () => {
      expect(confinement.validate('alias.txt')).toBe(join(root, 'alias.txt'));
      const viaLink = new UploadConfinement({ root: join(base, 'uploads-link') });
      expect(viaLink.validate('docs/a.txt')).toBe(join(base, 'uploads-link', 'docs', 'a.txt'));
      expect(reasonOf(() => viaLink.validate('escape.txt'))).toBe(FileAccessReason.SymlinkOutsideUploadRoot);
    });

    it('quotes the path as given, not the server directory', () => {
      expect(() => confinement.validate('../secret/passwd')).toThrow(
        'File path must point to a file inside the upload directory: ../secret/passwd',
      );
      try {
        confinement.validate('escape.txt');
      } catch (error) {
        expect((error as Error).message).not.toContain(base);
        expect(error).toMatchObject({ code: 'SYMLINK_OUTSIDE_UPLOAD_ROOT', filePath: 'escape.txt' });
      }
      expect.assertions(3);
    });
  });

  describe('checkBeforeRead (processor time)', () => {
    it('returns the real path and size of a readable regular file', async () => {
      await expect(confinement.checkBeforeRead('docs/a.txt')).resolves.toEqual({
        realPath: join(root, 'docs', 'a.txt'),
        size: 5,
      });
      await expect(confinement.checkBeforeRead('alias.txt')).resolves.toEqual({
        realPath: join(root, 'docs', 'a.txt'),
        size: 5,
      });
    });

    it('reports a missing file with the path the user gave', async () => {
      const error = await confinement.checkBeforeRead('docs/x.pdf').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FileAccessError);
      expect(error).toMatchObject({ reason: 'FILE_NOT_FOUND', filePath: 'docs/x.pdf', message: 'File not found: docs/x.pdf' });
      expect(await reasonOfAsync(() => confinement.checkBeforeRead('docs/a.txt/below'))).toBe(FileAccessReason.FileNotFound);
    });

    it('refuses directories, oversized files and escapes', async () => {
      expect(await reasonOfAsync(() => confinement.checkBeforeRead('docs'))).toBe(FileAccessReason.NotAFile);
      expect(await reasonOfAsync(() => confinement.checkBeforeRead('big.txt'))).toBe(FileAccessReason.FileTooLarge);
      expect(await reasonOfAsync(() => confinement.checkBeforeRead('escape.txt'))).toBe(
        FileAccessReason.SymlinkOutsideUploadRoot,
      );
      expect(await reasonOfAsync(() => confinement.checkBeforeRead('../secret/passwd'))).toBe(
        FileAccessReason.PathOutsideUploadRoot,
      );
      await expect(confinement.checkBeforeRead('big.txt')).rejects.toThrow(
        'File is too large: big.txt is 2 KiB (2048 bytes), the limit is 1 KiB (1024 bytes)',
      );
    });

    it('catches a file swapped for an escaping symlink after validation', async () => {
      await writeFile(join(root, 'swapped.txt'), 'fine');
      expect(confinement.validate('swapped.txt')).toBe(join(root, 'swapped.txt'));
      await rm(join(root, 'swapped.txt'));
      await symlink(join(outside, 'passwd'), join(root, 'swapped.txt'));
      expect(await reasonOfAsync(() => confinement.checkBeforeRead('swapped.txt'))).toBe(
        FileAccessReason.SymlinkOutsideUploadRoot,
      );
    });

    // Root can read any file, so permission denial cannot be observed when tests run as root.
    (process.getuid?.() === 0 ? it.skip : it)('refuses a file this process cannot read', async () => {
      const file = join(root, 'locked.txt');
      await writeFile(file, 'locked');
      await chmod(file, 0o000);
      expect(await reasonOfAsync(() => confinement.checkBeforeRead('locked.txt'))).toBe(FileAccessReason.FileNotReadable);
    });
  });

  it('checks sizes only when a limit is configured', () => {
    expect(reasonOf(() => confinement.assertSizeWithinLimit(1024, 'a'))).toBe('none');
    expect(reasonOf(() => confinement.assertSizeWithinLimit(1025, 'a'))).toBe(FileAccessReason.FileTooLarge);
    expect(reasonOf(() => new UploadConfinement({ root }).assertSizeWithinLimit(10 ** 12, 'a'))).toBe('none');
    expect(() => new UploadConfinement({ root, maxFileBytes: 0 })).toThrow(/maxFileBytes/);
    expect(() => new UploadConfinement({ root: '' })).toThrow(/Upload root/);
  });
});
