import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { answers, freePort } from '../../src/store/private-redis';

/**
 * A redis-server of one test's own that the test may kill, freeze and restart: it keeps one port
 * and one directory for its whole life, so a restart comes back where clients already point and
 * finds the AOF (or nothing) the previous process left there.
 */
export interface RedisProcess {
  readonly port: number;
  readonly dir: string;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** The current redis-server's pid, or -1 while none runs. */
  pid(): number;
  running(): boolean;
  /** SIGKILL: no shutdown save, no AOF rewrite; clients see the connection refused from then on. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and commands are accepted by the kernel, but nothing answers. */
  pause(): void;
  /** SIGCONT after pause(): the commands sent meanwhile are executed and answered. */
  resume(): void;
  /** A new redis-server with the same arguments, port and directory; resolves once its data is loaded. */
  restart(): Promise<void>;
  /** Lines of the server's log (every process started so far), for failure messages. */
  logTail(lines?: number): string;
  /** SIGKILL (a paused server too) and removal of the directory. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

// Last resort when a run dies before its after hooks (mocha --exit, an uncaught error): no
// redis-server is left behind, frozen or not; SIGKILL ends a stopped process as well.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Whether the server answers and has finished loading: a restarted server accepts connections
 * while it replays the AOF, and answers -LOADING until then, which a test must not mistake for up.
 */
async function loaded(port: number): Promise<boolean> {
  if (!(await answers('127.0.0.1', port, 200))) return false;
  const probe = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    // ioredis's own ready check waits out a loading server's ETA (a second or more) before it
    // asks again; this probe asks INFO itself, so the restart is seen as soon as it is done.
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
    commandTimeout: 500,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return /^loading:0\b/m.test(await probe.info('persistence'));
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts a redis-server on a free loopback port in a fresh directory under `parentDir` (the
 * system's temporary directory unless given: a bench measuring fsync wants a real disk, and /tmp
 * may be tmpfs), with RDB snapshots off, so only what `args` turns on persists, e.g.
 * `--appendonly yes --appendfsync always`.
 */
export async function startRedisProcess(
  args: readonly string[] = [],
  options: { parentDir?: string; timeoutMs?: number } = {},
): Promise<RedisProcess> {
  const { parentDir = tmpdir(), timeoutMs = 15_000 } = options;
  mkdirSync(parentDir, { recursive: true });
  const dir = mkdtempSync(path.join(parentDir, 'caravan-redis-'));
  const port = await freePort();
  const logFile = path.join(dir, 'redis.log');
  let child: ChildProcess | null = null;
  let stopped = false;

  const launch = async () => {
    const log = openSync(logFile, 'a');
    // prettier-ignore
    const started = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no',
      ...args,
    ], { stdio: ['ignore', log, log] });
    closeSync(log);
    child = started;
    live.add(started);
    void exited(started).then(() => live.delete(started));
    const deadline = Date.now() + timeoutMs;
    while (!(await loaded(port))) {
      if (started.exitCode !== null || started.signalCode !== null || Date.now() > deadline) {
        started.kill('SIGKILL');
        await exited(started);
        throw new Error(`redis-server on port ${port} did not come up:\n${logTail(20)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const isRunning = () => child !== null && child.exitCode === null && child.signalCode === null;
  const logTail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const kill = async () => {
    const current = child;
    if (current === null) return;
    if (isRunning()) current.kill('SIGKILL');
    await exited(current);
  };
  const signal = (name: 'SIGSTOP' | 'SIGCONT') => {
    if (!isRunning()) throw new Error(`redis-server on port ${port} is not running`);
    child?.kill(name);
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    pid: () => (isRunning() ? (child?.pid ?? -1) : -1),
    running: isRunning,
    kill,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async restart() {
      if (stopped) throw new Error('the redis-server was stopped for good');
      await kill();
      await launch();
    },
    logTail,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether `replica` is online and has everything its primary has written so far (INFO replication). */
async function replicaInSync(primary: Redis, replica: Redis): Promise<boolean> {
  const [p, r] = await Promise.all([primary.info('replication'), replica.info('replication')]);
  const offset = /^master_repl_offset:(\d+)/m.exec(p)?.[1];
  return (
    /^slave0:.*state=online/m.test(p) &&
    /^master_link_status:up/m.test(r) &&
    /^slave_repl_offset:(\d+)/m.exec(r)?.[1] === offset
  );
}

/** Waits until replicaInSync holds, or throws after `timeoutMs`. */
export async function waitForReplicaSync(primary: Redis, replica: Redis, timeoutMs = 30_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await replicaInSync(primary, replica))) {
    if (Date.now() > giveUpAt) throw new Error(`the replica did not sync within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
