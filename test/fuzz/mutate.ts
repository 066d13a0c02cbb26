import type { Rng } from './prng';
import {
  allMessages,
  allNodes,
  interestingVarint,
  isMessage,
  isString,
  parseTree,
  serializeTree,
  wireTypeOf,
  wrongWireTypeField,
  type FieldSchema,
  type Located,
  type Node,
  type Schema,
} from './schema';
import { confusable, invalidUtf8 } from './text';
import { WireType, lenField, nestedLenFields, tag, varint } from './wire';

export interface MutationOptions {
  /** The server's largest accepted message: huge inputs are sized around it. */
  maxMessageBytes: number;
  /** Most copies of one repeated field a mutation adds (default: as many as fit). */
  maxRepeated?: number;
}

export interface Mutation {
  bytes: Buffer;
  /** What was done, for the failure report (the seed and case number regenerate it exactly). */
  ops: string[];
}

type TreeOp = (ctx: TreeContext) => string | null;

interface TreeContext {
  rng: Rng;
  schema: Schema;
  typeName: string;
  root: Node[];
  options: MutationOptions;
  donors: readonly Buffer[];
}

const MAX_FIELD_NO = 536_870_911;

function located(ctx: TreeContext, filter: (l: Located) => boolean): Located | null {
  const found = allNodes(ctx.root).filter(filter);
  return found.length === 0 ? null : ctx.rng.pick(found);
}

function insertAt(rng: Rng, list: Node[], node: Node): void {
  list.splice(rng.int(list.length + 1), 0, node);
}

/** A message of the tree to add a field to, with its schema fields that match `filter`. */
function messageWith(
  ctx: TreeContext,
  filter: (f: FieldSchema) => boolean,
): { fields: Node[]; field: FieldSchema; path: string } | null {
  const candidates = allMessages(ctx.root, ctx.typeName).flatMap((m) =>
    ctx.schema
      .message(m.typeName)
      .fields.filter(filter)
      .map((field) => ({ fields: m.fields, field, path: `${m.path}${field.name}` })),
  );
  return candidates.length === 0 ? null : ctx.rng.pick(candidates);
}

/** The message's size after a change, measured by serialising the whole tree. */
const sizeOf = (ctx: TreeContext) => serializeTree(ctx.root).length;

function hugeText(rng: Rng, length: number): Buffer {
  const unit = rng.pick([
    Buffer.from('A'),
    Buffer.from('\u0000'),
    Buffer.from(confusable(rng, 'Ivan Petrovich Sidorov '), 'utf8'),
    Buffer.from('Сбер Восток ', 'utf8'),
    Buffer.from('\u200B\u202E', 'utf8'),
    Buffer.from([0xff, 0xc0, 0x80]),
  ]);
  const out = Buffer.alloc(Math.max(0, length));
  for (let i = 0; i < out.length; i += unit.length)
    unit.copy(out, i, 0, Math.min(unit.length, out.length - i));
  return out;
}

