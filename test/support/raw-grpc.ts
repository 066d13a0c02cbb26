import { Client, credentials, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';

/** A client that sends arbitrary bytes, for malformed and hand-ordered requests. */
export function rawUnary(
  address: string,
  path: string,
  body: Buffer,
  metadata: Metadata,
  deadlineMs = 10_000,
): Promise<Buffer> {
  const client = new Client(address, credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null, res?: Buffer) => {
        client.close();
        if (err) reject(err);
        else resolve(res ?? Buffer.alloc(0));
      },
    );
  });
}

/** The top-level fields of an encoded message, in wire order, each as its raw bytes. */
export function splitFields(bytes: Uint8Array): Buffer[] {
  const reader = new BinaryReader(bytes);
  const fields: Buffer[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [fieldNo, wireType] = reader.tag();
    reader.skip(wireType, fieldNo);
    fields.push(Buffer.from(bytes.subarray(start, reader.pos)));
  }
  return fields;
}

/** Wraps message bytes as field 1 (length-delimited) of an outer message. */
export function asField1(bytes: Uint8Array): Buffer {
  return Buffer.from(
    new BinaryWriter()
      .uint32((1 << 3) | 2)
      .bytes(bytes)
      .finish(),
  );
}
