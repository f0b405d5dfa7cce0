import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocumentReadError, UnsupportedFormatError, detectFormat, extractText } from './text-extractor';

// PDF extraction loads pdf.js through a native dynamic import, which jest only allows with
// NODE_OPTIONS=--experimental-vm-modules (the npm test scripts set it):
//   NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects unit src/pipeline

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const PHRASES: Record<string, string[]> = {
  'sample.txt': ['saffron lighthouse'],
  'sample.md': ['velvet thunderstorm'],
  'sample.html': ['copper nightingale'],
  'sample.pdf': ['ultramarine pelican', 'quantum marmalade'],
  'sample.docx': ['obsidian carousel'],
};
const ALL_PHRASES = Object.values(PHRASES).flat();

describe('extractText', () => {
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'extractor-spec-'));
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it.each(Object.keys(PHRASES))('extracts %s with its own distinctive phrases and no other fixture’s', async (file) => {
    const { text } = await extractText(join(FIXTURES, file));
    for (const phrase of PHRASES[file]) expect(text).toContain(phrase);
    for (const phrase of ALL_PHRASES.filter((p) => !PHRASES[file].includes(p))) expect(text).not.toContain(phrase);
    expect(text.length).toBeGreaterThan(400);
    expect(text).toBe(text.trim());
    expect(text).not.toMatch(/\r| {2}|\n{3}|\u00a0/);
  });

  it.each([
    ['sample.txt', 'txt'],
    ['sample.md', 'md'],
    ['sample.html', 'html'],
    ['sample.pdf', 'pdf'],
    ['sample.docx', 'docx'],
  ])('reports the format of %s as %s', async (file, format) => {
    expect((await extractText(join(FIXTURES, file))).format).toBe(format);
  });

  it('reads both PDF pages, in order, and reports progress per page', async () => {
    const progress: [number, number][] = [];
    const result = await extractText(join(FIXTURES, 'sample.pdf'), {
      onPage: (page, total) => {
        progress.push([page, total]);
      },
    });
    expect(result.pages).toBe(2);
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(result.text.indexOf('ultramarine pelican')).toBeLessThan(result.text.indexOf('quantum marmalade'));
    // Page break and the blank line drawn between paragraphs both become paragraph breaks.
    expect(result.text).toContain('previous week.\n\nLaboratory Appendix');
    expect(result.text).toContain('almost an hour.\n\nWe recorded');
  });

  it('keeps Markdown paragraphs and drops markup, link targets and emphasis markers', async () => {
    const { text } = await extractText(join(FIXTURES, 'sample.md'));
    expect(text.startsWith('Orchard Weather Journal\n\nThe spring of this year')).toBe(true);
    expect(text).toContain('a velvet thunderstorm rolled over');
    expect(text).not.toMatch(/[#*[\]]|https?:/);
    expect(text.split('\n\n').length).toBeGreaterThanOrEqual(6);
  });

  it('drops scripts, styles, images and link targets from HTML but keeps paragraphs', async () => {
    const { text } = await extractText(join(FIXTURES, 'sample.html'));
    expect(text).not.toMatch(/console\.log|font-family|nightingale\.jpg|https?:|<\w/);
    expect(text).toContain('Museum of Clockwork Birds\n\nThe collection began');
    expect(text).toContain('tour schedule for details');
  });

  it('drops the text of script, style, noscript and template elements wherever they are', async () => {
    const { text } = await extractText(join(FIXTURES, 'hidden-content.html'));
    for (const hidden of [
      'marzipanwolf',
      'tangerinequokka',
      'gravelmoose',
      'cobaltherring',
      'saffronyak',
      'periwinkle',
      'zircon',
    ]) {
      expect(text).not.toContain(hidden);
    }
    expect(text).toBe(
      'Harbour Lantern Festival\n\nEvery autumn the harbour fills with paper lanterns, floated at dusk by families from both banks of the river.\n\n' +
        'The parade starts at the old customs house and ends at the lighthouse pier.',
    );
  });

  it('waits for each page report before reading on, so reports never overtake each other', async () => {
    const log: string[] = [];
    await extractText(join(FIXTURES, 'sample.pdf'), {
      onPage: async (page) => {
        log.push(`start ${page}`);
        // A report that takes a few turns of the event loop, as a database write does.
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        log.push(`end ${page}`);
      },
    });
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('keeps DOCX paragraphs separated by blank lines', async () => {
    const { text } = await extractText(join(FIXTURES, 'sample.docx'));
    expect(text.split('\n\n')).toHaveLength(4);
    expect(text.startsWith('Quarterly Facilities Report\n\nThe renovation')).toBe(true);
  });

  it('normalises CRLF, NBSP and runs of spaces in plain text but keeps paragraph breaks', async () => {
    const file = join(tmp, 'messy.TXT');
    await writeFile(file, '\uFEFF  First\u00a0line  with   gaps\r\nsecond line\r\n\r\n\r\n\r\nNew\tparagraph  \r\n');
    const result = await extractText(file);
    expect(result).toEqual({ format: 'txt', text: 'First line with gaps\nsecond line\n\nNew paragraph' });
  });

  it('decodes a non-UTF-8 text file as Latin-1 rather than producing replacement characters', async () => {
    const file = join(tmp, 'legacy.txt');
    await writeFile(file, Buffer.from('Caf\xe9 cr\xe8me', 'latin1'));
    expect((await extractText(file)).text).toBe('Café crème');
  });

  it('rejects an unsupported extension naming it and the supported list', async () => {
    const error = await extractText(join(tmp, 'slides.pptx')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedFormatError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_FORMAT', extension: '.pptx' });
    expect((error as Error).message).toBe(
      'Unsupported file extension ".pptx"; supported: .txt, .text, .md, .markdown, .html, .htm, .pdf, .docx',
    );
    expect(() => detectFormat('README')).toThrow('File has no extension; supported: .txt');
    expect(detectFormat('/a/b/REPORT.PDF')).toBe('pdf');
  });

  it('rejects a corrupt PDF with an error naming the format', async () => {
    const file = join(tmp, 'corrupt.pdf');
    await writeFile(file, '%PDF-1.4\nthis is not really a pdf\n%%EOF\n');
    const error = await extractText(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DocumentReadError);
    expect(error).toMatchObject({ code: 'DOCUMENT_UNREADABLE', format: 'pdf' });
    expect((error as Error).message).toMatch(/^Could not read PDF file .*corrupt\.pdf: /);
  });

  it('rejects a truncated PDF', async () => {
    const file = join(tmp, 'truncated.pdf');
    const { readFile } = await import('node:fs/promises');
    await writeFile(file, (await readFile(join(FIXTURES, 'sample.pdf'))).subarray(0, 300));
    await expect(extractText(file)).rejects.toBeInstanceOf(DocumentReadError);
  });

  it('rejects a corrupt DOCX and binary content in a .txt file', async () => {
    const docx = join(tmp, 'corrupt.docx');
    await writeFile(docx, 'PK\u0003\u0004 definitely not a zip archive');
    await expect(extractText(docx)).rejects.toThrow(/^Could not read DOCX file .*corrupt\.docx: /);
    const binary = join(tmp, 'binary.txt');
    await writeFile(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x1a]));
    await expect(extractText(binary)).rejects.toThrow(/^Could not read text file .*binary\.txt: binary content/);
  });

  it('picks the format from, and quotes, the user-facing sourceName rather than the path read', async () => {
    const blob = join(tmp, 'blob-0001');
    await copyFile(join(FIXTURES, 'sample.docx'), blob);
    const result = await extractText(blob, { sourceName: 'reports/q3.docx' });
    expect(result.format).toBe('docx');
    expect(result.text).toContain('obsidian carousel');
    await writeFile(join(tmp, 'blob-0002'), 'garbage');
    await expect(extractText(join(tmp, 'blob-0002'), { sourceName: 'reports/q4.pdf' })).rejects.toThrow(
      /^Could not read PDF file reports\/q4\.pdf: /,
    );
    await expect(extractText(blob)).rejects.toBeInstanceOf(UnsupportedFormatError);
  });

  it('passes file-system errors through instead of blaming the format', async () => {
    await expect(extractText(join(tmp, 'missing.pdf'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    const copy = join(tmp, 'copy.pdf');
    await copyFile(join(FIXTURES, 'sample.pdf'), copy);
    const pages: number[] = [];
    const promise = extractText(copy, {
      signal: controller.signal,
      onPage: (page) => {
        pages.push(page);
        controller.abort();
      },
    });
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
    expect(pages).toEqual([1]);
    const aborted = AbortSignal.abort();
    await expect(extractText(join(FIXTURES, 'sample.txt'), { signal: aborted })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
