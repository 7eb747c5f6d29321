// The cluster's address and credentials: redis:// and rediss:// URLs with users and passwords, a
// password-protected Redis that agents and the leader join with its password and that refuses a
// wrong one with a clear message (exit 2, no stack trace).

import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../src/engine/cluster/redisUrl';
import { prs, tempDir } from '../helpers';
import { clusterJob, expectedInputs, readOutput, useCluster } from './kit';
import { startLocalRedis } from '../../src/engine/cluster/localRedis';

describe('cluster URLs', () => {
  it('reads user, password, database and TLS, and masks the password', () => {
    const a = parseRedisUrl('rediss://scorer:p%40ss@redis.lab:6380/2');
    expect(a.options).toMatchObject({
      host: 'redis.lab',
      port: 6380,
      db: 2,
      username: 'scorer',
      password: 'p@ss',
      tls: { servername: 'redis.lab' },
      maxRetriesPerRequest: null,
    });
    expect(a.display).toBe('rediss://scorer:***@redis.lab:6380/2');
    expect(parseRedisUrl('redis://10.0.0.5').options).toMatchObject({ port: 6379, db: 0 });
    expect(parseRedisUrl('redis://10.0.0.5').options.tls).toBeUndefined();
  });

  it('names what is wrong with a URL that is not one', () => {
    expect(() => parseRedisUrl('tcp://10.0.0.5:6379')).toThrow(
      /"tcp:\/\/10\.0\.0\.5:6379" uses tcp:\/\/ \(expected redis:\/\/ or rediss:\/\/\)/,
    );
    expect(() => parseRedisUrl('10.0.0.5:6379')).toThrow(
      /is not a URL \(expected redis:\/\/\[user:pass@\]host:port\)/,
    );
    expect(() => parseRedisUrl('not a url')).toThrow(
      /"not a url" is not a URL \(expected redis:\/\/\[user:pass@\]host:port\)/,
    );
    expect(() => parseRedisUrl('redis://h:1/x')).toThrow(/names database "x" \(expected a number/);
  });
});

describe('a password-protected cluster', () => {
  const cluster = useCluster();

  it('runs a job for agents and a leader that give the password, and refuses a wrong one', async () => {
    const redis = await startLocalRedis(tempDir('prs-redis-'), undefined, { password: 'lab s3cret' });
    cluster.adopt(redis);
    expect(redis.url).toMatch(/^redis:\/\/:lab%20s3cret@127\.0\.0\.1:\d+$/);
    await cluster.agent(redis.url, 'locked', 2);
    const job = clusterJob({ files: 6, delayMs: 0, nodeCount: 1 });
    const ok = await prs(['run', job.spec, '--cluster', redis.url, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const out = readOutput(ok.json!.output_file!);
    expect(out.inputs).toEqual(expectedInputs(6));
    expect([...out.nodes.keys()]).toEqual(['locked']);

    const wrong = redis.url.replace('lab%20s3cret', 'guess');
    const run = await prs(['run', job.spec, '--cluster', wrong, '--json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the credentials \(WRONGPASS/,
    );
    expect(run.stderr).not.toMatch(/guess|\n\s+at /);
    const agent = await prs(['agent', '--cluster', wrong, '--name', 'intruder']);
    expect(agent.code).toBe(2);
    expect(agent.stderr).toMatch(/refused the credentials/);
    const status = await prs(['cluster', 'status', '--cluster', redis.url, '--json']);
    expect(JSON.parse(status.stdout).map((n: { name: string }) => n.name)).toEqual(['locked']);
  });
});