const TREE_OPS: readonly (readonly [number, TreeOp])[] = [
  [
    6,
    function duplicateField(ctx) {
      const at = located(ctx, () => true);
      if (at === null) return null;
      const copies = ctx.rng.pick([1, 1, 2, 5]);
      for (let i = 0; i < copies; i++) insertAt(ctx.rng, at.siblings, { ...at.node });
      return `duplicate ${at.path} ×${copies}`;
    },
  ],
  [
    5,
    function reorderFields(ctx) {
      const messages = allMessages(ctx.root, ctx.typeName).filter((m) => m.fields.length > 1);
      if (messages.length === 0) return null;
      const m = ctx.rng.pick(messages);
      ctx.rng.shuffle(m.fields);
      return `reorder ${m.path || '(root)'}`;
    },
  ],
  [
    3,
    function dropField(ctx) {
      const at = located(ctx, () => true);
      if (at === null) return null;
      at.siblings.splice(at.siblings.indexOf(at.node), 1);
      return `drop ${at.path}`;
    },
  ],
  [
    8,
    function wrongWireType(ctx) {
      const target = messageWith(ctx, () => true);
      if (target === null) return null;
      const bytes = wrongWireTypeField(ctx.rng, target.field);
      // Either beside the real field or in place of it.
      const existing = target.fields.findIndex((n) => n.no === target.field.no);
      const node: Node = { no: target.field.no, wt: -1, raw: Buffer.alloc(0), verbatim: bytes };
      if (existing >= 0 && ctx.rng.chance(0.5)) target.fields[existing] = node;
      else insertAt(ctx.rng, target.fields, node);
      return `wrong wire type for ${target.path}: ${bytes.subarray(0, 12).toString('hex')}`;
    },
  ],
  [
    6,
    function unknownField(ctx) {
      const messages = allMessages(ctx.root, ctx.typeName);
      const m = ctx.rng.pick(messages);
      const known = ctx.schema.message(m.typeName).byNo;
      let no = ctx.rng.pick([
        ctx.rng.range(1, 64),
        ctx.rng.range(19_000, 19_999),
        MAX_FIELD_NO,
        ctx.rng.range(1, MAX_FIELD_NO),
      ]);
      while (known.has(no)) no += 1;
      const wt = ctx.rng.pick([0, 1, 2, 5]);
      const raw =
        wt === WireType.VARINT
          ? varint(interestingVarint(ctx.rng))
          : wt === WireType.I64
            ? ctx.rng.bytes(8)
            : wt === WireType.I32
              ? ctx.rng.bytes(4)
              : ctx.rng.bytes(ctx.rng.pick([0, 3, 100, 5000]));
      const count = ctx.rng.pick([1, 1, 3, 50]);
      for (let i = 0; i < count; i++) insertAt(ctx.rng, m.fields, { no, wt, raw });
      return `unknown field ${m.path}#${no} wt ${wt} ×${count}`;
    },
  ],
  [
    5,
    function overflowVarint(ctx) {
      const overlong = ctx.rng.pick([
        // 10 bytes whose value needs more than 64 bits.
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        // 11 bytes and more: no decoder may read past the tenth.
        Buffer.concat([Buffer.alloc(ctx.rng.range(10, 40), 0xff), Buffer.from([0x01])]),
        // Continuation bits to the end of the message.
        Buffer.alloc(ctx.rng.range(1, 20), 0x80),
        // 2^64 exactly.
        varint(2n ** 64n),
      ]);
      const target = messageWith(ctx, () => true);
      if (target === null) return null;
      const where = ctx.rng.pick(['value', 'length', 'tag'] as const);
      const verbatim =
        where === 'value'
          ? Buffer.concat([tag(target.field.no, WireType.VARINT), overlong])
          : where === 'length'
            ? Buffer.concat([tag(target.field.no, WireType.LEN), overlong, ctx.rng.bytes(ctx.rng.int(16))])
            : overlong;
      insertAt(ctx.rng, target.fields, { no: target.field.no, wt: -1, raw: Buffer.alloc(0), verbatim });
      return `overlong varint as ${where} of ${target.path}`;
    },
  ],
  [
    5,
    function lengthPastEnd(ctx) {
      const at = located(ctx, (l) => l.node.wt === WireType.LEN);
      const extra = ctx.rng.pick([1n, 2n, 100n, 2n ** 31n - 1n, 2n ** 32n + 5n, 2n ** 63n]);
      if (at !== null && ctx.rng.chance(0.6)) {
        const payload = at.node.children !== undefined ? serializeTree(at.node.children) : at.node.raw;
        at.node.verbatim = Buffer.concat([
          tag(at.node.no, WireType.LEN),
          varint(BigInt(payload.length) + extra),
          payload,
        ]);
        return `length of ${at.path} ${payload.length} + ${extra}`;
      }
      const m = ctx.rng.pick(allMessages(ctx.root, ctx.typeName));
      const no = ctx.rng.pick([...ctx.schema.message(m.typeName).byNo.keys(), 15]);
      m.fields.push({
        no,
        wt: -1,
        raw: Buffer.alloc(0),
        verbatim: Buffer.concat([tag(no, WireType.LEN), varint(extra + 3n), ctx.rng.bytes(3)]),
      });
      return `trailing field ${m.path}#${no} claiming ${extra + 3n} bytes`;
    },
  ],
  [
    4,
    function deepGroups(ctx) {
      const depth = ctx.rng.pick([64, 1000, 10_000, 100_000, Math.floor(ctx.options.maxMessageBytes / 4)]);
      const no = ctx.rng.chance(0.5) ? ctx.rng.range(1, 15) : ctx.rng.range(16, 2047);
      const open = tag(no, WireType.SGROUP);
      const close = tag(no, WireType.EGROUP);
      const balanced = ctx.rng.chance(0.6);
      const verbatim = Buffer.concat([
        Buffer.alloc(open.length * depth).fill(open),
        balanced ? Buffer.alloc(close.length * depth).fill(close) : Buffer.alloc(0),
      ]);
      const m = ctx.rng.pick(allMessages(ctx.root, ctx.typeName));
      insertAt(ctx.rng, m.fields, { no, wt: -1, raw: Buffer.alloc(0), verbatim });
      return `${depth} nested groups #${no} (${balanced ? 'balanced' : 'never closed'}) in ${m.path || '(root)'}`;
    },
  ],
  [
    4,
    function deepMessages(ctx) {
      const depth = ctx.rng.pick([32, 200, 2000, 20_000]);
      // Follow the schema's message fields as far as they go, then keep nesting one number.
      let typeName: string | null = ctx.typeName;
      const numbers: number[] = [];
      for (let i = 0; i < depth; i++) {
        const fields: FieldSchema[] =
          typeName === null ? [] : ctx.schema.message(typeName).fields.filter(isMessage);
        if (fields.length === 0) {
          numbers.push(numbers[numbers.length - 1] ?? ctx.rng.range(1, 15));
          typeName = null;
          continue;
        }
        const f = ctx.rng.pick(fields);
        numbers.push(f.no);
        typeName = f.typeName;
      }
      const payload = nestedLenFields(numbers.slice(1), ctx.rng.bytes(ctx.rng.int(8)));
      const first = numbers[0] ?? 1;
      insertAt(ctx.rng, ctx.root, { no: first, wt: WireType.LEN, raw: payload });
      return `${numbers.length} nested messages from #${first}`;
    },
  ],
  [3, (ctx) => hugeString(ctx, null)],
  [4, (ctx) => manyRepeated(ctx, false)],
  [
    6,
    function invalidUtf8InString(ctx) {
      const at = located(
        ctx,
        (l) => l.node.field !== undefined && isString(l.node.field) && l.node.wt === WireType.LEN,
      );
      if (at === null) return null;
      at.node.raw = invalidUtf8(ctx.rng, at.node.raw);
      return `invalid UTF-8 in ${at.path}`;
    },
  ],
  [
    10,
    function confusableString(ctx) {
      const at = located(
        ctx,
        (l) => l.node.field !== undefined && isString(l.node.field) && l.node.wt === WireType.LEN,
      );
      if (at === null) return null;
      at.node.raw = Buffer.from(confusable(ctx.rng, at.node.raw.toString('utf8')), 'utf8');
      return `look-alike/invisible/bidi characters in ${at.path}`;
    },
  ],
  [
    3,
    function nulInString(ctx) {
      const at = located(
        ctx,
        (l) => l.node.field !== undefined && isString(l.node.field) && l.node.wt === WireType.LEN,
      );
      if (at === null) return null;
      const cut = ctx.rng.int(at.node.raw.length + 1);
      at.node.raw = Buffer.concat([
        at.node.raw.subarray(0, cut),
        Buffer.alloc(ctx.rng.range(1, 3)),
        at.node.raw.subarray(cut),
      ]);
      return `NUL in ${at.path}`;
    },
  ],
  [
    5,
    function extremeVarint(ctx) {
      const at = located(ctx, (l) => l.node.wt === WireType.VARINT);
      if (at === null) return null;
      const value = interestingVarint(ctx.rng);
      at.node.raw = varint(value);
      return `${at.path} = ${value}`;
    },
  ],
  [
    3,
    function emptySubMessage(ctx) {
      const at = located(ctx, (l) => l.node.children !== undefined);
      if (at === null) return null;
      at.node.children = [];
      return `empty ${at.path}`;
    },
  ],
  [
    3,
    function spliceFromDonor(ctx) {
      if (ctx.donors.length === 0) return null;
      const donor = parseTree(ctx.schema, ctx.typeName, ctx.rng.pick(ctx.donors));
      if (donor === null || donor.length === 0) return null;
      const from = ctx.rng.pick(allNodes(donor));
      const m = ctx.rng.pick(allMessages(ctx.root, ctx.typeName));
      insertAt(ctx.rng, m.fields, from.node);
      return `splice ${from.path} into ${m.path || '(root)'}`;
    },
  ],
];

