import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProto,
  type DescriptorProto,
  type EnumDescriptorProto,
} from 'ts-proto-descriptors';
import { loadDescriptorSet } from '../../src/grpc/reflection-service';
import type { Rng } from './prng';
import { fieldText } from './text';
import { WireType, encodeField, lenField, parseFields, tag, varint, type WireField } from './wire';

/**
 * Caravan's API as the fuzzer sees it: every message of the descriptor set that `npm run
 * generate` builds (src/gen/caravan.binpb, the one reflection serves), with each field's number,
 * type and cardinality. It lets the mutator find string fields inside nested messages, send wrong
 * wire types for known field numbers, and build random but well-typed requests for any method,
 * including methods added after this suite was written.
 */
export interface FieldSchema {
  name: string;
  no: number;
  type: FieldDescriptorProto_Type;
  /** Full name of the message or enum type, without the leading dot; '' for scalars. */
  typeName: string;
  repeated: boolean;
}

export interface MessageSchema {
  name: string;
  fields: FieldSchema[];
  byNo: Map<number, FieldSchema>;
}

export interface MethodSchema {
  /** Service/Method, as in the call path without its leading slash. */
  name: string;
  method: string;
  inputType: string;
  clientStreaming: boolean;
  serverStreaming: boolean;
}

export interface Schema {
  message(name: string): MessageSchema;
  /** The methods of a service, in declaration order. */
  methods(service: string): MethodSchema[];
  /** The numbers an enum declares. */
  enumValues(name: string): number[];
}

export function loadSchema(): Schema {
  const messages = new Map<string, MessageSchema>();
  const enums = new Map<string, number[]>();
  const services = new Map<string, MethodSchema[]>();
  const addEnum = (scope: string, e: EnumDescriptorProto) =>
    enums.set(
      `${scope}${e.name}`,
      e.value.map((v) => v.number),
    );
  const addMessage = (scope: string, m: DescriptorProto) => {
    const name = `${scope}${m.name}`;
    const fields = m.field.map((f): FieldSchema => ({
      name: f.name,
      no: f.number,
      type: f.type,
      typeName: f.typeName.replace(/^\./, ''),
      repeated: f.label === FieldDescriptorProto_Label.LABEL_REPEATED,
    }));
    messages.set(name, { name, fields, byNo: new Map(fields.map((f) => [f.no, f])) });
    for (const nested of m.nestedType) addMessage(`${name}.`, nested);
    for (const e of m.enumType) addEnum(`${name}.`, e);
  };
  for (const { bytes } of loadDescriptorSet().files.values()) {
    const file = FileDescriptorProto.decode(bytes);
    const scope = file.package === '' ? '' : `${file.package}.`;
    for (const m of file.messageType) addMessage(scope, m);
    for (const e of file.enumType) addEnum(scope, e);
    for (const service of file.service) {
      const name = `${scope}${service.name}`;
      services.set(
        name,
        service.method.map((m) => ({
          name: `${name}/${m.name}`,
          method: m.name,
          inputType: m.inputType.replace(/^\./, ''),
          clientStreaming: m.clientStreaming,
          serverStreaming: m.serverStreaming,
        })),
      );
    }
  }
  return {
    message(name) {
      const found = messages.get(name);
      if (found === undefined) throw new Error(`no message ${name} in the descriptor set`);
      return found;
    },
    enumValues: (name) => enums.get(name) ?? [0],
    methods(service) {
      const found = services.get(service);
      if (found === undefined) throw new Error(`no service ${service} in the descriptor set`);
      return found;
    },
  };
}

const T = FieldDescriptorProto_Type;

export function wireTypeOf(type: FieldDescriptorProto_Type): number {
  switch (type) {
    case T.TYPE_DOUBLE:
    case T.TYPE_FIXED64:
    case T.TYPE_SFIXED64:
      return WireType.I64;
    case T.TYPE_FLOAT:
    case T.TYPE_FIXED32:
    case T.TYPE_SFIXED32:
      return WireType.I32;
    case T.TYPE_STRING:
    case T.TYPE_BYTES:
    case T.TYPE_MESSAGE:
      return WireType.LEN;
    case T.TYPE_GROUP:
      return WireType.SGROUP;
    default:
      return WireType.VARINT;
  }
}

