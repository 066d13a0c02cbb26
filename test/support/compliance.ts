import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Metadata, credentials } from '@grpc/grpc-js';
import {
  ComplianceClient,
  ImportListResponse,
  ListFormat,
  type ImportListRequest,
} from '../../src/gen/caravan/compliance/v1/compliance';
import { ListEntry, type EntryKind } from '../../src/gen/caravan/compliance/v1/lists';

export const OFFICERS = [
  { id: 'alice', roles: ['compliance'], token: 'alice-token-0123456789abcdef' },
  { id: 'bob', roles: ['compliance'], token: 'bob-token-0123456789abcdef00' },
  { id: 'olga', roles: ['operations'], token: 'olga-token-0123456789abcdef0' },
] as const;

export const ROLE_TOKENS_ENV = JSON.stringify(OFFICERS);

export function asOfficer(id: (typeof OFFICERS)[number]['id']): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${OFFICERS.find((o) => o.id === id)!.token}`);
  return metadata;
}

export function complianceClient(address: string): ComplianceClient {
  return new ComplianceClient(address, credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
}

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

/** A fixture's bytes, gunzipped when it is stored gzipped. */
export function fixture(relative: string): Buffer {
  const file = path.join(FIXTURES, relative);
  return relative.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file);
}

/** Streams files to ImportList in 64 KiB chunks, optionally cancelling after `cancelAfterBytes`. */
export function importFiles(
  client: ComplianceClient,
  metadata: Metadata,
  header: { list: string; format: ListFormat; force?: boolean; note?: string },
  files: { name: string; data: Buffer }[],
  cancelAfterBytes?: number,
): Promise<ImportListResponse> {
  return new Promise((resolve, reject) => {
    const call = client.importList(metadata, { deadline: Date.now() + 120_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
    const first: ImportListRequest = {
      part: {
        $case: 'header',
        value: {
          list: header.list,
          format: header.format,
          fileNames: files.map((f) => f.name),
          force: header.force ?? false,
          note: header.note ?? '',
        },
      },
    };
    call.write(first);
    let sent = 0;
    for (const [fileIndex, file] of files.entries()) {
      for (let i = 0; i < file.data.length; i += 64 * 1024) {
        const data = file.data.subarray(i, i + 64 * 1024);
        call.write({ part: { $case: 'chunk', value: { fileIndex, data } } });
        sent += data.length;
        if (cancelAfterBytes !== undefined && sent >= cancelAfterBytes) {
          call.cancel();
          return;
        }
      }
    }
    call.end();
  });
}

export function entry(fields: Partial<ListEntry> & { id: string; kind: EntryKind }): ListEntry {
  return { ...ListEntry.fromJSON({}), ...fields };
}
