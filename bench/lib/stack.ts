/**
 * Starts the three processes the bench measures against, each in its own
 * process on 127.0.0.1: the mock provider, the floor proxy and the gateway.
 */
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
}

export function gatewayYaml(mockUrl: string, port: number, logLevel: string, storeUrl = 'sqlite::memory:', metrics = true): string {
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
`;
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
  writeFileSync(configFile, gatewayYaml(mockUrl, gatewayPort, options.gatewayLogLevel, `sqlite:${join(tmpDir, 'switchyard.db')}`, options.gatewayMetrics));
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

  return { mockUrl, floorUrl, gatewayUrl, mock, floor, gateway };
}
