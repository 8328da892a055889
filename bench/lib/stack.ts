/**
 * Starts the three processes the bench measures against, each in its own
 * process on 127.0.0.1: the mock provider, the floor proxy and the gateway.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitReady, type Child, type ChildSet, type Pinning } from './processes.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface StackOptions {
  tmpDir: string;
  pinning: Pinning;
  outputTokens: number;
  gatewayLogLevel: string;
  gatewayMetrics: boolean;
  /** Default on: the usage ledger and the dashboard, as configured by default. */
  gatewayLedger?: boolean;
  gatewayDashboard?: boolean;
  pipeline: 'full' | 'open';
  /** When profiling: the gateway and the floor write their .cpuprofile into `<dir>/gateway` and `<dir>/floor`. */
  profileDir: string | undefined;
}

export interface BenchStack {
  mockUrl: string;
  floorUrl: string;
  gatewayUrl: string;
  mock: Child;
  floor: Child;
  gateway: Child;
  /** The key Switchyard authenticates (pipeline full); undefined when it runs open. */
  gatewayKey: string | undefined;
  /** The gateway's generated config (bench/workers.ts starts a second gateway on it). */
  configFile: string;
}

// Full pipeline: limits and budgets far above what a run spends, so every request pays for the checks and none is refused.
const fullPipelineYaml = `limits:
  keys: { requestsPerMinute: 100000000, inputTokensPerMinute: 100000000000, outputTokensPerMinute: 100000000000, concurrency: 100000 }
  tenants: { requestsPerMinute: 100000000, budgetDayUsd: 1000000, budgetMonthUsd: 10000000 }
pricing:
  models:
    "upstream-*": { input: 3, output: 15 }
`;

export function gatewayYaml(
  mockUrl: string,
  port: number,
  logLevel: string,
  storeUrl = 'sqlite::memory:',
  metrics = true,
  pipeline: 'full' | 'open' = 'open',
  parts: { ledger?: boolean; dashboard?: boolean } = {},
): string {
  return `# Written by bench/run.ts for one bench run.
server: { host: 127.0.0.1, port: ${port} }
providers:
  - { name: oai, protocol: openai, baseUrl: "${mockUrl}/v1" }
  - { name: ant, protocol: anthropic, baseUrl: "${mockUrl}" }
models:
  - { name: gpt-mock, deployments: [ { provider: oai, model: upstream-gpt } ] }
  - { name: claude-mock, deployments: [ { provider: ant, model: upstream-claude } ] }
routes: { default: claude-mock }
logging: { level: ${logLevel} }
# The usage ledger writes here (a file in the run's temporary directory), as it would in production.
store: { url: "${storeUrl}" }
metrics: { enabled: ${metrics} }
${pipeline === 'full' ? fullPipelineYaml : ''}${parts.ledger === false ? 'usage: { enabled: false }\n' : ''}${parts.dashboard === false ? 'ui: { enabled: false }\n' : ''}`;
}

function profileFlags(dir: string | undefined, name: string): string[] {
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`];
}

export async function startBenchStack(children: ChildSet, options: StackOptions): Promise<BenchStack> {
  const { tmpDir, pinning } = options;
  const cli = join(repoRoot, 'src/cli/main.ts');
  const [mockPort, floorPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];

  const mock = children.start({
    name: 'mock provider',
    args: [cli, 'mock-provider', '--host', '127.0.0.1', '--port', String(mockPort), '--tokens', String(options.outputTokens)],
    cpu: pinning.loadCpu,
    logFile: join(tmpDir, 'mock.log'),
    cwd: repoRoot,
  });
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  await waitReady(`${mockUrl}/health`, mock, (s) => s === 200);

  const floor = children.start({
    name: 'floor proxy',
    args: [join(repoRoot, 'bench/floor-proxy.ts'), '--upstream', mockUrl, '--port', String(floorPort)],
    nodeFlags: profileFlags(options.profileDir, 'floor'),
    cpu: pinning.proxyCpu,
    logFile: join(tmpDir, 'floor.log'),
    cwd: repoRoot,
  });
  const floorUrl = `http://127.0.0.1:${floorPort}`;
  await waitReady(`${floorUrl}/health`, floor, (s) => s === 200);

  const configFile = join(tmpDir, 'switchyard.yaml');
  writeFileSync(configFile, gatewayYaml(mockUrl, gatewayPort, options.gatewayLogLevel, `sqlite:${join(tmpDir, 'switchyard.db')}`, options.gatewayMetrics, options.pipeline, {
      ledger: options.gatewayLedger,
      dashboard: options.gatewayDashboard,
    }));
  const gatewayKey = options.pipeline === 'full' ? createKey(cli, configFile) : undefined;
  const gateway = children.start({
    name: 'gateway',
    args: [cli, 'start', '--config', configFile, '--port', String(gatewayPort), '--log-format', 'json'],
    nodeFlags: profileFlags(options.profileDir, 'gateway'),
    cpu: pinning.proxyCpu,
    logFile: join(tmpDir, 'gateway.log'),
    cwd: repoRoot,
  });
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  // /ready turns 200 once the upstream pools are warm.
  await waitReady(`${gatewayUrl}/ready`, gateway, (s) => s === 200);

  return { mockUrl, floorUrl, gatewayUrl, mock, floor, gateway, gatewayKey, configFile };
}

/** A tenant and a key in the gateway's store, made with the CLI as an operator would; a key existing turns auth on. */
export function createKey(cli: string, configFile: string): string {
  const run = (args: string[]): string => execFileSync(process.execPath, [cli, ...args, '--config', configFile], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run(['tenants', 'create', 'bench']);
  const lines = run(['keys', 'create', '--tenant', 'bench', '--name', 'bench-load']).trim().split('\n');
  const key = lines.at(-1)?.trim() ?? '';
  if (!key.startsWith('swy_')) throw new Error(`switchyard keys create did not print a key: ${lines.join(' / ')}`);
  return key;
}
