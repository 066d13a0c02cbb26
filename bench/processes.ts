import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../src/gen/grpc/health/v1/health';

/** A server under test, in a process of its own so it never shares a CPU queue with the generator. */
export interface ChildServer {
  name: string;
  pid: number;
  address: string;
  /** The last lines the child printed, to explain a crash or errors. */
  outputTail(): string[];
  /** How many lines it has printed since it started. */
  lineCount(): number;
  /** Set once the child has exited, with how. */
  exited(): string | null;
  /** SIGTERM, then SIGKILL if it has not exited within graceMs. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * A port the kernel considers free right now. Another process could take it before the child
 * binds; the child then fails to start and the bench says so, which is acceptable for a bench.
 */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port was assigned'))));
    });
  });
}

const live = new Set<ChildProcess>();

// Last resort if the bench dies without running its cleanup: no server is left running behind it.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function startChild(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; address: string },
): ChildServer {
  // BENCH_PROFILE_DIR: each server writes a V8 CPU profile there when it exits (open in Chrome
  // DevTools): where a server spends its time under the bench's load.
  const profileDir = process.env.BENCH_PROFILE_DIR;
  if (profileDir)
    args = [
      '--cpu-prof',
      `--cpu-prof-dir=${profileDir}`,
      `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`,
      ...args,
    ];
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  live.add(child);
  const tail: string[] = [];
  let lines = 0;
  const keep = (line: string) => {
    if (line.trim() === '') return;
    lines++;
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  const keeper = () => {
    // A chunk may end mid-line; the rest of that line arrives with the next chunk.
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) keep(line);
    };
  };
  child.stdout?.on('data', keeper());
  child.stderr?.on('data', keeper());
  let exitedHow: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedHow = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
      live.delete(child);
      resolve();
    }),
  );
  let stopping: Promise<void> | null = null;
  return {
    name,
    pid: child.pid,
    address: options.address,
    outputTail: () => [...tail],
    lineCount: () => lines,
    exited: () => exitedHow,
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (exitedHow !== null) return;
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        });
        const late = await Promise.race([exited.then(() => false), timedOut]);
        clearTimeout(timer);
        if (late) {
          child.kill('SIGKILL');
          await exited;
        }
      })();
      return stopping;
    },
  };
}

/** Polls grpc.health.v1 Check until the server answers SERVING, the child exits, or time runs out. */
export async function waitUntilServing(
  server: ChildServer,
  service: string,
  timeoutMs = 30_000,
): Promise<void> {
  const client = new HealthClient(server.address, credentials.createInsecure());
  const giveUpAt = Date.now() + timeoutMs;
  let last = 'no answer yet';
  try {
    while (Date.now() < giveUpAt) {
      const how = server.exited();
      if (how !== null) {
        throw new Error(
          `${server.name} exited before serving (${how}):\n  ${server.outputTail().join('\n  ')}`,
        );
      }
      const answer = await new Promise<string>((resolve) =>
        client.check({ service }, new Metadata(), { deadline: Date.now() + 1_000 }, (err, res) =>
          resolve(err ? err.message : HealthCheckResponse_ServingStatus[res.status]),
        ),
      );
      if (answer === 'SERVING') return;
      last = answer;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${server.name} was not SERVING after ${timeoutMs} ms (last: ${last})`);
  } finally {
    client.close();
  }
}

/**
 * A `caravan serve` process as the benches run it: development mode, no dispatcher, no rate limit
 * (a bench measures the gateway, not one participant's allowance), warnings only. `env` adds to or
 * overrides that (a variable set to undefined is removed).
 */
export function startBenchGateway(
  root: string,
  name: string,
  options: { port: number; redisUrl: string; prefix: string; env?: NodeJS.ProcessEnv },
): ChildServer {
  return startChild(name, process.execPath, [join(root, 'bin', 'caravan'), 'serve'], {
    cwd: root,
    address: `127.0.0.1:${options.port}`,
    env: {
      ...process.env,
      CARAVAN_DEV_INSECURE: 'true',
      CARAVAN_RATE_LIMIT: '0',
      CARAVAN_LISTEN: `127.0.0.1:${options.port}`,
      CARAVAN_REDIS_PREFIX: options.prefix,
      CARAVAN_LOG_LEVEL: 'warn',
      CARAVAN_DISPATCHER: 'off',
      REDIS_URL: options.redisUrl,
      // Inherited TLS settings would contradict development mode and stop the gateway.
      CARAVAN_TLS_CERT: undefined,
      CARAVAN_TLS_KEY: undefined,
      CARAVAN_TLS_CA: undefined,
      ...options.env,
    },
  });
}

/** The bare grpc-js server of bench/echo-server.ts, answering every call of `service` with `response`. */
export function startEchoServer(root: string, port: number, service: string, response: Buffer): ChildServer {
  return startChild('echo', process.execPath, ['--import', 'tsx', join(root, 'bench', 'echo-server.ts')], {
    cwd: root,
    address: `127.0.0.1:${port}`,
    env: {
      ...process.env,
      ECHO_LISTEN: `127.0.0.1:${port}`,
      ECHO_RESPONSE_BASE64: response.toString('base64'),
      ECHO_SERVICE_NAME: service,
    },
  });
}
