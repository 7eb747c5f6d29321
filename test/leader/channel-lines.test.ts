// Lines from other processes that are not messages are named, never thrown: the Python driver's
// control channel (read inside the leader for inline Python workers) and the worker line parser
// (ForkLauncher's pipe and result socket), over a real Unix socket where there is one.

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseWorkerLine } from '../../src/engine/workerLine';
import { DriverChannel } from '../../src/worker/python/channel';

describe("the Python driver's control channel", () => {
  it('reports a line that is not JSON by name and goes on reading the next ones', async () => {
    const messages: unknown[] = [];
    const bad: string[] = [];
    let done!: () => void;
    const twoMessages = new Promise<void>((resolve) => (done = resolve));
    const channel = new DriverChannel({
      onMessage: (m) => {
        messages.push(m);
        if (messages.length === 2) done();
      },
      onStderr: () => undefined,
      onBadLine: (detail) => bad.push(detail),
    });
    await channel.listen();
    const socket = net.connect(channel.path);
    socket.write('C{"t":"ready"}\nnot json\n{"t":"done"}\n');
    await twoMessages;
    socket.destroy();
    channel.close();
    expect(messages).toEqual([{ t: 'ready' }, { t: 'done' }]);
    expect(bad).toEqual(['a control line that is not JSON ("not json")']);
  });
});

describe('a line from a worker process', () => {
  it('is a message, or says what is wrong with it', () => {
    expect(parseWorkerLine('{"t":"ready","pid":1,"initMs":2}')).toEqual({ t: 'ready', pid: 1, initMs: 2 });
    expect(parseWorkerLine('Traceback (most recent call last):')).toBe(
      'a line that is not JSON ("Traceback (most recent call last):"); expected one JSON message per line',
    );
    expect(parseWorkerLine('{"t":"hello"}')).toBe(
      'a line that is not a worker message ("{\\"t\\":\\"hello\\"}"); expected an object whose "t" is ready, init-failed or results',
    );
    expect(parseWorkerLine('{"t":"results"}')).toBe(
      'a results message without a list of results ("{\\"t\\":\\"results\\"}")',
    );
    expect(parseWorkerLine('x'.repeat(500))).toContain('…');
  });
});
