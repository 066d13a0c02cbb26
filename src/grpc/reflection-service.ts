import { readFileSync } from 'node:fs';
import path from 'node:path';
import { status, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { FileDescriptorProto, type DescriptorProto } from 'ts-proto-descriptors';
import { ServerReflectionRequest, type ServerReflectionResponse } from '../gen/grpc/reflection/v1/reflection';
import { invalidArgument } from '../settlement/errors';
import { instrumentedServerSpan } from '../telemetry/tracing';
import type { OpenStreams } from './open-streams';
import { toServiceError } from './status';

/**
 * gRPC server reflection (v1 and v1alpha, which share their messages) answered from the descriptor
 * set that `npm run generate` builds with buf. Each file is served with every file it imports,
 * transitively, so a client such as `buf curl` can resolve google.protobuf.Timestamp or the
 * google.rpc types without a local schema.
 */
export interface DescriptorIndex {
  /** Files by name, each with the serialized FileDescriptorProto. */
  files: Map<string, { bytes: Buffer; dependencies: string[] }>;
  /** Fully-qualified symbol (package.Message, package.Service, package.Service.Method, ...) → file. */
  symbols: Map<string, string>;
}

export function loadDescriptorSet(
  file = path.join(__dirname, '..', 'gen', 'caravan.binpb'),
): DescriptorIndex {
  const files: DescriptorIndex['files'] = new Map();
  const symbols = new Map<string, string>();
  // Each file is served as the bytes buf wrote, not re-encoded, so nothing the decoder does not
  // model (options, source info) is lost on the way to the client.
  const reader = new BinaryReader(readFileSync(file));
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo !== 1) {
      reader.skip(wireType, fieldNo);
      continue;
    }
    const bytes = Buffer.from(reader.bytes());
    const fd = FileDescriptorProto.decode(bytes);
    files.set(fd.name, { bytes, dependencies: fd.dependency });
    const prefix = fd.package === '' ? '' : `${fd.package}.`;
    const addMessage = (scope: string, message: DescriptorProto) => {
      const name = `${scope}${message.name}`;
      symbols.set(name, fd.name);
      for (const field of message.field) symbols.set(`${name}.${field.name}`, fd.name);
      for (const oneof of message.oneofDecl) symbols.set(`${name}.${oneof.name}`, fd.name);
      for (const nested of message.nestedType) addMessage(`${name}.`, nested);
      for (const e of message.enumType) symbols.set(`${name}.${e.name}`, fd.name);
    };
    for (const message of fd.messageType) addMessage(prefix, message);
    for (const e of fd.enumType) {
      symbols.set(`${prefix}${e.name}`, fd.name);
      for (const value of e.value) symbols.set(`${prefix}${value.name}`, fd.name);
    }
    for (const service of fd.service) {
      symbols.set(`${prefix}${service.name}`, fd.name);
      for (const method of service.method) symbols.set(`${prefix}${service.name}.${method.name}`, fd.name);
    }
  }
  return { files, symbols };
}

/** The file and everything it imports, each file after its own imports. */
function withDependencies(index: DescriptorIndex, name: string): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const entry = index.files.get(file);
    if (!entry) return;
    for (const dep of entry.dependencies) visit(dep);
    out.push(entry.bytes);
  };
  visit(name);
  return out;
}

export function answerReflection(
  index: DescriptorIndex,
  services: readonly string[],
  request: ServerReflectionRequest,
): ServerReflectionResponse {
  const base = { validHost: request.host, originalRequest: request };
  const notFound = (what: string): ServerReflectionResponse => ({
    ...base,
    messageResponse: {
      $case: 'errorResponse',
      value: { errorCode: status.NOT_FOUND, errorMessage: `${what} not found` },
    },
  });
  const files = (name: string): ServerReflectionResponse => ({
    ...base,
    messageResponse: {
      $case: 'fileDescriptorResponse',
      value: { fileDescriptorProto: withDependencies(index, name) },
    },
  });
  const req = request.messageRequest;
  switch (req?.$case) {
    case 'listServices':
      return {
        ...base,
        messageResponse: {
          $case: 'listServicesResponse',
          value: { service: services.map((name) => ({ name })) },
        },
      };
    case 'fileByFilename':
      return index.files.has(req.value) ? files(req.value) : notFound(`file ${req.value}`);
    case 'fileContainingSymbol': {
      const file = index.symbols.get(req.value.replace(/^\./, ''));
      return file === undefined ? notFound(`symbol ${req.value}`) : files(file);
    }
    case 'fileContainingExtension':
      return notFound(`extension ${req.value.extensionNumber} of ${req.value.containingType}`);
    case 'allExtensionNumbersOfType':
      // Caravan's API declares no extensions: every known type has an empty extension list.
      return index.symbols.has(req.value)
        ? {
            ...base,
            messageResponse: {
              $case: 'allExtensionNumbersResponse',
              value: { baseTypeName: req.value, extensionNumber: [] },
            },
          }
        : notFound(`type ${req.value}`);
    default:
      return {
        ...base,
        messageResponse: {
          $case: 'errorResponse',
          value: { errorCode: status.INVALID_ARGUMENT, errorMessage: 'empty reflection request' },
        },
      };
  }
}

/**
 * Requests arrive as bytes (see rawRequests) and are decoded here: a malformed one ends the stream
 * with INVALID_ARGUMENT rather than grpc-js's INTERNAL (whose handling could also leave the stream
 * without a status while answers were being written). Reading pauses until each answer has been
 * handed to the transport, so a client streaming many small requests for large files cannot make
 * the server buffer many answers at once.
 */
/**
 * Requests one reflection stream may make. Clients (grpcurl, buf curl, Postman) make a handful; a
 * stream asking for the same 100 kB file a thousand times is refused rather than served for
 * minutes.
 */
const MAX_REQUESTS_PER_STREAM = 200;

export function reflectionHandlers(
  index: DescriptorIndex,
  services: readonly string[],
  streams: OpenStreams,
): UntypedServiceImplementation {
  return {
    serverReflectionInfo: (call: ServerDuplexStream<Buffer, ServerReflectionResponse>) => {
      streams.track(call);
      const traceId = instrumentedServerSpan()?.spanContext().traceId ?? '';
      let failed = false;
      let requests = 0;
      call.on('data', (bytes: Buffer) => {
        if (failed) return;
        if (++requests > MAX_REQUESTS_PER_STREAM) {
          failed = true;
          call.emit(
            'error',
            toServiceError(
              {
                kind: 'resource-exhausted',
                message: `at most ${MAX_REQUESTS_PER_STREAM} requests per reflection stream; open a new stream`,
                retryAfterMs: 0,
              },
              traceId,
            ),
          );
          return;
        }
        let request: ServerReflectionRequest;
        try {
          request = ServerReflectionRequest.decode(bytes);
        } catch {
          failed = true;
          call.emit(
            'error',
            toServiceError(
              invalidArgument([
                {
                  field: '',
                  description: 'the request is not a valid protobuf encoding of ServerReflectionRequest',
                },
              ]),
              traceId,
            ),
          );
          return;
        }
        // One answer at a time: the next request is read once this answer has gone to the
        // transport. (Pausing only when write() says the buffer is full still let 16 answers of
        // up to megabytes each pile up per stream: a file with its imports is ~100 kB.)
        call.pause();
        call.write(answerReflection(index, services, request), () => call.resume());
      });
      call.on('end', () => {
        if (!failed) call.end();
      });
      call.on('error', () => {
        if (!failed) call.end();
      });
    },
  };
}
