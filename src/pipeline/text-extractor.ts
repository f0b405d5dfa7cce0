import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { convert as htmlToText, type HtmlToTextOptions } from 'html-to-text';
import mammoth from 'mammoth';
import MarkdownIt from 'markdown-it';
import { normalizeText } from './text-normalizer';

/** The document formats the pipeline can turn into text; stored with each document. */
export type DocumentFormat = 'txt' | 'md' | 'html' | 'pdf' | 'docx';

/** Extensions are matched case-insensitively; the format is never sniffed from content. */
export const FORMAT_BY_EXTENSION: Readonly<Record<string, DocumentFormat>> = {
  '.txt': 'txt',
  '.text': 'txt',
  '.md': 'md',
  '.markdown': 'md',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
  '.docx': 'docx',
};

export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(FORMAT_BY_EXTENSION);

export interface ExtractOptions {
  /**
   * The path as the user gave it. It picks the format (by extension) and is quoted in
   * error messages, so a processor can read the resolved real path (a symlink's target
   * may have another name) without leaking the server's upload directory to the client.
   * Defaults to the path being read.
   */
  sourceName?: string;
  /**
   * The file's content, already read (by `UploadConfinement.readConfined`, through the
   * descriptor it checked); the path is then never opened, only used for its extension.
   */
  data?: Buffer;
  /** Aborts reading and, for PDFs, stops between pages (a cancelled task must not keep parsing). */
  signal?: AbortSignal;
  /**
   * Called after each PDF page so a processor can report progress on long documents. The
   * next page waits for it, so reports arrive in page order and never overtake each other.
   */
  onPage?: (page: number, totalPages: number) => void | Promise<void>;
}

export interface ExtractedText {
  format: DocumentFormat;
  /** Normalised text (see `normalizeText`): paragraphs separated by one blank line. */
  text: string;
  /** Page count, for paginated formats (PDF) only. */
  pages?: number;
}

/**
 * Thrown for a file whose extension the pipeline cannot read. Not retryable: the same
 * file will fail the same way, so a processor should fail the task at once.
 */
export class UnsupportedFormatError extends Error {
  readonly code = 'UNSUPPORTED_FORMAT';

  constructor(
    /** The offending extension including the dot, or '' when the file has none. */
    readonly extension: string,
    readonly supported: readonly string[] = SUPPORTED_EXTENSIONS,
  ) {
    super(
      `${extension ? `Unsupported file extension "${extension}"` : 'File has no extension'}; ` +
        `supported: ${supported.join(', ')}`,
    );
    this.name = 'UnsupportedFormatError';
  }
}

/**
 * Thrown when a file has a supported extension but its content cannot be parsed (corrupt,
 * truncated, encrypted or mislabelled). Names the format so the task's error tells the
 * user what was expected; the parser's own error is kept as `cause` for the logs.
 */
export class DocumentReadError extends Error {
  readonly code = 'DOCUMENT_UNREADABLE';

