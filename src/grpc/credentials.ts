import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { TlsFiles } from '../config/config';

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** mTLS: the gateway refuses any client without a certificate signed by the configured CA. */
export function serverCredentials(tls: TlsFiles | null): ServerCredentials {
  if (tls === null) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    read(tls.caFile, 'CA certificate (CARAVAN_TLS_CA)'),
    [
      {
        cert_chain: read(tls.certFile, 'certificate (CARAVAN_TLS_CERT)'),
        private_key: read(tls.keyFile, 'private key (CARAVAN_TLS_KEY)'),
      },
    ],
    true,
  );
}

export function channelCredentials(tls: TlsFiles | null): ChannelCredentials {
  if (tls === null) return ChannelCredentials.createInsecure();
  return ChannelCredentials.createSsl(
    read(tls.caFile, 'CA certificate (CARAVAN_TLS_CA)'),
    read(tls.keyFile, 'private key (CARAVAN_TLS_KEY)'),
    read(tls.certFile, 'certificate (CARAVAN_TLS_CERT)'),
  );
}