/**
 * Sets a string field (found in the tree or added) to a text that makes the whole message `goal`
 * bytes long, or one of the sizes around the limit when goal is null.
 */
function hugeString(ctx: TreeContext, goal: number | null): string | null {
  const { maxMessageBytes: max } = ctx.options;
  let at = located(
    ctx,
    (l) => l.node.field !== undefined && isString(l.node.field) && l.node.wt === WireType.LEN,
  );
  if (at === null) {
    const target = messageWith(ctx, isString);
    if (target === null) return null;
    const node: Node = { no: target.field.no, wt: WireType.LEN, raw: Buffer.alloc(0), field: target.field };
    target.fields.push(node);
    at = { node, siblings: target.fields, path: target.path };
  }
  const size =
    goal ??
    ctx.rng.pick([
      max - 1 - ctx.rng.int(64),
      max - 5 - ctx.rng.int(20),
      max,
      max + 1 + ctx.rng.int(64),
      max * 2,
    ]);
  at.node.raw = Buffer.alloc(0);
  const base = sizeOf(ctx);
  let length = Math.max(0, size - base - 8);
  for (let round = 0; round < 3; round++) {
    at.node.raw = hugeText(ctx.rng, length);
    const now = sizeOf(ctx);
    if (now === size) break;
    length = Math.max(0, length + size - now);
  }
  return `huge string ${at.path} (${at.node.raw.length} B, message ${sizeOf(ctx)} B, max ${max})`;
}

