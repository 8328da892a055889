#!/usr/bin/env node
/**
 * The `switchyard` command. Subcommands: start, mock-provider, config check, code, usage.
 */
import { runConfigCheck } from '../config/check.ts';
import { runMockProviderCli } from '../mock/cli.ts';
import { runCode } from './code.ts';
import { runStart } from './start.ts';
import { runTenancyCli } from './tenancy.ts';
import { runUsage } from './usage.ts';

const usage = `Usage: switchyard <command> [options]

Commands:
  start [--config FILE] [--host H] [--port N] [--workers N|auto] [--log-format json|pretty] [--log-level L] [--allow-open]
                          run the gateway (no config: a built-in example on an in-process mock provider);
                          --workers N runs N gateway processes on the one port (auto: one per CPU)
  mock-provider [--port N] [--latency MS] [--ttft MS] [--tps N] [--tokens N] [--chunks N] [--fault SPEC]
                          run the OpenAI- and Anthropic-compatible mock provider
  config check FILE       validate a configuration file without starting
  code [args…]            run Claude Code against the gateway (ANTHROPIC_BASE_URL is set for it)
  migrate [--config FILE] bring the store (SQLite file or PostgreSQL) to the current schema
  tenants create NAME | list            manage tenants (each takes --config FILE)
  keys create --tenant NAME [options] | list [--tenant NAME] | revoke ID | rotate ID
                          manage API keys; \`keys create --help\` lists the options
  usage [--tenant NAME] [--key ID] [--by day|hour|model|key|deployment|tenant] [--from T] [--to T] [--json] [--config FILE]
                          usage and cost from the ledger; \`usage prune [--days N]\` applies retention now
`;

/**
 * npm runs a package's scripts in the package's directory; `npm run switchyard -- …`
 * (and `npm start`, `npm run mock`) should act where the user typed them, as the
 * installed command does: relative --config paths, ./switchyard.yaml, ./data, and the
 * directory Claude Code works in. npm says where that was in INIT_CWD.
 */
function actWhereInvoked(): void {
  const invokedFrom = process.env.INIT_CWD;
  const script = process.env.npm_lifecycle_event;
  if (invokedFrom === undefined || (script !== 'start' && script !== 'switchyard' && script !== 'mock')) return;
  if (process.cwd() !== invokedFrom) process.chdir(invokedFrom);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return runStart(rest);
    case 'mock-provider':
      await runMockProviderCli(rest);
      return 0;
    case 'config':
      if (rest[0] === 'check') return runConfigCheck(rest.slice(1));
      process.stderr.write(`Unknown config subcommand '${rest[0] ?? ''}'. Try: switchyard config check FILE\n`);
      return 2;
    case 'code':
      return runCode(rest);
    case 'migrate':
    case 'tenants':
    case 'keys':
      return runTenancyCli(command, rest);
    case 'usage':
      return runUsage(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command '${command}'.\n\n${usage}`);
      return 2;
  }
}

actWhereInvoked();
main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
