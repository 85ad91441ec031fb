/**
 * `npm run simulator`: the simulated Instagram alone, with the sandbox's demo data, on 127.0.0.1
 * at SIMULATOR_PORT (default 4100, 0 for a free port). Sandbox-mode igql started with
 * `SANDBOX_SIMULATOR_URL=<the printed base URL>` uses it instead of starting its own; it reaches
 * the control surface (control.ts) signed with the app secret, so both need the same
 * INSTAGRAM_APP_SECRET (or neither sets it). SANDBOX_LATENCY_MS and SANDBOX_RATE_LIMITS apply here.
 */
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { controlRoutes } from './control.ts';
import { demoSimulator, localLink } from './link.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`simulator: ${error.message}`);
  process.exit(1);
}
if (!config.sandbox) {
  console.error('simulator: INSTAGRAM_APP_ID is set: the simulator serves sandbox mode only');
  process.exit(1);
}

const logger = createLogger(config.logLevel);
/** The app's one webhook callback URL: the igql that registered last (as on Meta). */
let callback: string | undefined;
const { simulator, demo } = demoSimulator(config, () => callback);
simulator.serve(
  controlRoutes(
    localLink(
      simulator,
      () => demo,
      (url) => {
        if (url !== callback) logger.info({ callbackUrl: url }, 'simulator: webhooks go there now');
        callback = url;
      },
    ),
    config.instagram.appSecret,
  ),
);
let url: string;
try {
  url = await simulator.start(config.simulator.port);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
  console.error(
    `simulator: SIMULATOR_PORT ${config.simulator.port} cannot be bound on 127.0.0.1 (${code}): set SIMULATOR_PORT to a free port, or 0`,
  );
  process.exit(1);
}
// Before the ready line: whoever reads it may signal at once.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, 'simulator: shutting down');
    await simulator.stop();
    process.exit(0);
  });
}
console.log(`simulator listening on ${url}`);
