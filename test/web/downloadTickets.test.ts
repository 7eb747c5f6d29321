// Download tickets stand in for the host's secret on a plain link, so each must work once, for
// one export, and not after its minute.

import { describe, expect, it } from 'vitest';
import { DownloadTickets, TICKET_TTL_MS } from '../../src/host/downloadTickets';

describe('download tickets', () => {
  it('name one export and work once', () => {
    const tickets = new DownloadTickets();
    const t = tickets.issue('/runs/job/1', 'run-zip');
    expect(t.length).toBeGreaterThanOrEqual(32);
    expect(tickets.redeem(t)).toMatchObject({ runDir: '/runs/job/1', what: 'run-zip' });
    expect(tickets.redeem(t)).toBeUndefined();
    expect(tickets.redeem('made-up')).toBeUndefined();
    expect(tickets.redeem(null)).toBeUndefined();
  });

  it('expire after their minute, on the clock they are given', () => {
    let now = 1_000;
    const tickets = new DownloadTickets(() => now);
    const late = tickets.issue('/r', 'logs-zip');
    const inTime = tickets.issue('/r', 'logs-zip');
    now += TICKET_TTL_MS - 1;
    expect(tickets.redeem(inTime)).toBeDefined();
    now += 1;
    expect(tickets.redeem(late)).toBeUndefined();
  });

  it('are never more than a bounded number, however many a tab asks for', () => {
    const tickets = new DownloadTickets();
    const first = tickets.issue('/r', 'output-csv');
    for (let i = 0; i < 1000; i++) tickets.issue('/r', 'output-csv');
    expect(tickets.redeem(first)).toBeUndefined();
  });
});
