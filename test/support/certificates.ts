import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  /** The CA the gateway trusts for participant certificates, and that signed its own certificate. */
  caFile: string;
  /** CN=localhost with subjectAltName DNS:localhost, IP:127.0.0.1. */
  serverCertFile: string;
  serverKeyFile: string;
  /** A CA nobody trusts, for certificates that must be refused. */
  rogueCaFile: string;
  /**
   * A client certificate with the given subject CN (several for a hostile subject), signed by the
   * main CA unless `ca: 'rogue'`.
   */
  issueClient(cn: string | string[], options?: { ca?: 'main' | 'rogue'; units?: string[] }): CertificateFiles;
  cleanup(): void;
}

// Our own minimal config rather than the system openssl.cnf, whose defaults (e.g. CA:TRUE on every
// `req -x509`) differ between distributions.
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn

[dn]

[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** -subj takes /-separated attributes, so / = and \ inside a value must be escaped. */
function subject(cn: string | readonly string[], units: readonly string[] = []): string {
  const escape = (v: string) => v.replace(/[\\/=]/g, (c) => `\\${c}`);
  const names = typeof cn === 'string' ? [cn] : cn;
  return units.map((u) => `/OU=${escape(u)}`).join('') + names.map((n) => `/CN=${escape(n)}`).join('');
}

/**
 * A throw-away PKI for mTLS tests, generated with the openssl CLI in a fresh temporary directory.
 * EC P-256 keys keep it fast: about 100 ms for the CAs and the server, a few tens per client.
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'caravan-pki-'));
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, OPENSSL_CONFIG);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc'];
  let issued = 0;

  function createCa(name: string, cn: string): CertificateFiles {
    const files = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
    // prettier-ignore
    openssl([
      'req', '-x509', '-config', config, '-extensions', 'ca', ...newKey,
      '-keyout', files.keyFile, '-out', files.certFile, '-subj', subject(cn), '-days', '2', '-sha256',
    ]);
    return files;
  }

  function issue(
    name: string,
    cn: string | readonly string[],
    ca: CertificateFiles,
    extensions: 'server' | 'client',
    units: readonly string[] = [],
  ): CertificateFiles {
    const files = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
    const csr = join(dir, `${name}.csr`);
    // prettier-ignore
    openssl([
      'req', '-new', '-config', config, ...newKey,
      '-keyout', files.keyFile, '-out', csr, '-subj', subject(cn, units),
    ]);
    // prettier-ignore
    openssl([
      'x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile,
      // A random serial instead of -CAcreateserial: no serial file, and no two certificates alike.
      '-set_serial', `0x${randomBytes(12).toString('hex')}`,
      '-days', '2', '-sha256', '-extfile', config, '-extensions', extensions, '-out', files.certFile,
    ]);
    return files;
  }

  const ca = createCa('ca', 'Caravan Test CA');
  const rogue = createCa('rogue-ca', 'Rogue Test CA');
  const server = issue('server', 'localhost', ca, 'server');

  return {
    dir,
    caFile: ca.certFile,
    serverCertFile: server.certFile,
    serverKeyFile: server.keyFile,
    rogueCaFile: rogue.certFile,
    issueClient(cn, options = {}) {
      issued += 1;
      return issue(`client-${issued}`, cn, options.ca === 'rogue' ? rogue : ca, 'client', options.units);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