  constructor(
    readonly format: DocumentFormat,
    /** The `sourceName` the extractor was given (the user's path), not the server path. */
    readonly filePath: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Could not read ${FORMAT_LABEL[format]} file ${filePath}: ${detail}`, options);
    this.name = 'DocumentReadError';
  }
}

const FORMAT_LABEL: Record<DocumentFormat, string> = {
  txt: 'text',
  md: 'Markdown',
  html: 'HTML',
  pdf: 'PDF',
  docx: 'DOCX',
};

/** Maps a path to its format by extension, or throws `UnsupportedFormatError`. */
export function detectFormat(filePath: string): DocumentFormat {
  const extension = extname(filePath).toLowerCase();
  const format = FORMAT_BY_EXTENSION[extension];
  if (!format) throw new UnsupportedFormatError(extension);
  return format;
}

/**
 * Reads a document and returns its plain text, normalised for chunking. The caller is
 * expected to have confined and size-checked the path already (see `file-confinement`);
 * file-system errors (ENOENT, EACCES) are passed through untouched, parse failures become
 * `DocumentReadError`.
 */
export async function extractText(filePath: string, options: ExtractOptions = {}): Promise<ExtractedText> {
  const { signal, sourceName = filePath } = options;
  const format = detectFormat(sourceName);
  signal?.throwIfAborted();
  const data = options.data ?? (await readFile(filePath, { signal }));
  const parse = <T>(work: () => T | Promise<T>) => parseOrExplain(format, sourceName, signal, work);
  switch (format) {
    case 'txt':
      return { format, text: normalizeText(await parse(() => decodeText(data))) };
    case 'md':
      return { format, text: normalizeText(await parse(() => markdownToText(decodeText(data)))) };
    case 'html':
      return { format, text: normalizeText(await parse(() => htmlToText(decodeText(data), HTML_TO_TEXT_OPTIONS))) };
    case 'docx':
      return { format, text: normalizeText(await parse(() => docxToText(data))) };
    case 'pdf': {
      // Loaded before parsing: failing to load pdf.js is an environment fault, not a bad file.
      const unpdf = await loadUnpdf();
      const { text, pages } = await parse(() => pdfToText(unpdf, data, options));
      return { format, text: normalizeText(text), pages };
    }
  }
}

/** Runs a parser and turns its failure into a `DocumentReadError`, unless the task was aborted. */
async function parseOrExplain<T>(
  format: DocumentFormat,
  sourceName: string,
  signal: AbortSignal | undefined,
  work: () => T | Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new DocumentReadError(format, sourceName, errorMessage(error), { cause: error });
  }
}

class UndecodableTextError extends Error {}

/**
 * Text files carry no charset declaration we can trust, so: honour a UTF-8 or UTF-16LE
 * byte-order mark, refuse obvious binary content (NUL bytes), accept valid UTF-8, and
 * fall back to Latin-1 so a legacy 8-bit file still yields readable text instead of
 * replacement characters.
 */
function decodeText(data: Buffer): string {
  if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
    return new TextDecoder('utf-8').decode(data.subarray(3));
  }
  if (data.length >= 2 && data[0] === 0xff && data[1] === 0xfe) {
    return new TextDecoder('utf-16le').decode(data.subarray(2));
  }
  if (data.includes(0)) throw new UndecodableTextError('binary content (NUL bytes), not a text file');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return data.toString('latin1');
  }
}

const HTML_TO_TEXT_OPTIONS: HtmlToTextOptions = {
  // Chunking does its own line handling; html-to-text's default 80-column wrap would
  // insert newlines in the middle of sentences.
  wordwrap: false,
  // The default silently truncates inputs over 16 MiB; the upload size limit is enforced
  // before extraction, so never truncate here.
  limits: { maxInputLength: Number.MAX_SAFE_INTEGER },
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    // Content no reader sees: code, styling, the no-JavaScript fallback and inert templates.
    // Indexing it would make a page findable by words that are not on it.
    ...(['script', 'style', 'noscript', 'template'] as const).map((selector) => ({ selector, format: 'skip' })),
    ...(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const).map((selector) => ({
      selector,
      options: { uppercase: false },
    })),
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false, maxColumnWidth: 10_000 } },
    { selector: 'ul', options: { itemPrefix: '- ' } },
  ],
};

const markdown = new MarkdownIt({ html: true, linkify: false });

/** Markdown is rendered to HTML first so headings, lists, tables and inline HTML all go through one text conversion. */
function markdownToText(source: string): string {
  return htmlToText(markdown.render(source), HTML_TO_TEXT_OPTIONS);
}

async function docxToText(data: Buffer): Promise<string> {
  const result = await mammoth.extractRawText({ buffer: data });
  return result.value;
}

type Unpdf = typeof import('unpdf');
let unpdfModule: Promise<Unpdf> | undefined;

/**
 * unpdf is loaded lazily (pdf.js is 1.6 MB and only PDF tasks need it). The `import()`
 * below compiles to `require('unpdf')` under this project's CommonJS emit (tsc and swc),
 * which resolves unpdf's CJS entry; that entry in turn loads the pdf.js bundle with a
 * native `import('unpdf/pdfjs')`. Plain Node handles that; under jest it needs
 * `NODE_OPTIONS=--experimental-vm-modules` (set by the npm test scripts), otherwise jest
 * refuses the nested ESM import.
 */
function loadUnpdf(): Promise<Unpdf> {
  unpdfModule ??= import('unpdf')
    .then(async (module) => {
      await module.getResolvedPDFJS();
      return module;
    })
    .catch((error: unknown) => {
      unpdfModule = undefined;
      throw error;
    });
  return unpdfModule;
}

interface PdfTextItem {
  str: string;
  hasEOL: boolean;
  transform: number[];
  height: number;
}

/**
 * Reads a PDF page by page so progress can be reported and a cancelled task stops early.
 * Pages are joined by a blank line. Within a page, pdf.js gives lines but no paragraphs;
 * a vertical gap clearly larger than the line's font size is taken as a paragraph break
 * so the splitter can prefer it.
 */
async function pdfToText(
  { getDocumentProxy }: Unpdf,
  data: Buffer,
  { signal, onPage }: ExtractOptions,
): Promise<{ text: string; pages: number }> {
  // pdf.js may transfer (detach) the buffer it is given, so hand it a copy.
  const pdf = await getDocumentProxy(new Uint8Array(data), { verbosity: 0 });
  try {
    const total = pdf.numPages;
    const pages: string[] = [];
    for (let number = 1; number <= total; number++) {
      signal?.throwIfAborted();
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      pages.push(pageText(content.items.filter((item) => 'str' in item)));
      page.cleanup();
      await onPage?.(number, total);
    }
    return { text: pages.join('\n\n'), pages: total };
  } finally {
    await pdf.destroy();
  }
}

function pageText(items: PdfTextItem[]): string {
  let text = '';
  let previousLineY: number | undefined;
  let lineStart = true;
  for (const item of items) {
    if (lineStart && item.str !== '') {
      const [, , c, d, , y] = item.transform;
      const fontSize = Math.hypot(c, d) || item.height;
      if (previousLineY !== undefined && fontSize > 0 && Math.abs(previousLineY - y) > 1.8 * fontSize) text += '\n';
      previousLineY = y;
    }
    text += item.str;
    if (item.hasEOL) text += '\n';
    if (item.hasEOL) lineStart = true;
    else if (item.str !== '') lineStart = false;
  }
  return text;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}
