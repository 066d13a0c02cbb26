import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'caravan');

export type Env = Record<string, string | undefined>;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  stdout(): string;
  /** Resolves once stdout matches, so a test can change the instruction while the CLI watches. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
}

/**
 * The real `caravan` process, built by `npm run build` (the pretest script). The environment is
 * the test's own minus every CARAVAN_ and REDIS_ setting, so a developer's shell cannot change
 * the outcome.
 */
export function startCaravan(
  args: string[],
  env: Env,
  options: { stdin?: string; timeoutMs?: number } = {},
): RunningCli {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('CARAVAN_') && !key.startsWith('REDIS_')),
  );
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...base, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const stdoutListeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of stdoutListeners) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(options.stdin ?? '');

  const timeoutMs = options.timeoutMs ?? 15_000;
  const done = new Promise<CliResult>((resolveDone, reject) => {
    // A CLI that never exits is the failure here (e.g. watch not ending on a final state).
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `caravan ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveDone({ code, signal, stdout, stderr });
    });
  });

  return {
    stdout: () => stdout,
    done,
    waitForStdout(pattern, waitMs = 10_000) {
      return new Promise<void>((resolveWait, reject) => {
        const check = () => {
          if (!pattern.test(stdout)) return;
          stdoutListeners.delete(check);
          clearTimeout(timer);
          resolveWait();
        };
        const timer = setTimeout(() => {
          stdoutListeners.delete(check);
          reject(new Error(`stdout never matched ${String(pattern)}:\n${stdout}\nstderr:\n${stderr}`));
        }, waitMs);
        stdoutListeners.add(check);
        check();
        done.then(check, () => undefined);
      });
    },
  };
}
