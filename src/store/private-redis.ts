import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';

export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections at host:port within the timeout. */
export function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A loopback port nothing listens on at the moment of the call (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * A redis-server of the gateway's own, for a developer's machine with Redis installed but not
 * running: it keeps its data in `dir` with AOF on (so accepted instructions survive a restart),
 * listens on loopback only, and stops with the gateway — also when the gateway is killed with
 * SIGKILL and cannot stop it: a shell beside it reads the gateway's end of a pipe and stops the
 * server when that pipe closes, which the kernel does for a process however it dies.
 */
export async function startPrivateRedis(dir: string, timeoutMs = 10_000): Promise<PrivateRedis> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const log = openSync(path.join(dir, 'redis.log'), 'a');
  // prettier-ignore
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no',
  ];
  // The shell exits when redis-server does; the subshell stops redis-server at the end of the
  // pipe, read through fd 3 because sh gives background jobs /dev/null as their standard input.
  const watchdog =
    'exec 3<&0; redis-server "$@" </dev/null & r=$!; (read -r _ <&3; kill "$r" 2>/dev/null) & wait "$r"';
  const child = spawn('sh', ['-c', watchdog, 'caravan-redis', ...args], { stdio: ['pipe', log, log] });
  const deadline = Date.now() + timeoutMs;
  while (!(await answers('127.0.0.1', port, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.stdin?.end();
      child.kill('SIGKILL');
      throw new Error(`the private redis-server did not start; see ${path.join(dir, 'redis.log')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.stdin?.end();
      await exited(child);
    },
  };
}
