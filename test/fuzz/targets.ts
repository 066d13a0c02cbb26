import { Metadata } from '@grpc/grpc-js';
import {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListRequest,
  HealthListResponse,
} from '../../src/gen/grpc/health/v1/health';
import * as reflectionV1 from '../../src/gen/grpc/reflection/v1/reflection';
import * as reflectionV1alpha from '../../src/gen/grpc/reflection/v1alpha/reflection';
import { DEV_PARTICIPANT_HEADER } from '../../src/grpc/caller-identity';
import { OFFICERS } from '../support/compliance';
import type { FuzzTarget, MetadataChoice } from './harness';
import type { Rng } from './prng';
import { randomMessage, type Schema } from './schema';
import { confusable } from './text';

/** Metadata with nothing Caravan looks at, or with junk headers it must ignore. */
export const NO_CREDENTIALS: MetadataChoice = { label: 'no credentials', build: () => new Metadata() };
export const JUNK_HEADERS: MetadataChoice = {
  label: 'junk headers',
  build(rng) {
    const m = new Metadata();
    m.set('x-fuzz', rng.bytes(8).toString('hex'));
    m.set('x-fuzz-bin', rng.bytes(rng.pick([0, 16, 4000])));
    m.set('user-agent', 'fuzz/'.repeat(rng.pick([1, 200])));
    return m;
  },
};

function header(name: string, value: string): Metadata {
  const m = new Metadata();
  m.set(name, value);
  return m;
}

/** The participant header: right, absent, malformed, another bank's, a branch. */
export function participantChoices(bic: string, other: string): (readonly [number, MetadataChoice])[] {
  return [
    [10, { label: `${DEV_PARTICIPANT_HEADER}: ${bic}`, build: () => header(DEV_PARTICIPANT_HEADER, bic) }],
    [1, NO_CREDENTIALS],
    [
      1,
      {
        label: `${DEV_PARTICIPANT_HEADER}: ${other} (another participant)`,
        build: () => header(DEV_PARTICIPANT_HEADER, other),
      },
    ],
    [
      1,
      {
        label: `${DEV_PARTICIPANT_HEADER}: ${bic}XXX (branch)`,
        build: () => header(DEV_PARTICIPANT_HEADER, `${bic}XXX`),
      },
    ],
    [
      1,
      {
        label: `${DEV_PARTICIPANT_HEADER}: malformed`,
        build: (rng) =>
          header(
            DEV_PARTICIPANT_HEADER,
            rng.pick([bic.toLowerCase(), `${bic} `, 'X'.repeat(4000), "' OR 1=1 --", '*', `${bic},${other}`]),
          ),
      },
    ],
    [0.5, JUNK_HEADERS],
  ];
}

type OfficerId = (typeof OFFICERS)[number]['id'];

function bearer(token: string): Metadata {
  return header('authorization', `Bearer ${token}`);
}

/** An officer token with the role, one without it, unknown and malformed tokens, none. */
export function officerChoices(
  withRole: OfficerId[],
  withoutRole: OfficerId,
): (readonly [number, MetadataChoice])[] {
  const token = (id: OfficerId) => OFFICERS.find((o) => o.id === id)!.token;
  return [
    ...withRole.map(
      (id) => [10 / withRole.length, { label: `officer ${id}`, build: () => bearer(token(id)) }] as const,
    ),
    [1, { label: `officer ${withoutRole} (without the role)`, build: () => bearer(token(withoutRole)) }],
    [1, NO_CREDENTIALS],
    [
      1,
      {
        label: 'malformed or unknown token',
        build: (rng: Rng) =>
          header(
            'authorization',
            rng.pick([
              'Bearer ',
              'Bearer',
              `Basic ${Buffer.from('alice:secret').toString('base64')}`,
              `Bearer ${token(withRole[0])}x`,
              `Bearer ${token(withRole[0]).slice(0, -1)}`,
              `bearer ${token(withRole[0])}`,
              `Bearer ${'A'.repeat(8000)}`,
              `Bearer ${token(withRole[0])} ${token(withRole[0])}`,
            ]),
          ),
      },
    ],
    [0.5, JUNK_HEADERS],
  ];
}

const ANY_CALLER: readonly (readonly [number, MetadataChoice])[] = [
  [4, NO_CREDENTIALS],
  [1, JUNK_HEADERS],
];