/**
 * A request just under the size limit: a string field of the valid request blown up, or (for a
 * message without strings) an unknown field. The warm-up sends these so the RSS baseline already
 * holds what the largest legitimate requests cost.
 */
export function largestRequest(
  schema: Schema,
  typeName: string,
  seed: Buffer,
  rng: Rng,
  options: MutationOptions,
): Mutation {
  const goal = options.maxMessageBytes - 16;
  const root = parseTree(schema, typeName, seed) ?? [];
  const ctx: TreeContext = { rng, schema, typeName, root, options, donors: [] };
  const op = hugeString(ctx, goal);
  if (op !== null) return { bytes: serializeTree(root), ops: [op] };
  const filler = lenField(MAX_FIELD_NO, hugeText(rng, goal - 8));
  return { bytes: Buffer.concat([seed, filler]), ops: [`unknown field of ${filler.length} B`] };
}

/**
 * Adds copies of an element of a repeated field (of the request or a nested message): up to a
 * million, within the size limit (sometimes past it). `most` fills the message up to the limit.
 */
function manyRepeated(ctx: TreeContext, most: boolean): string | null {
  const { maxMessageBytes: max } = ctx.options;
  const target = messageWith(ctx, (f) => f.repeated);
  if (target === null) return null;
  const existing = target.fields.filter((n) => n.no === target.field.no);
  const wt = wireTypeOf(target.field.type);
  const element: Node =
    existing.length > 0 && !most
      ? { ...ctx.rng.pick(existing) }
      : isMessage(target.field)
        ? { no: target.field.no, wt: WireType.LEN, raw: Buffer.alloc(0) }
        : {
            no: target.field.no,
            wt,
            raw:
              wt === WireType.LEN
                ? Buffer.from('HSBKKZKX')
                : wt === WireType.VARINT
                  ? varint(1)
                  : ctx.rng.bytes(wt === WireType.I64 ? 8 : 4),
          };
  const one = serializeTree([element]).length;
  const budget = most || ctx.rng.chance(0.8) ? max - sizeOf(ctx) - 64 : max * 1.5;
  const wanted = most ? 1_000_000 : ctx.rng.pick([100, 1_000, 10_000, 100_000, 1_000_000]);
  const count = Math.max(
    1,
    Math.min(
      wanted,
      Math.floor(budget / Math.max(one, 1)),
      most ? Infinity : (ctx.options.maxRepeated ?? Infinity),
    ),
  );
  if (element.wt === WireType.VARINT && (most || ctx.rng.chance(0.5))) {
    // Packed: one length-delimited run of varints.
    const packed = Buffer.alloc(element.raw.length * count).fill(element.raw);
    target.fields.push({ no: target.field.no, wt: WireType.LEN, raw: packed });
    return `${count} packed ${target.path}`;
  }
  const block = Buffer.alloc(one * count).fill(serializeTree([element]));
  target.fields.push({ no: target.field.no, wt: -1, raw: Buffer.alloc(0), verbatim: block });
  return `${count} × ${target.path}`;
}

/**
 * A request filled up to the size limit with copies of one repeated field's element (empty
 * sub-messages where the field is a message): the most elements a request can carry.
 */
export function mostRepeatedRequest(
  schema: Schema,
  typeName: string,
  seed: Buffer,
  rng: Rng,
  options: MutationOptions,
): Mutation {
  const root = parseTree(schema, typeName, seed) ?? [];
  const ctx: TreeContext = { rng, schema, typeName, root, options, donors: [] };
  const op = manyRepeated(ctx, true);
  return op === null
    ? { bytes: seed, ops: ['(no repeated field)'] }
    : { bytes: serializeTree(root), ops: [op] };
}

type ByteOp = (rng: Rng, bytes: Buffer) => { bytes: Buffer; op: string };

