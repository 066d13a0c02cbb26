import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis, Cluster } from 'ioredis';
import type { WriteScript } from './replica-confirmation';

/** Lua scripts live beside this file (copied into dist/ by the build) so they read as Lua. */
export function lua(name: string): string {
  return readFileSync(path.join(__dirname, 'lua', `${name}.lua`), 'utf8');
}

export type ScriptReply = (string | number | null)[];

/** The intake script: the idempotency check, the record, its first events and the outbox entry. */
export function recordInstructionScript(): WriteScript {
  return { lua: lua('record-instruction'), numberOfKeys: 7 };
}

export interface InstructionScripts {
  recordInstruction(
    keys: [string, string, string, string, string, string, string],
    args: (string | number)[],
  ): Promise<ScriptReply>;
  transitionInstruction(
    keys: [string, string, string, string, string, string, string, string, string, string],
    args: (string | number)[],
  ): Promise<ScriptReply>;
  startDeliveryAttempt(keys: [string], args: (string | number)[]): Promise<ScriptReply>;
  addRelease(keys: [string, string, string], args: (string | number)[]): Promise<ScriptReply>;
  requestDeliveryStop(keys: [string], args: (string | number)[]): Promise<number>;
}

/** The commands defineCommand adds to the client at run time. */
type ScriptClient = (Redis | Cluster) & {
  recordInstruction(...args: (string | number)[]): Promise<ScriptReply>;
  transitionInstruction(...args: (string | number)[]): Promise<ScriptReply>;
  startDeliveryAttempt(...args: (string | number)[]): Promise<ScriptReply>;
  addRelease(...args: (string | number)[]): Promise<ScriptReply>;
  requestDeliveryStop(...args: (string | number)[]): Promise<number>;
};

/**
 * Registers the scripts on a client with defineCommand, which runs EVALSHA and falls back to EVAL
 * after a script cache flush (a Redis restart), so callers never see NOSCRIPT.
 */
export function defineInstructionScripts(redis: Redis | Cluster): InstructionScripts {
  redis.defineCommand('recordInstruction', recordInstructionScript());
  redis.defineCommand('transitionInstruction', { numberOfKeys: 10, lua: lua('transition-instruction') });
  redis.defineCommand('startDeliveryAttempt', { numberOfKeys: 1, lua: lua('start-delivery-attempt') });
  redis.defineCommand('addRelease', { numberOfKeys: 3, lua: lua('add-release') });
  redis.defineCommand('requestDeliveryStop', { numberOfKeys: 1, lua: lua('request-delivery-stop') });
  const client = redis as ScriptClient;
  return {
    recordInstruction: (keys, args) => client.recordInstruction(...keys, ...args),
    transitionInstruction: (keys, args) => client.transitionInstruction(...keys, ...args),
    startDeliveryAttempt: (keys, args) => client.startDeliveryAttempt(...keys, ...args),
    addRelease: (keys, args) => client.addRelease(...keys, ...args),
    requestDeliveryStop: (keys, args) => client.requestDeliveryStop(...keys, ...args),
  };
}

export interface ReceiverScripts {
  receiveInstruction(keys: [string, string, string], args: (string | number)[]): Promise<ScriptReply>;
}

/** The reference receiver's script, registered like the instruction scripts above. */
export function defineReceiverScripts(redis: Redis | Cluster): ReceiverScripts {
  redis.defineCommand('receiveInstruction', { numberOfKeys: 3, lua: lua('receive-instruction') });
  const client = redis as (Redis | Cluster) & {
    receiveInstruction(...args: (string | number)[]): Promise<ScriptReply>;
  };
  return { receiveInstruction: (keys, args) => client.receiveInstruction(...keys, ...args) };
}