export const isMessage = (f: FieldSchema): boolean => f.type === T.TYPE_MESSAGE;
export const isString = (f: FieldSchema): boolean => f.type === T.TYPE_STRING;

/** Values that break careless integer handling: limits, signs, and what JavaScript numbers cannot hold. */
export function interestingVarint(rng: Rng): bigint {
  return rng.pick([
    0n,
    1n,
    2n,
    127n,
    128n,
    255n,
    1000n,
    1001n,
    65535n,
    2n ** 31n - 1n,
    2n ** 31n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 53n,
    2n ** 53n + 1n,
    2n ** 63n - 1n,
    2n ** 63n,
    2n ** 64n - 1n,
    BigInt.asUintN(64, -1n),
    BigInt.asUintN(64, -(2n ** 31n)),
    rng.uint64(),
    BigInt(rng.next()),
  ]);
}

function scalarValue(rng: Rng, schema: Schema, field: FieldSchema): Buffer {
  switch (field.type) {
    case T.TYPE_STRING:
      return Buffer.from(fieldText(rng, field.name), 'utf8');
    case T.TYPE_BYTES:
      return rng.bytes(rng.pick([0, 1, 7, 64, 300]));
    case T.TYPE_BOOL:
      return varint(rng.chance(0.1) ? rng.pick([2n, 255n, 2n ** 63n]) : BigInt(rng.int(2)));
    case T.TYPE_ENUM: {
      const values = schema.enumValues(field.typeName);
      return varint(rng.chance(0.8) ? BigInt(rng.pick(values)) : interestingVarint(rng));
    }
    case T.TYPE_DOUBLE: {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(rng.pick([0, -0, 0.5, 1, -1, 2, 1e308, -1e308, NaN, Infinity, -Infinity, rng.float()]));
      return b;
    }
    case T.TYPE_FLOAT: {
      const b = Buffer.alloc(4);
      b.writeFloatLE(rng.pick([0, 0.5, 1, -1, NaN, Infinity, rng.float()]));
      return b;
    }
    case T.TYPE_FIXED64:
    case T.TYPE_SFIXED64:
      return rng.bytes(8);
    case T.TYPE_FIXED32:
    case T.TYPE_SFIXED32:
      return rng.bytes(4);
    default:
      return varint(rng.chance(0.5) ? BigInt(rng.int(1000)) : interestingVarint(rng));
  }
}

/**
 * A random message of the type that decodes (every field with its own wire type), with values
 * that look like what the field name suggests: BICs, IBANs, UETRs, names in several scripts.
 */
export function randomMessage(schema: Schema, typeName: string, rng: Rng, depth = 0): Buffer {
  const message = schema.message(typeName);
  const parts: Buffer[] = [];
  for (const field of message.fields) {
    if (!rng.chance(depth === 0 ? 0.7 : 0.5)) continue;
    const count = field.repeated ? rng.pick([1, 1, 2, 3, 5]) : 1;
    for (let i = 0; i < count; i++) {
      if (isMessage(field)) {
        if (depth >= 5) continue;
        parts.push(lenField(field.no, randomMessage(schema, field.typeName, rng, depth + 1)));
      } else {
        parts.push(
          encodeField({ no: field.no, wt: wireTypeOf(field.type), raw: scalarValue(rng, schema, field) }),
        );
      }
    }
  }
  return Buffer.concat(rng.chance(0.2) ? rng.shuffle(parts) : parts);
}

