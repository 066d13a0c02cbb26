/**
 * REDIS_URL names either one Redis (`redis://` or `rediss://`, as ioredis reads it) or the seed
 * nodes of a Redis Cluster: `redis+cluster://[user:password@]host1:7000,host2:7001[,…]`, or
 * `rediss+cluster://…` for TLS. One reachable seed is enough (the client discovers the others from
 * CLUSTER SLOTS); naming several lets the gateway start while a seed is down.
 */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'cluster';
      nodes: { host: string; port: number }[];
      tls: boolean;
      username: string | undefined;
      password: string | undefined;
    };

export const REDIS_URL_FORMS =
  'redis://host:port or rediss://host:port (one Redis), or redis+cluster://host1:port1,host2:port2 or rediss+cluster://… (Redis Cluster seed nodes)';

const PERCENT_ENCODED =
  'its user name and password must be percent-encoded (write % as %25, @ as %40, : in a user name as %3A)';

const NODE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Parses REDIS_URL; answers why it is not usable as a string. */
export function parseRedisUrl(url: string): RedisTarget | string {
  if (/^rediss?:\/\/\S+$/.test(url)) {
    // ioredis decodes the credentials: a bare % (common in generated passwords) throws at start.
    try {
      const parsed = new URL(url);
      decodeURIComponent(parsed.username);
      decodeURIComponent(parsed.password);
    } catch {
      return PERCENT_ENCODED;
    }
    return { kind: 'standalone', url };
  }
  const cluster = /^(rediss?)\+cluster:\/\/(?:([^@/\s]*)@)?([^/?#@\s]+)\/?$/.exec(url);
  if (!cluster) return `must be ${REDIS_URL_FORMS}`;
  const [, scheme, credentials, nodeList] = cluster;
  const nodes: { host: string; port: number }[] = [];
  for (const node of nodeList.split(',')) {
    const match = NODE.exec(node);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      return `cluster node ${JSON.stringify(node)} must be host:port with a port from 1 to 65535, e.g. redis+cluster://10.0.0.1:7000,10.0.0.2:7001`;
    }
    nodes.push({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  let username: string | undefined;
  let password: string | undefined;
  if (credentials !== undefined) {
    const colon = credentials.indexOf(':');
    const decode = (s: string) => (s === '' ? undefined : decodeURIComponent(s));
    try {
      if (colon < 0) {
        password = decode(credentials);
      } else {
        username = decode(credentials.slice(0, colon));
        password = decode(credentials.slice(colon + 1));
      }
    } catch {
      return PERCENT_ENCODED;
    }
  }
  return { kind: 'cluster', nodes, tls: scheme === 'rediss', username, password };
}

export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url);
}
