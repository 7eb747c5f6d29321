// The cluster's address as users write it: redis://[user:pass@]host:port[/db] or rediss:// (TLS).
// Parsed here once so every error names the URL and says what was expected.

import type { RedisOptions } from 'ioredis';

export interface ClusterAddress {
  /** The URL with its password masked, for logs and messages. */
  display: string;
  options: RedisOptions;
}

export function parseRedisUrl(text: string): ClusterAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--cluster: "${text}" is not a URL (expected redis://[user:pass@]host:port)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new Error(`--cluster: "${text}" uses ${url.protocol}// (expected redis:// or rediss://)`);
  if (!url.hostname) throw new Error(`--cluster: "${text}" has no host (expected redis://host:port)`);
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw new Error(
      `--cluster: "${text}" names database "${dbText}" (expected a number, e.g. redis://host:6379/0)`,
    );
  const options: RedisOptions = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    // BullMQ requires it, and a blocking read must wait out a Redis restart rather than fail.
    maxRetriesPerRequest: null,
  };
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = { servername: options.host };
  const masked = new URL(text);
  if (masked.password) masked.password = '***';
  return { display: masked.toString(), options };
}
