// One browser tab's WebSocket, already authenticated: frames in, replies and events out, in the
// contract's one framing. Every frame comes from outside, so each is read defensively: one that is
// not JSON, not a frame, names no API method or carries bad params gets an error reply, and nothing
// a tab sends (a frame over the size limit, invalid UTF-8, a handler that throws) can end the
// process or another tab's session.

import type { RawData, WebSocket } from 'ws';
import type { ServerFrame } from '../../common/contract';
import { answerFrame, refusal, wireError } from '../../common/contract';
import type { AppHost } from '../../host/appHost';

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
  const conn = host.connect((event) => send({ kind: 'event', event }));

  const onMessage = (raw: RawData, isBinary: boolean) => {
    if (isBinary) return send(refusal(null, 'binary frame: expected a JSON text frame'));
    let value: unknown;
    try {
      value = JSON.parse(String(raw));
    } catch {
      return send(refusal(null, 'frame is not JSON (expected {"kind":"req",...} or {"kind":"ack",...})'));
    }
    void answerFrame(value, conn).then((reply) => reply && send(reply));
  };

  ws.on('message', (raw, isBinary) => {
    try {
      onMessage(raw, isBinary);
    } catch (err) {
      send(refusal(null, wireError(err).message));
    }
  });
  // ws reports a frame over maxPayload or with invalid UTF-8 here, after it has begun closing this
  // socket (1009, 1007). Without a listener the error would be thrown and take the whole host down.
  ws.on('error', (err) => {
    console.error(`prs serve: a client connection failed and was closed: ${err.message}`);
  });
  ws.on('close', () => conn.close());
}
