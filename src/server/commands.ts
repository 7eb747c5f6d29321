// The commands beyond run/resume/validate, loaded on demand so `prs run` starts fast.

import { UsageError } from './usageError';
import { startServer } from './web/server';

export type Command = (args: string[]) => Promise<number>;

export const commands: Record<string, Command> = {
  async agent(args) {
    const { agentCommand } = await import('./clusterCommands');
    return agentCommand(args);
  },
  async cluster(args) {
    const { clusterCommand } = await import('./clusterCommands');
    return clusterCommand(args);
  },
  async export(args) {
    const { exportCommand } = await import('./exportCommand');
    return exportCommand(args);
  },
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
    if (args.length > 0) throw new UsageError('prs devices takes no arguments');
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
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'runs-dir': { type: 'string' },
        'examples-dir': { type: 'string' },
        'allow-remote': { type: 'boolean' },
      },
      strict: true,
    });
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
      throw new UsageError(`--port: "${values.port}" is not a port number (expected 0-65535)`);
    }
    const server = await startServer({
      port,
      host: values.host,
      runsDir: values['runs-dir'],
      examplesDir: values['examples-dir'],
      // Anyone who can reach the port and learns the token can run code: loopback unless asked.
      allowNonLoopback: values['allow-remote'],
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
