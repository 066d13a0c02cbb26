import { strict as assert } from 'node:assert';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  ServerReflectionClient,
  type ServerReflectionResponse,
} from '../../src/gen/grpc/reflection/v1/reflection';
import { decodeStatusDetails } from '../../src/grpc/status';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

describe('reflection: requests per stream are bounded', function () {
  this.timeout(60_000);
  const prefix = uniquePrefix('reflection-limits');
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(prefix);
  });
  after(async () => {
    await gw.gateway.stop();
    const redis = testRedis();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('answers 200 requests on one stream, then ends it with RESOURCE_EXHAUSTED', async () => {
    const client = new ServerReflectionClient(gw.address, credentials.createInsecure());
    const call = client.serverReflectionInfo();
    const answers: ServerReflectionResponse[] = [];
    const ended = new Promise<ServiceError | null>((resolve) => {
      call.on('data', (r: ServerReflectionResponse) => answers.push(r));
      call.on('error', (err: ServiceError) => resolve(err));
      call.on('end', () => resolve(null));
    });
    for (let i = 0; i < 250; i++) {
      call.write({
        host: '',
        messageRequest: { $case: 'fileContainingSymbol', value: 'caravan.settlement.v1.SettlementGateway' },
      });
    }
    call.end();
    const err = await ended;
    assert.ok(err, 'the stream ended without an error');
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /at most 200 requests per reflection stream/);
    assert.ok(decodeStatusDetails(err.metadata).errorInfo);
    assert.equal(answers.length, 200);
    assert.ok(answers.every((a) => a.messageResponse?.$case === 'fileDescriptorResponse'));
    client.close();
  });
});
