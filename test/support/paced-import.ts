import type { Metadata } from '@grpc/grpc-js';
import type {
  ComplianceClient,
  ImportHeader,
  ImportListResponse,
} from '../../src/gen/caravan/compliance/v1/compliance';

/**
 * A one-file ImportList upload that the test drives chunk by chunk, so it can be stopped at a
 * chosen point with the server holding part of the file (importFiles in compliance.ts sends
 * everything at once and cannot).
 */
export interface PacedImport {
  /** Sends chunks until at least `bytes` bytes of the file are sent; resolves once grpc-js flushed them. */
  sendUntil(bytes: number): Promise<number>;
  /** Sends the rest, half-closes the stream and resolves with the answer. */
  finish(): Promise<ImportListResponse>;
  cancel(): void;
  /** The call's answer, or its error (CANCELLED after cancel()). */
  answer: Promise<ImportListResponse>;
}

/**
 * Splits at line ends only, about `size` bytes per chunk: any prefix of the chunks is then a file
 * of whole lines, so a server that took a cut-off upload for a complete one would find nothing in
 * it to refuse.
 */
export function lineChunks(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const newline = data.indexOf(0x0a, Math.min(start + size, data.length) - 1);
    const end = newline === -1 ? data.length : newline + 1;
    chunks.push(data.subarray(start, end));
    start = end;
  }
  return chunks;
}

export function pacedImport(
  client: ComplianceClient,
  metadata: Metadata,
  header: ImportHeader,
  data: Buffer,
  chunkBytes = 64 * 1024,
): PacedImport {
  let resolveAnswer: (res: ImportListResponse) => void = () => undefined;
  let rejectAnswer: (err: Error) => void = () => undefined;
  const answer = new Promise<ImportListResponse>((resolve, reject) => {
    resolveAnswer = resolve;
    rejectAnswer = reject;
  });
  answer.catch(() => undefined);
  const call = client.importList(metadata, { deadline: Date.now() + 120_000 }, (err, res) =>
    err ? rejectAnswer(err) : resolveAnswer(res),
  );
  call.write({ part: { $case: 'header', value: header } });
  const chunks = lineChunks(data, chunkBytes);
  let next = 0;
  let sent = 0;
  const sendOne = (chunk: Buffer) =>
    new Promise<void>((resolve) => {
      call.write({ part: { $case: 'chunk', value: { fileIndex: 0, data: chunk } } }, () => resolve());
    });
  const sendUntil = async (bytes: number): Promise<number> => {
    while (next < chunks.length && sent < bytes) {
      const chunk = chunks[next++];
      await sendOne(chunk);
      sent += chunk.length;
    }
    return sent;
  };
  return {
    sendUntil,
    async finish() {
      await sendUntil(Infinity);
      call.end();
      return answer;
    },
    cancel: () => call.cancel(),
    answer,
  };
}
