/** `switchyard start`: load the config (or the built-in example), serve, reload, shut down cleanly. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinExampleConfig, configFromEnvironment, ConfigError, loadConfigFile, watchConfigFile, type Config } from '../config/index.ts';
import { startMockProvider, type MockProvider } from '../mock/server.ts';
import { createLogger } from '../observability/logger.ts';
import { startGateway } from '../server/gateway.ts';

const DEFAULT_CONFIG_FILES = ['switchyard.yaml', 'switchyard.yml'];

export async function runStart(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      'allow-open': { type: 'boolean' },
    },
    strict: true,
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    process.stderr.write(`--port must be an integer between 0 and 65535, got '${values.port}'\n`);
    return 2;
  }
  const format = values['log-format'] ?? (process.stdout.isTTY ? 'pretty' : undefined);
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    process.stderr.write(`--log-format must be json or pretty, got '${format}'\n`);
    return 2;
  }

  const configFile = values.config ?? (process.env.SWITCHYARD_CONFIG || DEFAULT_CONFIG_FILES.find((f) => existsSync(f)));
  let config: Config;
  let mock: MockProvider | undefined;
  try {
    const fromEnv = configFile === undefined ? configFromEnvironment(process.env) : undefined;
    if (configFile !== undefined) {
      config = await loadConfigFile(resolve(configFile));
    } else if (fromEnv !== undefined) {
      config = fromEnv;
    } else {
      mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
      config = builtinExampleConfig(mock.url);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }

  // Serving without authentication off loopback is only ever on an explicit word.
  if (values['allow-open'] === true) config = Object.freeze({ ...config, auth: Object.freeze({ ...config.auth, allowOpen: true }) });
  const logger = createLogger({
    level: values['log-level'] ?? config.logging.level,
    format: format ?? config.logging.format,
    levels: config.logging.levels,
  });
  if (mock !== undefined) {
    logger.warn(
      { mockProvider: mock.url },
      'No configuration file given: serving the built-in example, routed to an in-process mock provider. ' +
        'Pass --config FILE (see examples/) to route to real providers.',
    );
  }
  if (configFile === undefined && mock === undefined) {
    logger.info(
      { providers: config.providers.map((p) => p.name), defaultRoute: config.routes.default },
      'No configuration file given: routing to the providers whose keys are set in the environment, with the model names clients ask for.',
    );
  }
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({
      config,
      logger,
      host: values.host,
      port,
      ...(configFile === undefined ? {} : { loadConfig: () => loadConfigFile(resolve(configFile)) }),
    });
  } catch (err) {
    // Nothing may keep the process alive after a failed start (the in-process mock would).
    await mock?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      process.stderr.write(`switchyard: cannot listen on ${values.host ?? config.server.host}:${port ?? config.server.port} (${code}); pick another with --port N\n`);
      return 1;
    }
    throw err;
  }

  const reload = async (next: Config): Promise<void> => {
    try {
      await gateway.reload(next);
    } catch (err) {
      logger.error({ err }, 'the new configuration could not be applied; the previous one keeps serving');
    }
  };
  const watcher =
    configFile === undefined
      ? undefined
      : watchConfigFile(resolve(configFile), (result) => {
          if ('error' in result) {
            logger.error({ problems: result.error.problems }, 'the edited configuration is invalid; the previous one keeps serving');
          } else {
            void reload(result.config);
          }
        });
  process.on('SIGHUP', () => {
    if (configFile === undefined) return;
    loadConfigFile(resolve(configFile)).then(reload, (err: unknown) => {
      logger.error({ problems: err instanceof ConfigError ? err.problems : String(err) }, 'reload on SIGHUP failed; the previous configuration keeps serving');
    });
  });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, waiting for requests in flight');
    const deadline = setTimeout(() => {
      logger.warn('shutdown deadline passed: exiting with requests still open');
      process.exit(1);
    }, config.server.shutdownTimeoutMs);
    deadline.unref();
    watcher?.close();
    Promise.all([gateway.close(), mock?.close()]).then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exitCode = 0;
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Logged last: once a supervisor reads this line, every signal handler is in place.
  logger.info({ url: gateway.url, config: configFile ?? (mock === undefined ? '(provider keys from the environment)' : '(built-in example)') }, `Switchyard listening on ${gateway.url}`);
  return 0;
}
