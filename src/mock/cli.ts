/**
 * `switchyard mock-provider`: runs the mock provider until SIGINT or SIGTERM.
 * Also runnable directly: `node src/mock/cli.ts --port 8080`.
 */
import { parseArgs } from 'node:util';
import type { MockOptions } from './options.ts';
import { startMockProvider } from './server.ts';

const usage = `Usage: switchyard mock-provider [options]

  --host H          listen address (default 127.0.0.1)
  --port N          listen port (default 0: any free port)
  --latency MS      delay before response headers
  --ttft MS         extra delay before the first content chunk
  --tps N           output tokens per second (default: as fast as possible)
  --tokens N        words per text reply (default 12)
  --chunks N        content chunks per stream (default: one per word)
  --fault SPEC      default fault, e.g. status:503, 429:2, reset, error-mid-stream, fail-first:2:status:503
  --api-key KEY     require this key (x-api-key or Authorization: Bearer)
  --fixtures DIR    where fixture:<name> looks for <protocol>/<name>.sse
  --log             one line per request on stderr
  --tool-calls MODE first (default): call a request's first tool unasked; on-request: answer with
                    text unless a tool is asked for (x-mock-tool, a forced tool_choice, "run: CMD")
`;

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new Error(`--${flag} needs a number, got '${value}'`);
  return parsed;
}

/** Parses the flags into mock options; throws with a readable message on a bad flag. */
export function parseMockProviderArgs(argv: string[]): MockOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      latency: { type: 'string' },
      ttft: { type: 'string' },
      tps: { type: 'string' },
      tokens: { type: 'string' },
      chunks: { type: 'string' },
      fault: { type: 'string' },
      'api-key': { type: 'string' },
      fixtures: { type: 'string' },
      log: { type: 'boolean' },
      'tool-calls': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const options: MockOptions = { host: values.host ?? '127.0.0.1', port: number('port', values.port) ?? 0 };
  const set = <K extends keyof MockOptions>(key: K, value: MockOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('latencyMs', number('latency', values.latency));
  set('ttftMs', number('ttft', values.ttft));
  set('tokensPerSecond', number('tps', values.tps));
  set('outputTokens', number('tokens', values.tokens));
  set('chunkCount', number('chunks', values.chunks));
  set('fault', values.fault);
  set('requireApiKey', values['api-key']);
  set('fixturesDir', values.fixtures);
  const toolCalls = values['tool-calls'];
  if (toolCalls !== undefined && toolCalls !== 'first' && toolCalls !== 'on-request') throw new Error(`--tool-calls must be first or on-request, got '${toolCalls}'`);
  set('toolCalls', toolCalls);
  if (values.log === true) options.logger = (line) => process.stderr.write(`${line}\n`);
  return options;
}

/** Starts the mock, prints its URL, and resolves once it has closed after SIGINT or SIGTERM. */
export async function runMockProviderCli(argv: string[]): Promise<void> {
  const options = parseMockProviderArgs(argv);
  if (options === 'help') {
    process.stdout.write(usage);
    return;
  }
  const mock = await startMockProvider(options);
  process.stdout.write(
    `mock provider listening on ${mock.url}\n` +
      `  OpenAI base URL:    ${mock.url}/v1\n` +
      `  Anthropic base URL: ${mock.url}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await mock.close();
}

if (import.meta.main) {
  runMockProviderCli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`mock-provider: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
