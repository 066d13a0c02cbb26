import { StringDecoder } from 'node:string_decoder';

/**
 * Anything an importer reads from: a Node `Readable` (a file, a gunzip stream, the chunks of a gRPC
 * upload) or any async iterable of chunks. A `Readable` is an `AsyncIterable<any>`, so it fits.
 */
export type TextSource = AsyncIterable<Buffer | Uint8Array | string>;

/** One physical line, without its line terminator; or the number of one that was too long. */
export type TextLine =
  { line: number; text: string; tooLong?: undefined } | { line: number; tooLong: number };

/**
 * Splits a stream into lines (LF or CRLF), numbered from 1, holding at most one chunk and one line
 * in memory. Lines come in batches, one per chunk read, because a promise per line would cost more
 * than parsing it. Bytes are decoded as UTF-8 across chunk boundaries; invalid sequences become
 * U+FFFD, which the callers report, rather than throwing mid-file.
 *
 * A line longer than `maxLineLength` is not accumulated: the rest of it is skipped up to the next
 * newline and it comes out as `{ line, tooLong }`, so that a file with no newlines at all (binary
 * garbage, a wrong upload) costs constant memory.
 */
export async function* readLines(source: TextSource, maxLineLength: number): AsyncGenerator<TextLine[]> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let lineNo = 0;
  let skipping = false;
  let skippedLength = 0;

  function split(text: string, atEnd: boolean): TextLine[] {
    const lines: TextLine[] = [];
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      lineNo++;
      if (skipping) {
        lines.push({ line: lineNo, tooLong: skippedLength + newline - start });
        skipping = false;
        skippedLength = 0;
      } else {
        let line = pending === '' ? text.slice(start, newline) : pending + text.slice(start, newline);
        pending = '';
        if (line.endsWith('\r')) line = line.slice(0, -1);
        lines.push(
          line.length > maxLineLength ? { line: lineNo, tooLong: line.length } : { line: lineNo, text: line },
        );
      }
      start = newline + 1;
    }
    const rest = start === 0 ? text : text.slice(start);
    if (skipping) {
      skippedLength += rest.length;
    } else {
      pending += rest;
      if (pending.length > maxLineLength) {
        skipping = true;
        skippedLength = pending.length;
        pending = '';
      }
    }
    if (atEnd && (skipping || pending !== '')) {
      lineNo++;
      const last = pending.endsWith('\r') ? pending.slice(0, -1) : pending;
      lines.push(skipping ? { line: lineNo, tooLong: skippedLength } : { line: lineNo, text: last });
      pending = '';
      skipping = false;
    }
    return lines;
  }

  for await (const chunk of source) {
    const text =
      typeof chunk === 'string'
        ? chunk
        : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const lines = split(text, false);
    if (lines.length > 0) yield lines;
  }
  const last = split(decoder.end(), true);
  if (last.length > 0) yield last;
}

// C0 controls other than tab, DEL, and U+FFFD (what invalid UTF-8 decodes to): signs of a binary
// or mis-encoded file. Printable non-ASCII is text.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f\ufffd]/;

/** Why a line is not text (with its column), or undefined when it is. */
export function findBadCharacter(text: string): string | undefined {
  const bad = BAD_CHARACTER.exec(text);
  if (!bad) return undefined;
  const code = bad[0].charCodeAt(0);
  const what =
    code === 0xfffd
      ? 'bytes that are not valid UTF-8'
      : `control character 0x${code.toString(16).padStart(2, '0')}`;
  return `${what} at column ${bad.index + 1}: not a line of text`;
}
