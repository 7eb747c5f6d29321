// A Redis of our own on this machine: `prs cluster up` and the tests. Its own folder (AOF there,
// so a restart keeps the queue), a free loopback port, and the settings BullMQ needs: a queue
// must never have its keys evicted.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface LocalRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** SIGTERM (Redis writes its AOF and exits) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function redisServerPath(): string {
  for (const candidate of [
    process.env.PRS_REDIS_SERVER,
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
  ])
    if (candidate && existsSync(candidate)) return candidate;
  return 'redis-server';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server in `dir` on `port` (a free one if not given); resolves once it accepts connections. */
export async function startLocalRedis(
  dir: string,
  port?: number,
  { password, bind = ['127.0.0.1'] }: { password?: string; bind?: string[] } = {},
): Promise<LocalRedis> {
  mkdirSync(dir, { recursive: true });
  const chosen = port ?? (await freePort());
  const child = spawn(
    redisServerPath(),
    [
      '--port',
      String(chosen),
      '--bind',
      bind.join(' '),
      '--dir',
      path.resolve(dir),
      '--appendonly',
      'yes',
      // On disk before it is answered: a result relayed just before a crash must not vanish.
      '--appendfsync',
      'always',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
      '--protected-mode',
      'yes',
      ...(password ? ['--requirepass', password] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new Error(
          `redis-server could not be started (${err.message}); install it (Debian: apt-get install redis-server)`,
        ),
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with code ${code} before it was ready:\n${log}`)),
    );
    const poll = () => {
      if (/Ready to accept connections/.test(log)) return resolve();
      setTimeout(poll, 50);
    };
    poll();
  });
  return {
    url: `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${chosen}`,
    port: chosen,
    dir,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