const BYTE_OPS: readonly (readonly [number, ByteOp])[] = [
  [
    5,
    function bitFlips(rng, bytes) {
      if (bytes.length === 0) return { bytes: rng.bytes(1), op: 'random byte' };
      const out = Buffer.from(bytes);
      const n = rng.range(1, 8);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const bit = rng.int(out.length * 8);
        out[bit >> 3] ^= 1 << (bit & 7);
        at.push(bit);
      }
      return { bytes: out, op: `flip bits ${at.join(',')}` };
    },
  ],
  [
    2,
    function interestingBytes(rng, bytes) {
      if (bytes.length === 0) return { bytes: Buffer.from([0xff]), op: 'byte ff' };
      const out = Buffer.from(bytes);
      const i = rng.int(out.length);
      out[i] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x08, 0x0b, 0x0c]);
      return { bytes: out, op: `byte ${i} = ${out[i].toString(16)}` };
    },
  ],
  [
    4,
    function truncate(rng, bytes) {
      const at = rng.int(bytes.length + 1);
      return { bytes: bytes.subarray(0, at), op: `truncate to ${at} of ${bytes.length}` };
    },
  ],
  [
    2,
    function appendRandom(rng, bytes) {
      const n = rng.pick([1, 2, 10, 100]);
      return { bytes: Buffer.concat([bytes, rng.bytes(n)]), op: `append ${n} random bytes` };
    },
  ],
  [
    2,
    function insertRandom(rng, bytes) {
      const at = rng.int(bytes.length + 1);
      const n = rng.range(1, 16);
      return {
        bytes: Buffer.concat([bytes.subarray(0, at), rng.bytes(n), bytes.subarray(at)]),
        op: `insert ${n} random bytes at ${at}`,
      };
    },
  ],
  [
    1,
    function repeatTail(rng, bytes) {
      const from = rng.int(bytes.length + 1);
      const times = rng.range(2, 50);
      const tail = bytes.subarray(from);
      return {
        bytes: Buffer.concat([bytes, ...Array<Buffer>(times).fill(tail)]),
        op: `repeat tail from ${from} ×${times}`,
      };
    },
  ],
];

/**
 * One mutated input from a valid encoding: 1 to 3 structural mutations (on the field tree, so
 * nested lengths stay right unless the mutation is a lying length) and sometimes byte-level
 * damage after them.
 */
export function mutate(
  schema: Schema,
  typeName: string,
  seed: Buffer,
  rng: Rng,
  options: MutationOptions,
  donors: readonly Buffer[] = [],
): Mutation {
  const ops: string[] = [];
  let bytes = seed;
  const count = rng.pick([1, 1, 1, 2, 2, 3]);
  for (let i = 0; i < count; i++) {
    const root = rng.chance(0.85) ? parseTree(schema, typeName, bytes) : null;
    if (root !== null) {
      const ctx: TreeContext = { rng, schema, typeName, root, options, donors };
      const op = rng.weighted(TREE_OPS);
      const done = op(ctx);
      if (done !== null) {
        ops.push(done);
        bytes = serializeTree(root);
        continue;
      }
    }
    const { bytes: next, op } = rng.weighted(BYTE_OPS)(rng, bytes);
    ops.push(op);
    bytes = next;
  }
  if (rng.chance(0.1)) {
    const { bytes: next, op } = rng.weighted(BYTE_OPS)(rng, bytes);
    ops.push(op);
    bytes = next;
  }
  return { bytes, ops };
}

/** Inputs that are not derived from any request: noise, and encodings of nothing. */
export function noise(rng: Rng, options: MutationOptions): Mutation {
  const kind = rng.weighted<'random' | 'empty' | 'zeros' | 'ff' | 'big'>([
    [8, 'random'],
    [1, 'empty'],
    [1, 'zeros'],
    [1, 'ff'],
    [0.3, 'big'],
  ]);
  switch (kind) {
    case 'random': {
      const n = rng.pick([1, 2, 5, 16, 64, 256, 4096]);
      return { bytes: rng.bytes(rng.range(1, n)), ops: ['random bytes'] };
    }
    case 'empty':
      return { bytes: Buffer.alloc(0), ops: ['empty message'] };
    case 'zeros':
      return { bytes: Buffer.alloc(rng.range(1, 64)), ops: ['zero bytes'] };
    case 'ff':
      return { bytes: Buffer.alloc(rng.range(1, 64), 0xff), ops: ['0xff bytes'] };
    case 'big': {
      const n = options.maxMessageBytes + rng.pick([-100, 0, 1, 1000]);
      return { bytes: rng.bytes(n), ops: [`${n} random bytes`] };
    }
  }
}
