// One browser tab's WebSocket, already authenticated: frames in, replies and events out. Every
// frame comes from outside, so each is read defensively: one that is not JSON, not a frame, names no
// API method or carries bad params gets an error reply, and nothing a tab sends (a frame over the
// size limit, invalid UTF-8, a handler that throws) can end the process or another tab's session.

import type { RawData, WebSocket } from 'ws';
import type { ServerFrame, WireError } from '../../common/api';
import { BadRequest, CLIENT_FRAME, describeIssues } from '../../common/apiParams';
import type { AppHost } from '../../host/appHost';

export function wireError(err: unknown): WireError {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: 'Error', message: String(err) };
}

/** The id of a frame that failed to parse, when it has a usable one, so the client can match the reply. */
function idOf(value: unknown): number | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : null;
}

export function serveSocket(ws: WebSocket, host: AppHost): void {
  const send = (frame: ServerFrame) => {
    if (ws.readyState !== ws.OPEN) return;
    try {
      ws.send(JSON.stringify(frame));
    } catch (err) {
      // A result that cannot be serialised is the host's bug; the tab still gets an answer.
      if (frame.kind === 'res')
        ws.send(JSON.stringify({ kind: 'res', id: frame.id, ok: false, error: wireError(err) }));
    }
  };
  const refuse = (id: number | null, message: string) =>
    send({ kind: 'res', id, ok: false, error: wireError(new BadRequest(message)) });
  const conn = host.connect((event) => send({ kind: 'event', event }));

  const onMessage = (raw: RawData, isBinary: boolean) => {
    if (isBinary) return refuse(null, 'binary frame: expected a JSON text frame');
    let value: unknown;
    try {
      value = JSON.parse(String(raw));
    } catch {
      return refuse(null, 'frame is not JSON (expected {"kind":"req",...} or {"kind":"ack",...})');
    }
    const parsed = CLIENT_FRAME.safeParse(value);
    if (!parsed.success) return refuse(idOf(value), describeIssues('bad frame', parsed.error, 'the frame'));
    const frame = parsed.data;
    if (frame.kind === 'ack') {
      conn.ack(frame.ack);
      return;
    }
    conn
      .call(frame.method, frame.params)
      .then((result) => send({ kind: 'res', id: frame.id, ok: true, result }))
      .catch((err: unknown) => send({ kind: 'res', id: frame.id, ok: false, error: wireError(err) }));
  };

  ws.on('message', (raw, isBinary) => {
    try {
      onMessage(raw, isBinary);
    } catch (err) {
      refuse(null, wireError(err).message);
    }
  });
  // ws reports a frame over maxPayload or with invalid UTF-8 here, after it has begun closing this
  // socket (1009, 1007). Without a listener the error would be thrown and take the whole host down.
  ws.on('error', (err) => {
    console.error(`prs serve: a client connection failed and was closed: ${err.message}`);
  });
  ws.on('close', () => conn.close());
}
