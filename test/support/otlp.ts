import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createFileRegistry, fromBinary, toJson, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { ROOT } from './cli';

/** An OTLP attribute value as proto3 JSON renders AnyValue (int64 as a decimal string). */
interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValueJson[] };
  kvlistValue?: { values?: KeyValueJson[] };
  bytesValue?: string;
}
interface KeyValueJson {
  key: string;
  value?: AnyValueJson;
}
interface SpanJson {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name: string;
  kind?: string;
  attributes?: KeyValueJson[];
  events?: { name: string; attributes?: KeyValueJson[] }[];
  status?: { message?: string; code?: string };
}
interface ExportTraceServiceRequestJson {
  resourceSpans?: {
    resource?: { attributes?: KeyValueJson[] };
    scopeSpans?: { scope?: { name: string }; spans?: SpanJson[] }[];
  }[];
}

export type AttributeValue = string | number | boolean | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

/** One exported span, flattened: ids in hex, attributes as plain values, its resource beside it. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER' | 'UNSPECIFIED';
  attributes: Attributes;
  events: { name: string; attributes: Attributes }[];
  status: { code: string; message: string };
  resource: Attributes;
  scope: string;
}

function valueOf(v: AnyValueJson | undefined): AttributeValue {
  if (v === undefined) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(valueOf);
  if (v.kvlistValue !== undefined) return attributesOf(v.kvlistValue.values);
  return v.bytesValue ?? '';
}

function attributesOf(list: KeyValueJson[] | undefined): Attributes {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

const hex = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('hex');

let requestSchema: DescMessage | null = null;

/**
 * ExportTraceServiceRequest from test/fixtures/otlp/otlp_trace.proto, compiled by buf (a dev
 * dependency) into a descriptor set that @bufbuild/protobuf decodes with.
 */
function exportRequestSchema(): DescMessage {
  if (requestSchema !== null) return requestSchema;
  const image = execFileSync(join(ROOT, 'node_modules', '.bin', 'buf'), [
    'build',
    join(ROOT, 'test', 'fixtures', 'otlp'),
    '--output',
    '-',
  ]);
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, image));
  const schema = registry.getMessage('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  if (schema === undefined) throw new Error('otlp_trace.proto has no ExportTraceServiceRequest');
  requestSchema = schema;
  return schema;
}

/** Decodes one OTLP/HTTP protobuf trace export into its spans. */
export function decodeTraceExport(body: Uint8Array): ExportedSpan[] {
  const schema = exportRequestSchema();
  const request = toJson(schema, fromBinary(schema, body)) as ExportTraceServiceRequestJson;
  const spans: ExportedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: (s.kind ?? 'SPAN_KIND_UNSPECIFIED').replace('SPAN_KIND_', '') as ExportedSpan['kind'],
          attributes: attributesOf(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
          status: {
            code: (s.status?.code ?? 'STATUS_CODE_UNSET').replace('STATUS_CODE_', ''),
            message: s.status?.message ?? '',
          },
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return spans;
}

export interface OtlpSink {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (signal paths /v1/traces, /v1/metrics are appended). */
  endpoint: string;
  spans(): readonly ExportedSpan[];
  /** Trace exports received, and requests that were not a decodable trace export. */
  requests(): { traces: number; rejected: string[] };
  /** Polls until `predicate` holds over the spans received, failing with what did arrive. */
  waitFor(
    what: string,
    predicate: (spans: readonly ExportedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * An OTLP/HTTP receiver: decodes every trace export (protobuf, optionally gzipped) and keeps the
 * spans; accepts and drops other signals. A payload that does not decode is answered 400 and
 * recorded, so a test sees it rather than losing spans silently.
 */
export async function startOtlpSink(): Promise<OtlpSink> {
  exportRequestSchema();
  const spans: ExportedSpan[] = [];
  const rejected: string[] = [];
  let traces = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.method === 'POST' && req.url === '/v1/traces') {
        try {
          if (req.headers['content-type'] !== 'application/x-protobuf') {
            throw new Error(`content-type ${req.headers['content-type']}`);
          }
          spans.push(...decodeTraceExport(body));
          traces++;
        } catch (err) {
          rejected.push(err instanceof Error ? err.message : String(err));
          res.writeHead(400).end();
          return;
        }
      }
      // An empty ExportTraceServiceResponse (or metrics/logs response): everything accepted.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('OTLP sink has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    spans: () => spans,
    requests: () => ({ traces, rejected }),
    async waitFor(what, predicate, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > until) {
          const seen = spans
            .slice(-100)
            .map((s) => `${s.resource['service.name'] as string} ${s.kind} ${s.name}`);
          throw new Error(
            `no ${what} within ${timeoutMs} ms; the last ${seen.length} of ${spans.length} spans received:\n  ${seen.join('\n  ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
