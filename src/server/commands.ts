// The commands beyond run/resume/validate, loaded on demand so `prs run` starts fast.

import { startServer } from './web/server';

export type Command = (args: string[]) => Promise<number>;

export const commands: Record<string, Command> = {
  async history(args) {
    const { parseArgs } = await import('node:util');
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true });
    const { History, formatHistory, formatHistoryJson } = await import('../engine/history');
    const history = History.open();
    try {
      const entries = history.list();
      process.stdout.write((values.json ? formatHistoryJson(entries) : formatHistory(entries)) + '\n');
    } finally {
      history.close();
    }
    return 0;
  },
  async devices(args) {
    if (args.length > 0) throw new Error('prs devices takes no arguments');
    const { detectDevices, formatDevices, resolveProcessCount, schedulerGpus } =
      await import('../engine/devices');
    const devices = await detectDevices();
    const { gpus } = schedulerGpus(devices, 'auto');
    process.stdout.write(formatDevices(devices, gpus, resolveProcessCount('auto', devices, gpus)) + '\n');
    return 0;
  },
  async serve(args) {
    const { parseArgs } = await import('node:util');
    const { values } = parseArgs({
      args,
      options: { port: { type: 'string' }, host: { type: 'string' } },
      strict: true,
    });
    const server = await startServer({
      port: values.port ? Number(values.port) : undefined,
      host: values.host,
    });
    process.stdout.write(`Parallel Run Studio is at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
