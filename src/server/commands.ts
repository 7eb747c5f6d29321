// The commands beyond run/resume/validate, loaded on demand so `prs run` starts fast.

import { startServer } from './web/server';

export type Command = (args: string[]) => Promise<number>;

export const commands: Record<string, Command> = {
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
