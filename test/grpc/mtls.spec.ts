import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { ComplianceClient } from '../../src/gen/caravan/compliance/v1/compliance';
import { EntryKind } from '../../src/gen/caravan/compliance/v1/lists';
import { SettlementGatewayClient, type InstructionEvent } from '../../src/gen/caravan/settlement/v1/gateway';
import { callUnary } from '../../src/cli/grpc-call';
import { entry } from '../support/compliance';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { DEV_PARTICIPANT_HEADER } from '../../src/grpc/caller-identity';
import { decodeStatusDetails } from '../../src/grpc/status';
import { createTestPki, type CertificateFiles, type TestPki } from '../support/certificates';
import { getInstruction, grpcError, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { deleteUnder, keysUnder, testRedis, uniquePrefix } from '../support/redis';

const NO_METADATA = () => new Metadata();

function watchEvents(
  client: SettlementGatewayClient,
  uetr: string,
  metadata: Metadata,
  count: number,
): Promise<InstructionEvent[]> {
  return new Promise((resolve, reject) => {
    const events: InstructionEvent[] = [];
    const stream = client.watchInstruction({ uetr }, metadata, { deadline: Date.now() + 10_000 });
    stream.on('data', (event: InstructionEvent) => {
      events.push(event);
      if (events.length === count) {
        resolve(events);
        stream.cancel();
      }
    });
    // After our own cancel the stream reports CANCELLED; the promise has settled by then.
    stream.on('error', reject);
    stream.on('end', () => resolve(events));
  });
}

function stateNames(events: InstructionEvent[]): string[] {
  return events.map(
    (e) => InstructionState[e.event?.state ?? InstructionState.INSTRUCTION_STATE_UNSPECIFIED],
  );
}

async function keysOfUetr(redis: Redis, prefix: string, uetr: string): Promise<string[]> {
  return (await keysUnder(redis, prefix)).filter((key) => key.includes(uetr));
}

describe('gateway under mTLS', function () {
  let pki: TestPki;
  let redis: Redis;
  const clients: SettlementGatewayClient[] = [];

  before(function () {
    pki = createTestPki();
    redis = testRedis();
  });

  after(async function () {
    for (const client of clients) client.close();
    pki?.cleanup();
    await redis?.quit();
  });

  function tlsEnv(): Record<string, string> {
    return {
      CARAVAN_DEV_INSECURE: 'false',
      CARAVAN_TLS_CERT: pki.serverCertFile,
      CARAVAN_TLS_KEY: pki.serverKeyFile,
      CARAVAN_TLS_CA: pki.caFile,
    };
  }

  /** A client that trusts the test CA and presents `identity`, or no certificate at all when null. */
  function tlsClient(gateway: TestGateway, identity: CertificateFiles | null): SettlementGatewayClient {
    const ca = readFileSync(pki.caFile);
    const creds =
      identity === null
        ? credentials.createSsl(ca)
        : credentials.createSsl(ca, readFileSync(identity.keyFile), readFileSync(identity.certFile));
    // The server certificate names localhost; the gateway listens on 127.0.0.1 only.
    const client = new SettlementGatewayClient(gateway.address, creds, {
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.default_authority': 'localhost',
    });
    clients.push(client);
    return client;
  }

  describe('handshake', function () {
    let prefix: string;
    let gateway: TestGateway;

    before(async function () {
      prefix = uniquePrefix('mtls-handshake');
      gateway = await startTestGateway(prefix, { env: tlsEnv() });
    });

    after(async function () {
      await gateway?.gateway.stop();
      await deleteUnder(redis, prefix);
    });

    /** Everything under the prefix but the route table and partition count a gateway starts with. */
    const instructionKeys = async () =>
      (await keysUnder(redis, prefix)).filter((k) => !k.includes('{routes}') && !k.endsWith(':partitions'));

    // The control for the refusals below: same gateway, same server certificate, trusted client.
    it('lets a client with a certificate from the trusted CA through the handshake', async function () {
      const client = tlsClient(gateway, pki.issueClient('HSBKKZKX'));
      const err = await grpcError(getInstruction(client, randomUUID(), NO_METADATA()));
      assert.equal(err.code, status.NOT_FOUND, err.message);
    });

    it('refuses a client that presents no certificate, and stores nothing', async function () {
      const client = tlsClient(gateway, null);
      const err = await grpcError(submit(client, validInstruction(), NO_METADATA(), 5_000));
      assert.equal(err.code, status.UNAVAILABLE, err.message);
      assert.match(err.details, /No connection established/);
      assert.deepEqual(await instructionKeys(), []);
    });

    it('refuses a certificate signed by a CA the gateway does not trust, and stores nothing', async function () {
      const client = tlsClient(gateway, pki.issueClient('HSBKKZKX', { ca: 'rogue' }));
      const err = await grpcError(submit(client, validInstruction(), NO_METADATA(), 5_000));
      assert.equal(err.code, status.UNAVAILABLE, err.message);
      assert.match(err.details, /No connection established/);
      assert.deepEqual(await instructionKeys(), []);
    });
  });

  describe('participant identity', function () {
    let prefix: string;
    let gateway: TestGateway;
    let halyk: SettlementGatewayClient;
    let sber: SettlementGatewayClient;

    before(async function () {
      prefix = uniquePrefix('mtls-identity');
      gateway = await startTestGateway(prefix, { env: tlsEnv() });
      halyk = tlsClient(gateway, pki.issueClient('HSBKKZKX'));
      sber = tlsClient(gateway, pki.issueClient('SABRRUMM'));
    });

    after(async function () {
      await gateway?.gateway.stop();
      await deleteUnder(redis, prefix);
    });

    it('accepts an instruction from the participant named by the certificate CN', async function () {
      const instruction = validInstruction();
      const response = await submit(halyk, instruction, NO_METADATA());
      assert.equal(response.uetr, instruction.uetr);
      assert.equal(response.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
      assert.equal(response.replayed, false);
      const record = await getInstruction(halyk, instruction.uetr, NO_METADATA());
      assert.equal(record.participant, 'HSBKKZKX');
    });

    it('answers UNAUTHENTICATED, with a trace id, to a trusted certificate whose CN is not a BIC', async function () {
      const client = tlsClient(gateway, pki.issueClient('not a bic'));
      const instruction = validInstruction();
      const err = await grpcError(submit(client, instruction, NO_METADATA()));
      assert.equal(err.code, status.UNAUTHENTICATED, err.message);
      assert.match(err.details, /CN must be the participant BIC/);
      const { errorInfo } = decodeStatusDetails(err.metadata);
      assert.ok(errorInfo, 'ErrorInfo in grpc-status-details-bin');
      assert.equal(errorInfo.reason, 'UNAUTHENTICATED');
      assert.match(errorInfo.metadata.trace_id ?? '', /^[0-9a-f]{32}$/);
      assert.notEqual(errorInfo.metadata.trace_id, '0'.repeat(32));
      assert.deepEqual(await keysOfUetr(redis, prefix, instruction.uetr), []);
    });

    it('refuses a certificate naming two participants in two CNs, and stores nothing', async function () {
      for (const names of [
        ['SABRRUMM', 'HSBKKZKX'],
        ['HSBKKZKX', 'SABRRUMM'],
      ]) {
        const client = tlsClient(gateway, pki.issueClient(names));
        const instruction = validInstruction({ instructingAgent: { bic: names[1] } });
        const err = await grpcError(submit(client, instruction, NO_METADATA()));
        assert.equal(err.code, status.UNAUTHENTICATED, err.message);
        assert.match(err.details, /several subject CNs/);
        assert.deepEqual(await keysOfUetr(redis, prefix, instruction.uetr), []);
        client.close();
      }
    });

    it('refuses an instruction whose instructing agent is another participant, and stores nothing', async function () {
      const instruction = validInstruction({ instructingAgent: { bic: 'SABRRUMM' } });
      const err = await grpcError(submit(halyk, instruction, NO_METADATA()));
      assert.equal(err.code, status.PERMISSION_DENIED, err.message);
      assert.equal(decodeStatusDetails(err.metadata).errorInfo?.reason, 'NOT_YOUR_AGENT');
      assert.deepEqual(await keysOfUetr(redis, prefix, instruction.uetr), []);
    });

    describe("another participant's instruction", function () {
      let uetr: string;

      /** The NOT_FOUND message with the UETR taken out, so two UETRs' answers compare equal. */
      const shape = (err: ServiceError, id: string) => ({
        code: err.code,
        message: err.details.replace(id, '<uetr>'),
        reason: decodeStatusDetails(err.metadata).errorInfo?.reason,
      });

      before(async function () {
        const instruction = validInstruction();
        uetr = instruction.uetr;
        await submit(halyk, instruction, NO_METADATA());
      });

      it('is readable and watchable by its owner', async function () {
        const record = await getInstruction(halyk, uetr, NO_METADATA());
        assert.equal(record.uetr, uetr);
        assert.equal(record.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
        const events = await watchEvents(halyk, uetr, NO_METADATA(), 2);
        assert.deepEqual(stateNames(events), ['INSTRUCTION_STATE_RECEIVED', 'INSTRUCTION_STATE_ACCEPTED']);
      });

      it('is NOT_FOUND for GetInstruction, exactly like an absent UETR', async function () {
        const absent = randomUUID();
        const foreign = await grpcError(getInstruction(sber, uetr, NO_METADATA()));
        const missing = await grpcError(getInstruction(sber, absent, NO_METADATA()));
        assert.equal(foreign.code, status.NOT_FOUND, foreign.message);
        assert.deepEqual(shape(foreign, uetr), shape(missing, absent));
      });

      it('is NOT_FOUND for WatchInstruction, exactly like an absent UETR, with no event sent', async function () {
        const absent = randomUUID();
        const foreign = await grpcError(watchEvents(sber, uetr, NO_METADATA(), 1));
        const missing = await grpcError(watchEvents(sber, absent, NO_METADATA(), 1));
        assert.equal(foreign.code, status.NOT_FOUND, foreign.message);
        assert.deepEqual(shape(foreign, uetr), shape(missing, absent));
      });

      it('stays hidden when the caller also sends the development-mode participant header', async function () {
        const claim = new Metadata();
        claim.set(DEV_PARTICIPANT_HEADER, 'HSBKKZKX');
        const read = await grpcError(getInstruction(sber, uetr, claim));
        assert.equal(read.code, status.NOT_FOUND, read.message);
        const watched = await grpcError(watchEvents(sber, uetr, claim.clone(), 1));
        assert.equal(watched.code, status.NOT_FOUND, watched.message);
        const instruction = validInstruction();
        const submitted = await grpcError(submit(sber, instruction, claim.clone()));
        assert.equal(submitted.code, status.PERMISSION_DENIED, submitted.message);
        assert.deepEqual(await keysOfUetr(redis, prefix, instruction.uetr), []);
      });
    });
  });

  describe('officer roles from the certificate', function () {
    let prefix: string;
    let gateway: TestGateway;

    before(async function () {
      prefix = uniquePrefix('mtls-roles');
      gateway = await startTestGateway(prefix, { env: tlsEnv() });
    });

    after(async function () {
      await gateway?.gateway.stop();
      await deleteUnder(redis, prefix);
    });

    function complianceAs(identity: CertificateFiles): ComplianceClient {
      const ca = readFileSync(pki.caFile);
      const creds = credentials.createSsl(
        ca,
        readFileSync(identity.keyFile),
        readFileSync(identity.certFile),
      );
      return new ComplianceClient(gateway.address, creds, {
        'grpc.ssl_target_name_override': 'localhost',
        'grpc.default_authority': 'localhost',
      });
    }

    it('lets an officer whose certificate OU is compliance use the Compliance service, as the CN', async function () {
      const client = complianceAs(pki.issueClient('aigerim.s', { units: ['compliance'] }));
      const version = await callUnary(
        client.upsertEntry.bind(client),
        {
          list: 'card-schemes',
          entry: entry({
            id: 'mir',
            kind: EntryKind.ENTRY_KIND_CARD_SCHEME,
            scheme: 'MIR',
            iinRanges: [{ from: '2200', to: '2204' }],
          }),
          note: 'mTLS officer',
        },
        NO_METADATA(),
        new Date(Date.now() + 10_000),
      );
      assert.equal(version.createdBy, 'aigerim.s');
      client.close();
    });

    it('knows an officer by one id whatever the letter case of the CN', async function () {
      const client = complianceAs(pki.issueClient('Aigerim.S', { units: ['Compliance'] }));
      const version = await callUnary(
        client.removeEntry.bind(client),
        { list: 'card-schemes', entryId: 'mir', note: 'case' },
        NO_METADATA(),
        new Date(Date.now() + 10_000),
      );
      assert.equal(version.createdBy, 'aigerim.s');
      client.close();
    });

    it('refuses an officer certificate with two CNs', async function () {
      const client = complianceAs(pki.issueClient(['aigerim.s', 'olga.k'], { units: ['compliance'] }));
      const err = await grpcError(
        callUnary(client.listLists.bind(client), {}, NO_METADATA(), new Date(Date.now() + 10_000)),
      );
      assert.equal(err.code, status.UNAUTHENTICATED, err.message);
      client.close();
    });

    it('refuses an operations officer and a participant certificate with PERMISSION_DENIED', async function () {
      for (const identity of [
        pki.issueClient('olga.k', { units: ['operations'] }),
        pki.issueClient('HSBKKZKX'),
        // A bank's certificate is no officer's, whatever department its OU names.
        pki.issueClient('HSBKKZKX', { units: ['Compliance', 'Operations'] }),
      ]) {
        const client = complianceAs(identity);
        const err = await grpcError(
          callUnary(client.listLists.bind(client), {}, NO_METADATA(), new Date(Date.now() + 10_000)),
        );
        assert.equal(err.code, status.PERMISSION_DENIED, err.message);
        client.close();
      }
    });
  });
});
