// Single-use download tickets for the web host's /export. A plain link (the only way a browser
// streams a large download to disk) carries no Authorization header, and the host's secret must
// not travel in a cookie (cookies are not scoped by port) or in a URL (history, logs). So a tab asks
// for a ticket over its authenticated WebSocket and follows `/export?ticket=...` at once; the ticket
// names one export of one run folder, works once, and expires after a minute.

import { randomBytes } from 'node:crypto';
import type { ExportWhat } from '../common/api';

export interface DownloadTicket {
  runDir: string;
  what: ExportWhat;
  expiresAt: number;
}

export const TICKET_TTL_MS = 60_000;
/** A tab that asks for tickets without using them cannot make the host hold more than this. */
const MAX_TICKETS = 256;

export class DownloadTickets {
  private readonly tickets = new Map<string, DownloadTicket>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(runDir: string, what: ExportWhat): string {
    this.purge();
    if (this.tickets.size >= MAX_TICKETS) {
      const oldest = this.tickets.keys().next().value;
      if (oldest !== undefined) this.tickets.delete(oldest);
    }
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, { runDir, what, expiresAt: this.now() + TICKET_TTL_MS });
    return ticket;
  }

  /** The export a ticket names, once; undefined for an unknown, used or expired ticket. */
  redeem(ticket: string | null): DownloadTicket | undefined {
    if (!ticket) return undefined;
    const t = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    return t && t.expiresAt > this.now() ? t : undefined;
  }

  private purge(): void {
    const now = this.now();
    for (const [k, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(k);
  }
}
