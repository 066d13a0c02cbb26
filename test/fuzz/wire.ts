/**
 * The protobuf wire format at the level a fuzzer needs it: encode any tag, varint (including ones
 * longer than 64 bits) and length, and split a message into its fields without a schema, so a
 * mutation can change one field and re-encode the lengths around it.
 */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Any unsigned value as a base-128 varint; values past 2^64 give the over-long varints decoders must refuse. */
export function varint(value: bigint | number): Buffer {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

/** A tag; field numbers outside 1..2^29-1 and wire types 6 and 7 are allowed on purpose. */
export function tag(fieldNo: number, wireType: number): Buffer {
  return varint((BigInt(fieldNo) << 3n) | BigInt(wireType & 7));
}

export function lenField(fieldNo: number, payload: Uint8Array): Buffer {
  return Buffer.concat([tag(fieldNo, WireType.LEN), varint(payload.length), payload]);
}

export function varintField(fieldNo: number, value: bigint | number): Buffer {
  return Buffer.concat([tag(fieldNo, WireType.VARINT), varint(value)]);
}

/** One field as found on the wire. `raw` is the value's bytes: the varint, the fixed bytes, the
 * length-delimited payload, or a group's content between its start and end tags. */
export interface WireField {
  no: number;
  wt: number;
  raw: Buffer;
}

export function encodeField(f: WireField): Buffer {
  switch (f.wt) {
    case WireType.LEN:
      return lenField(f.no, f.raw);
    case WireType.SGROUP:
      return Buffer.concat([tag(f.no, WireType.SGROUP), f.raw, tag(f.no, WireType.EGROUP)]);
    default:
      return Buffer.concat([tag(f.no, f.wt), f.raw]);
  }
}

class Cursor {
  pos = 0;
  constructor(readonly bytes: Buffer) {}

  /** A varint of at most 10 bytes, or null when it is longer or runs past the end. */
  varint(): bigint | null {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) return null;
      const byte = this.bytes[this.pos++];
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return result;
    }
    return null;
  }
}

/**
 * The top-level fields of a message, or null when the bytes are not a well-formed sequence of
 * fields (a bad tag, a varint too long, a length past the end, an unbalanced group), or when it
 * has more than `limit` fields.
 */
export function parseFields(bytes: Buffer, limit = Number.POSITIVE_INFINITY, depth = 0): WireField[] | null {
  const cursor = new Cursor(bytes);
  const fields: WireField[] = [];
  while (cursor.pos < bytes.length) {
    if (fields.length >= limit) return null;
    const key = cursor.varint();
    if (key === null || key > 0xffffffffn) return null;
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (no === 0) return null;
    const start = cursor.pos;
    switch (wt) {
      case WireType.VARINT:
        if (cursor.varint() === null) return null;
        fields.push({ no, wt, raw: bytes.subarray(start, cursor.pos) });
        break;
      case WireType.I64:
      case WireType.I32: {
        const size = wt === WireType.I64 ? 8 : 4;
        if (cursor.pos + size > bytes.length) return null;
        cursor.pos += size;
        fields.push({ no, wt, raw: bytes.subarray(start, cursor.pos) });
        break;
      }
      case WireType.LEN: {
        const len = cursor.varint();
        if (len === null || BigInt(cursor.pos) + len > BigInt(bytes.length)) return null;
        const from = cursor.pos;
        cursor.pos += Number(len);
        fields.push({ no, wt, raw: bytes.subarray(from, cursor.pos) });
        break;
      }
      case WireType.SGROUP: {
        if (depth > 64) return null;
        // Find the matching end tag by parsing the group's content as fields.
        const content = groupContent(bytes, cursor, no, depth);
        if (content === null) return null;
        fields.push({ no, wt, raw: content });
        break;
      }
      default:
        return null;
    }
  }
  return fields;
}

function groupContent(bytes: Buffer, cursor: Cursor, no: number, depth: number): Buffer | null {
  const from = cursor.pos;
  while (cursor.pos < bytes.length) {
    const at = cursor.pos;
    const key = cursor.varint();
    if (key === null) return null;
    const wt = Number(key & 7n);
    if (wt === WireType.EGROUP) {
      return Number(key >> 3n) === no ? bytes.subarray(from, at) : null;
    }
    cursor.pos = at;
    // Parse exactly one field from here to move past it.
    const rest = bytes.subarray(at);
    const one = firstFieldLength(rest, depth + 1);
    if (one === null) return null;
    cursor.pos = at + one;
  }
  return null;
}

function firstFieldLength(bytes: Buffer, depth: number): number | null {
  const cursor = new Cursor(bytes);
  const key = cursor.varint();
  if (key === null) return null;
  const no = Number(key >> 3n);
  const wt = Number(key & 7n);
  switch (wt) {
    case WireType.VARINT:
      return cursor.varint() === null ? null : cursor.pos;
    case WireType.I64:
      return cursor.pos + 8 <= bytes.length ? cursor.pos + 8 : null;
    case WireType.I32:
      return cursor.pos + 4 <= bytes.length ? cursor.pos + 4 : null;
    case WireType.LEN: {
      const len = cursor.varint();
      if (len === null || BigInt(cursor.pos) + len > BigInt(bytes.length)) return null;
      return cursor.pos + Number(len);
    }
    case WireType.SGROUP: {
      if (depth > 64) return null;
      const content = groupContent(bytes, cursor, no, depth);
      // groupContent leaves the cursor after the end tag.
      return content === null ? null : cursor.pos;
    }
    default:
      return null;
  }
}

/**
 * `numbers[0]` { `numbers[1]` { … `payload` } } as nested length-delimited fields, written in one
 * pass (nesting by repeated concatenation would copy the message once per level).
 */
export function nestedLenFields(numbers: readonly number[], payload: Buffer): Buffer {
  const heads: Buffer[] = new Array<Buffer>(numbers.length);
  let size = payload.length;
  for (let i = numbers.length - 1; i >= 0; i--) {
    heads[i] = Buffer.concat([tag(numbers[i], WireType.LEN), varint(size)]);
    size += heads[i].length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const head of heads) at += head.copy(out, at);
  payload.copy(out, at);
  return out;
}
