import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { answers, freePort } from '../../src/store/private-redis';

/** One redis-server of a test cluster. */
export interface ClusterNodeProcess {
  port: number;
  bus: number;
  dir: string;
  child: ChildProcess;
}

/** A real Redis Cluster of local redis-server processes, each in a temporary directory of its own. */
export interface TestRedisCluster {
  /** redis+cluster://127.0.0.1:<master ports…> */
  url: string;
  nodes: ClusterNodeProcess[];
  /** A plain connection to one node (closed by `stop`). */
  node(port: number): Redis;
  /** The ports of the master serving a slot and of its replicas, as the cluster says now. */
  shardOf(slot: number): Promise<{ master: number; replicas: number[] }>;
  /** `CLUSTER FAILOVER` on a replica of the slot's master; resolves when it serves the slot. */
  failover(slot: number): Promise<{ from: number; to: number }>;
  /**
   * SIGKILL of the slot's master; resolves when the cluster has promoted its replica (after
   * cluster-node-timeout) and the killed node, started again on its directory, has rejoined as the
   * new master's replica in sync. Writes the master acknowledged but had not yet replicated are lost.
   */
  killMaster(slot: number): Promise<{ from: number; to: number }>;
  /** Stops every node (SIGKILL: the data is thrown away) and removes the directories. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${String(code)}):\n${output}`));
    });
  });
}

type SlotsReply = [number, number, ...[string, number, ...unknown[]][]][];

/**
 * Starts `masters` masters with `replicasPerMaster` replicas each (redis-server --cluster-enabled
 * yes, AOF on, a short cluster-node-timeout), joins them with `redis-cli --cluster create`, and
 * waits until every node reports cluster_state:ok and every replica is in sync.
 */
export async function startRedisCluster(masters = 3, replicasPerMaster = 1): Promise<TestRedisCluster> {
  const root = mkdtempSync(path.join(tmpdir(), 'caravan-cluster-'));
  const nodes: ClusterNodeProcess[] = [];
  const clients = new Map<number, Redis>();
  const taken = new Set<number>();
  const port = async () => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const node = (p: number) => {
    let client = clients.get(p);
    if (!client) {
      client = new Redis({ host: '127.0.0.1', port: p, maxRetriesPerRequest: 1, lazyConnect: false });
      client.on('error', () => undefined);
      clients.set(p, client);
    }
    return client;
  };
  const stop = async () => {
    for (const c of clients.values()) c.disconnect();
    for (const n of nodes)
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => exited(n.child)));
    rmSync(root, { recursive: true, force: true });
  };

  /** A node on its port and directory: started again, it finds its nodes.conf and AOF there. */
  const launch = (p: number, bus: number, dir: string) => {
    const log = openSync(path.join(dir, 'redis.log'), 'a');
    // prettier-ignore
    const child = spawn('redis-server', [
      '--port', String(p), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--dir', dir,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000',
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no',
    ], { stdio: ['ignore', log, log] });
    return child;
  };

  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      const p = await port();
      const bus = await port();
      const dir = path.join(root, `node-${p}`);
      mkdirSync(dir);
      nodes.push({ port: p, bus, dir, child: launch(p, bus, dir) });
    }
    for (const n of nodes) {
      await until(`redis-server on port ${n.port}`, 10_000, async () => {
        if (n.child.exitCode !== null)
          throw new Error(`redis-server on ${n.port} exited; see ${n.dir}/redis.log`);
        return answers('127.0.0.1', n.port, 200);
      });
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      60_000,
    );
    for (const n of nodes) {
      await until(`cluster_state:ok on ${n.port}`, 30_000, async () =>
        (await node(n.port).cluster('INFO')).includes('cluster_state:ok'),
      );
    }
    for (const n of nodes) {
      await until(`replication in sync on ${n.port}`, 30_000, async () => {
        const info = await node(n.port).info('replication');
        return info.includes('role:master') || info.includes('master_link_status:up');
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const shardOf = async (slot: number) => {
    const slots = (await node(nodes[0].port).cluster('SLOTS')) as SlotsReply;
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    const [, , master, ...replicas] = range;
    return { master: Number(master[1]), replicas: replicas.map((r) => Number(r[1])) };
  };

  const masterPorts = await Promise.all(
    nodes.map(async (n) => ((await node(n.port).info('replication')).includes('role:master') ? n.port : 0)),
  );
  return {
    url: `redis+cluster://${masterPorts
      .filter((p) => p !== 0)
      .map((p) => `127.0.0.1:${p}`)
      .join(',')}`,
    nodes,
    node,
    shardOf,
    async failover(slot) {
      const { master, replicas } = await shardOf(slot);
      const replica = replicas[0];
      if (replica === undefined) throw new Error(`the master of slot ${slot} has no replica`);
      await until(`replica ${replica} in sync before the failover`, 30_000, async () =>
        (await node(replica).info('replication')).includes('master_link_status:up'),
      );
      await node(replica).cluster('FAILOVER');
      await until(`replica ${replica} to take over slot ${slot}`, 30_000, async () => {
        const now = await shardOf(slot);
        const role = await node(replica).info('replication');
        return now.master === replica && role.includes('role:master');
      });
      return { from: master, to: replica };
    },
    async killMaster(slot) {
      const { master, replicas } = await shardOf(slot);
      const victim = nodes.find((n) => n.port === master);
      if (!victim || replicas.length === 0) throw new Error(`the master of slot ${slot} has no replica`);
      victim.child.kill('SIGKILL');
      await exited(victim.child);
      clients.get(master)?.disconnect();
      clients.delete(master);
      const survivor = nodes.find((n) => n.port !== master)!.port;
      let promoted = 0;
      await until(`a replica of ${master} to take over slot ${slot}`, 60_000, async () => {
        const slots = (await node(survivor).cluster('SLOTS')) as SlotsReply;
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        promoted = range ? Number(range[2][1]) : 0;
        const state = await node(survivor).cluster('INFO');
        return promoted !== master && replicas.includes(promoted) && state.includes('cluster_state:ok');
      });
      victim.child = launch(victim.port, victim.bus, victim.dir);
      await until(`node ${master} to rejoin as a replica of ${promoted}`, 60_000, async () => {
        const info = await node(master).info('replication');
        return (
          info.includes('role:slave') &&
          info.includes(`master_port:${promoted}`) &&
          info.includes('master_link_status:up')
        );
      });
      return { from: master, to: promoted };
    },
    stop,
  };
}
