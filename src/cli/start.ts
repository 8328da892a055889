/**
 * `switchyard start`: load the config (or the built-in example), serve, reload, shut down cleanly.
 * With `--workers N` / `server.workers` > 1 this process becomes the cluster's primary
 * (src/cluster/primary.ts) and each worker it forks runs this same command as one gateway.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseWorkersFlag, resolveWorkerCount } from '../cluster/count.ts';
import { runPrimary } from '../cluster/primary.ts';
import { connectWorker, workerSlot, type WorkerEndpoint } from '../cluster/worker.ts';
import { loadConfigFileChecked } from '../config/check.ts';
import { builtinExampleConfig, configFromEnvironment, ConfigError, loadConfigFile, watchConfigFile, type Config } from '../config/index.ts';
import { startMockProvider, type MockProvider } from '../mock/server.ts';
import { createLogger } from '../observability/logger.ts';
import { startGateway } from '../server/gateway.ts';

const DEFAULT_CONFIG_FILES = ['switchyard.yaml', 'switchyard.yml'];
/** The primary never calls a provider: in the built-in example each worker starts its own in-process mock. */
const PRIMARY_EXAMPLE_MOCK_URL = 'http://127.0.0.1:9';
/** After the shutdown deadline, how long the interrupted requests get to be logged and written to the ledger. */
const FINAL_GRACE_MS = 5_000;

export async function runStart(argv: string[]): Promise<number> {
  const slot = workerSlot();
  if (slot === undefined) return start(argv, undefined);
  // A worker must end itself when it cannot serve: the cluster's IPC channel would keep it alive.
  let code: number;
  try {
    code = await start(argv, slot);
  } catch (err) {
    process.stderr.write(`switchyard worker ${slot}: ${err instanceof Error ? err.message : String(err)}\n`);
    code = 1;
  }
  if (code !== 0) process.exit(code);
  return 0;
}

function parseStartArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      workers: { type: 'string', short: 'w' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      'allow-open': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const START_USAGE = `Usage: switchyard start [options]

  -c, --config FILE         configuration file (default: $SWITCHYARD_CONFIG, ./switchyard.yaml or ./switchyard.yml;
                            none: provider keys from the environment, else a built-in example on an in-process mock)
      --host H, -p --port N where to listen (override server.host / server.port)
  -w, --workers N|auto      gateway processes sharing the port (auto: one per CPU)
      --log-format json|pretty
      --log-level LEVEL     ${LOG_LEVELS.join(', ')}
      --allow-open          serve without authentication even off loopback
  -h, --help
`;

async function start(argv: string[], slot: number | undefined): Promise<number> {
  let parsed;
  try {
    parsed = parseStartArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${START_USAGE}`);
    return 2;
  }
  const { values } = parsed;
  if (values.help === true) {
    process.stdout.write(START_USAGE);
    return 0;
  }
  const level = values['log-level'];
  if (level !== undefined && !LOG_LEVELS.includes(level)) {
    process.stderr.write(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'\n`);
    return 2;
  }
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
  const workersFlag = values.workers === undefined ? undefined : parseWorkersFlag(values.workers);
  if (typeof workersFlag === 'object') {
    process.stderr.write(`${workersFlag.error}\n`);
    return 2;
  }

  const configFile = values.config ?? (process.env.SWITCHYARD_CONFIG || DEFAULT_CONFIG_FILES.find((f) => existsSync(f)));
  let config: Config;
  let mock: MockProvider | undefined;
  try {
    const fromEnv = configFile === undefined ? configFromEnvironment(process.env) : undefined;
    if (configFile !== undefined) {
      config = await loadConfigFileChecked(resolve(configFile));
    } else if (fromEnv !== undefined) {
      config = fromEnv;
    } else if (slot === undefined && workersFlag !== undefined && resolveWorkerCount(workersFlag) > 1) {
      config = builtinExampleConfig(PRIMARY_EXAMPLE_MOCK_URL);
    } else {
      // Claude Code runs the tools it is told to: the example's mock calls one only when asked.
      mock = await startMockProvider({ host: '127.0.0.1', port: 0, toolCalls: 'on-request' });
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
  const workers = slot === undefined ? resolveWorkerCount(workersFlag ?? config.server.workers) : undefined;
  const logger = createLogger({
    level: values['log-level'] ?? config.logging.level,
    format: format ?? config.logging.format,
    levels: config.logging.levels,
    // In a cluster every line says which process wrote it: 0 the primary, 1…N a worker.
    ...(slot !== undefined ? { worker: slot } : workers !== undefined && workers > 1 ? { worker: 0 } : {}),
  });
  if (workers !== undefined && workers > 1) {
    return runPrimary({ workers, config, configFile: configFile === undefined ? undefined : resolve(configFile), logger });
  }
  // The notes about where requests go are said once per cluster, by its first worker.
  const announce = slot === undefined || slot === 1;
  if (mock !== undefined && announce) {
    logger.warn(
      { mockProvider: mock.url },
      'No configuration file given: serving the built-in example, routed to an in-process mock provider. ' +
        'Pass --config FILE (see examples/) to route to real providers.',
    );
  }
  if (configFile === undefined && mock === undefined && announce) {
    logger.info(
      { providers: config.providers.map((p) => p.name), defaultRoute: config.routes.default },
      'No configuration file given: routing to the providers whose keys are set in the environment, with the model names clients ask for.',
    );
  }
  const link: WorkerEndpoint | undefined = slot === undefined ? undefined : connectWorker(slot);
  const loadFile = configFile === undefined ? undefined : () => loadConfigFile(resolve(configFile));
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({
      config,
      logger,
      host: values.host,
      port,
      ...(link === undefined ? {} : { cluster: link }),
      ...(loadFile === undefined
        ? {}
        : {
            loadConfig: async () => {
              const next = await loadFile();
              // An admin API reload reaches one worker: the file is valid, so the others load it too.
              link?.reloadOthers();
              return next;
            },
          }),
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
  const reloadFromFile = (why: string): void => {
    loadFile?.().then(reload, (err: unknown) => {
      logger.error({ problems: err instanceof ConfigError ? err.problems : String(err) }, `reload on ${why} failed; the previous configuration keeps serving`);
    });
  };
  // A worker's file is watched by the primary, which tells every worker at once (src/cluster/primary.ts).
  const watcher =
    configFile === undefined || link !== undefined
      ? undefined
      : watchConfigFile(resolve(configFile), (result) => {
          if ('error' in result) {
            logger.error({ problems: result.error.problems }, 'the edited configuration is invalid; the previous one keeps serving');
          } else {
            void reload(result.config);
          }
        });
  process.on('SIGHUP', () => reloadFromFile('SIGHUP'));
  link?.onReload(() => reloadFromFile('the primary'));

  let stopping = false;
  const finished = (code: number): void => {
    process.exitCode = code;
    // A worker's IPC channel would keep it alive: it ends itself once its lines are out.
    if (link !== undefined) logger.flush(() => process.exit(code));
  };
  const shutdown = (signal: string): void => {
    if (stopping) {
      // The primary's request is idempotent (a group-wide signal may already have started the drain).
      if (signal === 'primary') return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, waiting for requests in flight');
    let overdue = false;
    const deadline = setTimeout(() => {
      overdue = true;
      // Still open at the deadline: each ends with its protocol's error (a stream with an
      // error event, not a reset mid-event), then the process goes.
      // Their handlers then finish as usual: each gets its log line and usage event, and
      // the close below writes the ledger. Only a close stuck past the last grace is cut.
      void gateway.interruptOpenRequests('The gateway is shutting down.').then((open) => {
        logger.warn({ open }, 'shutdown deadline passed: the requests still open were ended with an error');
        setTimeout(() => {
          logger.error('shutdown: still not closed after the last grace; exiting without waiting further');
          logger.flush();
          process.exit(1);
        }, FINAL_GRACE_MS).unref();
      });
    }, config.server.shutdownTimeoutMs);
    deadline.unref();
    watcher?.close();
    Promise.all([gateway.close(), mock?.close()]).then(
      () => {
        logger.info('stopped');
        logger.flush();
        finished(overdue ? 1 : 0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        finished(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  link?.onShutdown(() => shutdown('primary'));
  // Logged last: once a supervisor reads this line, every signal handler is in place.
  const source = configFile ?? (mock === undefined ? '(provider keys from the environment)' : '(built-in example)');
  if (link === undefined) {
    // The dashboard's address too, so a newcomer finds it without reading on.
    const dashboard = gateway.extensions.some((e) => e.name === 'ui') ? `${gateway.url}/ui` : undefined;
    // The dashboard asks for an admin key; with none configured, say how to get in.
    const dashboardNote = dashboard === undefined ? '' : config.admin.apiKeys.length > 0 ? ` (dashboard: ${dashboard})` : ` (dashboard: ${dashboard}, with an admin key: set SWITCHYARD_ADMIN_KEY)`;
    logger.info({ url: gateway.url, config: source, dashboard }, `Switchyard listening on ${gateway.url}${dashboardNote}`);
  } else {
    logger.info({ url: gateway.url, config: source, pid: process.pid }, `worker ${link.workerId} serving on ${gateway.url}`);
    link.listening(gateway.url);
  }
  return 0;
}
