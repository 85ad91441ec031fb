import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`igql: ${error.message}`);
  process.exit(1);
}

/** How long SIGTERM may take: the drain (10 s) and closing Redis; then exit 1. */
const SHUTDOWN_DEADLINE_MS = 15_000;

/** A simulator apart (SANDBOX_SIMULATOR_URL) that igql cannot use: say why, and exit 1. */
function exitOnSimulatorLink(error: unknown): never {
  if ((error as Error | undefined)?.name !== 'SimulatorLinkError') throw error;
  console.error(`igql: ${(error as Error).message}`);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
// Sandbox mode: the simulated Instagram first (in this process, or apart at
// SANDBOX_SIMULATOR_URL), then igql against it. Only sandbox mode loads the simulator: nothing on
// the production path imports it.
const sandbox = config.sandbox
  ? await (await import('./sandbox/index.ts'))
      .startSandbox({ config, logger })
      .catch(exitOnSimulatorLink)
  : undefined;
const app = createApp({ config, logger, sandbox });
let url: string;
try {
  url = await app.start();
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  // A simulator apart that fails igql's callback registration: say why; anything else throws.
  if (code !== 'EADDRINUSE' && code !== 'EACCES') exitOnSimulatorLink(error);
  console.error(
    code === 'EADDRINUSE'
      ? `igql: PORT ${config.port} is already in use on ${config.host}: stop what listens there or set PORT to a free port`
      : `igql: PORT ${config.port} cannot be bound on ${config.host} (permission denied): set PORT to 1024 or above`,
  );
  await app.stop();
  await sandbox?.stop();
  process.exit(1);
}
// Before the ready line: whoever reads it may signal at once.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    app.logger.info({ signal }, 'shutting down');
    // Whatever stdout does (logging drops lines it cannot write), igql is gone by then.
    const deadline = setTimeout(() => {
      app.logger.error('shutdown took too long');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    await app.stop();
    await sandbox?.stop();
    app.logger.info('stopped');
    process.exit(0);
  });
}
app.logger.info({ url, sandbox: config.sandbox }, 'igql listening');
console.log(`igql is ready: GraphiQL at ${url}`);
if (config.sandbox) console.log(`example inbox at ${new URL('/sandbox/inbox', url)}`);
