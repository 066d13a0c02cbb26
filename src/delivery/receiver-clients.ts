import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ChannelCredentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { TlsFiles } from '../config/config';
import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import { SettlementReceiverClient } from '../gen/caravan/settlement/v1/receiver';
import type { Counterparty } from '../routing/route-rule';

export type DeliveryCallResult =
  | { kind: 'accepted' }
  | { kind: 'rejected'; code: string; description: string }
  | { kind: 'error'; code: status; message: string };

export interface DeliveryCall {
  instruction: SettlementInstruction;
  attempt: number;
  deadlineMs: number;
  /** Headers for the receiver, e.g. the W3C traceparent of the attempt's span. */
  headers: Record<string, string>;
  signal: AbortSignal;
}

/** gRPC clients of the counterparties, one channel per counterparty and security settings. */
export interface ReceiverClients {
  deliver(counterparty: Counterparty, call: DeliveryCall): Promise<DeliveryCallResult>;
  /** Closes the channels of counterparties no longer in `keep` (their keys). */
  prune(keep: ReadonlySet<string>): void;
  close(): void;
}

const ISO_CODE = /^[A-Z0-9]{4}$/;
const MAX_DESCRIPTION = 500;

/** Identifies a counterparty's channel: a change of address or security gets a new channel. */
export function counterpartyKey(c: Counterparty): string {
  const ca = c.caPem === '' ? '' : createHash('sha256').update(c.caPem).digest('hex').slice(0, 16);
  return `${c.name}|${c.address}|${c.transport}|${c.serverName}|${ca}`;
}

/**
 * `gatewayTls` is the gateway's own certificate: presented to TLS counterparties (mTLS) and, with
 * its CA, used to verify them unless the route names a CA of its own.
 */
export function createReceiverClients(gatewayTls: TlsFiles | null): ReceiverClients {
  const clients = new Map<string, SettlementReceiverClient>();
  const own = gatewayTls
    ? {
        ca: readFileSync(gatewayTls.caFile),
        key: readFileSync(gatewayTls.keyFile),
        cert: readFileSync(gatewayTls.certFile),
      }
    : null;

  function clientFor(c: Counterparty): SettlementReceiverClient {
    const key = counterpartyKey(c);
    let client = clients.get(key);
    if (client) return client;
    let credentials: ChannelCredentials;
    if (c.transport === 'plaintext') {
      credentials = ChannelCredentials.createInsecure();
    } else {
      const ca = c.caPem !== '' ? Buffer.from(c.caPem) : (own?.ca ?? null);
      credentials = ChannelCredentials.createSsl(ca, own?.key ?? null, own?.cert ?? null);
    }
    client = new SettlementReceiverClient(c.address, credentials, {
      ...(c.serverName !== '' ? { 'grpc.ssl_target_name_override': c.serverName } : {}),
      // The circuit breaker decides when a counterparty is tried again; the channel's own
      // reconnect backoff (1 s and growing by default) must not fail that trial call by itself.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // Retries are the dispatcher's, counted and recorded; the channel must not add its own.
      'grpc.enable_retries': 0,
    });
    clients.set(key, client);
    return client;
  }

  return {
    deliver(counterparty, call) {
      const client = clientFor(counterparty);
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(call.headers)) metadata.set(k, v);
      return new Promise((resolve) => {
        const pending = client.deliverInstruction(
          { instruction: call.instruction, attempt: call.attempt },
          metadata,
          { deadline: Date.now() + call.deadlineMs },
          (err: ServiceError | null, response) => {
            call.signal.removeEventListener('abort', cancel);
            if (err) {
              resolve({
                kind: 'error',
                code: err.code ?? status.UNKNOWN,
                message: err.details || err.message,
              });
            } else if (response.accepted) {
              resolve({ kind: 'accepted' });
            } else {
              resolve(refusal(response.reason?.code ?? '', response.reason?.description ?? ''));
            }
          },
        );
        const cancel = () => pending.cancel();
        call.signal.addEventListener('abort', cancel, { once: true });
      });
    },
    prune(keep) {
      for (const [key, client] of clients) {
        if (!keep.has(key)) {
          client.close();
          clients.delete(key);
        }
      }
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}

/**
 * A receiver's refusal as recorded: its reason code when it is one, NARR otherwise, so a
 * malformed answer still ends the delivery with a reason the participant can read.
 */
function refusal(code: string, description: string): DeliveryCallResult {
  const text = description.slice(0, MAX_DESCRIPTION);
  if (ISO_CODE.test(code))
    return { kind: 'rejected', code, description: text || 'refused by the counterparty' };
  return {
    kind: 'rejected',
    code: 'NARR',
    description: `refused by the counterparty${code === '' ? ' without a reason code' : ' with a malformed reason code'}${text ? `: ${text}` : ''}`,
  };
}
