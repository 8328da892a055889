/**
 * Configuration: a YAML file with `${ENV}` interpolation, validated once at
 * start with every problem reported together, defaults filled in, then deeply
 * frozen (CONVENTIONS.md, "Errors and configuration").
 *
 * @example
 * const config = await loadConfigFile('switchyard.yaml');
 * config.routes.default; // 'mock-model'
 */
export { ConfigError } from './problems.ts';
export type { ConfigProblem } from './problems.ts';
export type {
  Config,
  DeploymentConfig,
  LoggingConfig,
  ModelConfig,
  ProviderConfig,
  QuirksConfig,
  RouteName,
  RoutesConfig,
  ServerConfig,
} from './schema.ts';
export { providerPresetNames, routeNames } from './schema.ts';
export { watchConfigFile } from './watch.ts';
export { builtinExampleConfig, configFromEnvironment, configFromObject, loadConfigFile, parseConfig, REQUESTED_MODEL } from './load.ts';
export type { ParseOptions } from './load.ts';
export type { Env } from './env.ts';
export type { ConfigWatcher, WatchOptions, WatchResult } from './watch.ts';