/** A field's value as the wrong wire type: what a decoder must skip or refuse, never trust. */
export function wrongWireTypeField(rng: Rng, field: FieldSchema): Buffer {
  const right = wireTypeOf(field.type);
  const wt = rng.pick([0, 1, 2, 3, 5, 6, 7].filter((w) => w !== right));
  switch (wt) {
    case WireType.VARINT:
      return Buffer.concat([tag(field.no, wt), varint(interestingVarint(rng))]);
    case WireType.I64:
      return Buffer.concat([tag(field.no, wt), rng.bytes(8)]);
    case WireType.I32:
      return Buffer.concat([tag(field.no, wt), rng.bytes(4)]);
    case WireType.LEN:
      return lenField(
        field.no,
        rng.chance(0.5) ? rng.bytes(rng.int(40)) : Buffer.from('\u0000\uFFFD', 'utf8'),
      );
    case WireType.SGROUP:
      return rng.chance(0.7)
        ? Buffer.concat([
            tag(field.no, WireType.SGROUP),
            varintFieldBytes(1, 1n),
            tag(field.no, WireType.EGROUP),
          ])
        : tag(field.no, WireType.SGROUP);
    default:
      // Wire types 6 and 7 do not exist.
      return Buffer.concat([tag(field.no, wt), rng.bytes(rng.int(9))]);
  }
}

function varintFieldBytes(no: number, value: bigint): Buffer {
  return Buffer.concat([tag(no, WireType.VARINT), varint(value)]);
}

/**
 * A message parsed into a tree along its schema: each length-delimited field whose schema type is
 * a message, and whose payload parses, gets its own children, so a mutation deep inside (the
 * debtor's name of the instruction of a request) re-encodes every enclosing length.
 */
export interface Node extends WireField {
  /** The field's schema, when the number is known to the enclosing message. */
  field?: FieldSchema;
  children?: Node[];
  /** Bytes emitted as they are instead of the field: a lying length, a chain of groups. */
  verbatim?: Buffer;
}

/** Most fields a tree holds: past it the message is left to byte-level mutations, which stay fast. */
const MAX_TREE_FIELDS = 20_000;

export function parseTree(schema: Schema, typeName: string, bytes: Buffer): Node[] | null {
  const budget = { left: MAX_TREE_FIELDS };
  const tree = parseLevel(schema, typeName, bytes, 0, budget);
  return budget.left < 0 ? null : tree;
}

function parseLevel(
  schema: Schema,
  typeName: string,
  bytes: Buffer,
  depth: number,
  budget: { left: number },
): Node[] | null {
  const fields = parseFields(bytes, budget.left);
  if (fields === null) {
    if (depth === 0) budget.left = -1;
    return null;
  }
  budget.left -= fields.length;
  if (budget.left < 0) return null;
  const message = schema.message(typeName);
  return fields.map((f): Node => {
    const field = message.byNo.get(f.no);
    const node: Node = field === undefined ? { ...f } : { ...f, field };
    if (field !== undefined && isMessage(field) && f.wt === WireType.LEN && depth < 16 && budget.left >= 0) {
      const children = parseLevel(schema, field.typeName, f.raw, depth + 1, budget);
      if (children !== null) node.children = children;
    }
    return node;
  });
}

export function serializeTree(nodes: readonly Node[]): Buffer {
  return Buffer.concat(
    nodes.map((n) =>
      n.verbatim !== undefined
        ? n.verbatim
        : n.children === undefined
          ? encodeField(n)
          : lenField(n.no, serializeTree(n.children)),
    ),
  );
}

/** A node of the tree with the list that holds it and its path (e.g. instruction.debtor.name). */
export interface Located {
  node: Node;
  siblings: Node[];
  path: string;
}

/** Every node of the tree, depth first. */
export function allNodes(nodes: Node[], prefix = '', out: Located[] = []): Located[] {
  for (const node of nodes) {
    const path = `${prefix}${node.field?.name ?? `#${node.no}`}`;
    out.push({ node, siblings: nodes, path });
    if (node.children !== undefined) allNodes(node.children, `${path}.`, out);
  }
  return out;
}

/** Every message in the tree (the root and each parsed sub-message): its field list, type and path. */
export interface LocatedMessage {
  fields: Node[];
  typeName: string;
  path: string;
}

export function allMessages(
  nodes: Node[],
  typeName: string,
  path = '',
  out: LocatedMessage[] = [],
): LocatedMessage[] {
  out.push({ fields: nodes, typeName, path });
  for (const node of nodes) {
    if (node.children !== undefined && node.field !== undefined) {
      allMessages(node.children, node.field.typeName, `${path}${node.field.name}.`, out);
    }
  }
  return out;
}