/** grpc.health.v1.Health: Check, Watch (a stream the fuzzer ends) and List. */
export function healthTargets(serviceNames: readonly string[]): FuzzTarget[] {
  const names = ['', ...serviceNames];
  const check = (rng: Rng) => [
    ...names.map((service) => [Buffer.from(HealthCheckRequest.encode({ service }).finish())]),
    [Buffer.from(HealthCheckRequest.encode({ service: confusable(rng, rng.pick(names)) }).finish())],
    [Buffer.from(HealthCheckRequest.encode({ service: `unknown.${rng.bytes(4).toString('hex')}` }).finish())],
  ];
  return [
    {
      name: 'grpc.health.v1.Health/Check',
      kind: 'unary',
      requestType: 'grpc.health.v1.HealthCheckRequest',
      decodeResponse: (b) => HealthCheckResponse.decode(b),
      seeds: check,
      metadata: ANY_CALLER,
      richErrors: false,
      weight: 2,
    },
    {
      name: 'grpc.health.v1.Health/Watch',
      kind: 'server-stream',
      requestType: 'grpc.health.v1.HealthCheckRequest',
      decodeResponse: (b) => HealthCheckResponse.decode(b),
      seeds: check,
      metadata: ANY_CALLER,
      richErrors: false,
      weight: 1,
    },
    {
      name: 'grpc.health.v1.Health/List',
      kind: 'unary',
      requestType: 'grpc.health.v1.HealthListRequest',
      decodeResponse: (b) => HealthListResponse.decode(b),
      seeds: () => [[Buffer.from(HealthListRequest.encode({}).finish())]],
      metadata: ANY_CALLER,
      richErrors: false,
      weight: 0.5,
    },
  ];
}

/** Server reflection v1 and v1alpha: bidi streams of requests, each answered in turn. */
export function reflectionTargets(symbols: readonly string[], files: readonly string[]): FuzzTarget[] {
  const versions = [
    ['grpc.reflection.v1', reflectionV1] as const,
    ['grpc.reflection.v1alpha', reflectionV1alpha] as const,
  ];
  return versions.map(([pkg, gen]): FuzzTarget => {
    const encode = (r: reflectionV1.ServerReflectionRequest) =>
      Buffer.from(gen.ServerReflectionRequest.encode(r).finish());
    const request = (rng: Rng): Buffer => {
      const host = rng.chance(0.8) ? '' : confusable(rng, 'localhost');
      const symbol = rng.pick(symbols);
      const choice = rng.int(6);
      switch (choice) {
        case 0:
          return encode({ host, messageRequest: { $case: 'listServices', value: rng.pick(['', '*']) } });
        case 1:
          return encode({ host, messageRequest: { $case: 'fileByFilename', value: rng.pick(files) } });
        case 2:
          return encode({
            host,
            messageRequest: {
              $case: 'fileContainingSymbol',
              value: rng.chance(0.3) ? confusable(rng, symbol) : symbol,
            },
          });
        case 3:
          return encode({
            host,
            messageRequest: {
              $case: 'fileContainingExtension',
              value: { containingType: symbol, extensionNumber: rng.pick([0, 1, 1000, 536870911, -1]) },
            },
          });
        case 4:
          return encode({ host, messageRequest: { $case: 'allExtensionNumbersOfType', value: symbol } });
        default:
          return encode({ host, messageRequest: undefined });
      }
    };
    return {
      name: `${pkg}.ServerReflection/ServerReflectionInfo`,
      kind: 'bidi',
      requestType: `${pkg}.ServerReflectionRequest`,
      decodeResponse: (b) => gen.ServerReflectionResponse.decode(b),
      seeds: (rng) =>
        Array.from({ length: 3 }, () => Array.from({ length: rng.pick([1, 1, 2, 4]) }, () => request(rng))),
      metadata: ANY_CALLER,
      richErrors: false,
      weight: 1.5,
    };
  });
}

/** The parts of a generated grpc-js service definition the fuzzer uses. */
export type GeneratedService = Readonly<
  Record<string, { readonly path: string; readonly responseDeserialize: (b: Buffer) => unknown }>
>;

export interface MethodPlan {
  /** Valid calls to mutate; without them, random well-typed requests of the method's schema. */
  seeds?: (rng: Rng) => Buffer[][];
  weight?: number;
  observe?: FuzzTarget['observe'];
  inputLimitBytes?: number;
}

/**
 * A target for every method the descriptor set declares for the service, so a method added later
 * is fuzzed too (with random well-typed requests until someone writes it valid seeds).
 */
export function serviceTargets(
  schema: Schema,
  service: string,
  generated: GeneratedService,
  plans: Readonly<Record<string, MethodPlan>>,
  metadata: readonly (readonly [number, MetadataChoice])[],
): FuzzTarget[] {
  const byPath = new Map(Object.values(generated).map((m) => [m.path, m.responseDeserialize]));
  return schema.methods(service).map((m): FuzzTarget => {
    const decode = byPath.get(`/${m.name}`);
    if (decode === undefined) throw new Error(`${m.name} is in the descriptor set but not in src/gen`);
    const plan = plans[m.method] ?? {};
    const kind = m.clientStreaming
      ? m.serverStreaming
        ? 'bidi'
        : 'client-stream'
      : m.serverStreaming
        ? 'server-stream'
        : 'unary';
    return {
      name: m.name,
      kind,
      requestType: m.inputType,
      decodeResponse: (b) => decode(b),
      seeds:
        plan.seeds ??
        ((rng) => [
          [Buffer.alloc(0)],
          ...Array.from({ length: 3 }, () => [randomMessage(schema, m.inputType, rng)]),
        ]),
      metadata,
      richErrors: true,
      weight: plan.weight ?? 0.5,
      ...(plan.observe ? { observe: plan.observe } : {}),
      ...(plan.inputLimitBytes !== undefined ? { inputLimitBytes: plan.inputLimitBytes } : {}),
    };
  });
}
