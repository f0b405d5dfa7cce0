/**
 * Whitespace normalisation shared by every extractor, so that chunk offsets and chunk
 * sizes mean the same thing whatever format a document came from: line ends become `\n`,
 * exotic spaces (NBSP, thin space, ideographic space, tabs) become one ASCII space, runs
 * of spaces collapse, and paragraph breaks survive as exactly one blank line (`\n\n`),
 * which the text splitter then prefers as a chunk boundary.
 */
export function normalizeText(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      .replace(/\u2029/g, '\n\n')
      .replace(/\u2028/g, '\n')
      // Zero-width space and BOM carry no meaning in extracted text; ZWJ (U+200D) is kept
      // because it glues emoji sequences together.
      .replace(/[\u200B\uFEFF]/g, '')
      .replace(/[\u0000-\u0008\u000E-\u001F\u007F]/g, '')
      .replace(/[\t\v\f\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g, ' ')
      .replace(/ {2,}/g, ' ')
      .replace(/ *\n */g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}
