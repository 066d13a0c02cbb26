import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, type Env } from './cli';

export interface ServerProcess {
  /** Resolves with the first stdout match of the ready pattern (e.g. a log line with the port). */
  ready: Promise<RegExpExecArray>;
  pid: number;
  stdout(): string;
  /** Sends the signal and resolves when the process has exited. */
  stop(
    signal: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * A long-running `caravan` process (serve, dispatch, receiver) that ends on a signal; the
 * environment is scrubbed of CARAVAN_ and REDIS_ settings like test/support/cli.ts does.
 */
export function spawnCaravan(
  args: string[],
  env: Env,
  readyPattern: RegExp,
  readyTimeoutMs = 20_000,
): ServerProcess {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('CARAVAN_') && !key.startsWith('REDIS_')),
  );
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'caravan'), ...args], {
    cwd: ROOT,
    env: { ...base, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`caravan ${args.join(' ')} did not get ready:\n${stdout}\n${stderr}`));
    }, readyTimeoutMs);
    let matched = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (matched) return;
      const match = readyPattern.exec(stdout);
      if (match) {
        matched = true;
        clearTimeout(timer);
        resolve(match);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`caravan ${args.join(' ')} exited before it was ready:\n${stdout}\n${stderr}`));
    });
  });
  ready.catch(() => undefined);
  return {
    ready,
    pid: child.pid ?? -1,
    stdout: () => stdout,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return { ...(await exited), stderr };
    },
  };
}
