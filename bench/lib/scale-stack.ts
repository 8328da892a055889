/**
 * The stack of the scale benchmarks (streams, large, soak): the three
 * processes of bench/run.ts (see stack.ts) with the knobs these scenarios
 * need — a paced mock, larger upstream pools, extra models and routes — and
 * the gateway on the full pipeline: a real key, rate limits and budgets on
 * priced models, the usage ledger in a SQLite file, metrics, request logs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { inspectFlag } from './inspector.ts';
import { freePort, waitReady, type Child, type ChildSet, type Pinning } from './processes.ts';
import { createKey, gatewayYaml, repoRoot } from './stack.ts';

/** The gateway's config as a plain object, to edit before it is written. */
export type GatewayConfigDoc = Record<string, unknown> & {
  server: Record<string, unknown>;
  providers: Array<Record<string, unknown>>;
  models: Array<Record<string, unknown>>;
  routes: Record<string, unknown>;
};

export interface ScaleStackOptions {
  tmpDir: string;
  pinning: Pinning;
  /** Extra mock-provider flags, e.g. `['--tps', '10', '--chunks', '40']`. */
  mockArgs?: string[];
  /** Upstream connections of the floor's pool and of every gateway provider pool; default 64, the gateway's default. */
  upstreamConnections?: number;
  /** Default info, as configured in production. */
  gatewayLogLevel?: string;
  /** Start the floor proxy too (default true). */
  floor?: boolean;
  /** Edits the gateway's config before it is written. */
  configure?: (config: GatewayConfigDoc) => void;
  /** Start the floor and the gateway with the inspector on (loopback, a free port), to force collections before memory samples. */
  inspect?: boolean;
  /** Run the gateway with `--cpu-prof`, writing its profile into this directory when it exits. */
  gatewayProfileDir?: string;
}

export interface ScaleStack {
  mockUrl: string;
  floorUrl: string | undefined;
  gatewayUrl: string;
  mock: Child;
  floor: Child | undefined;
  gateway: Child;
  /** The key the gateway authenticates. */
  gatewayKey: string;
  /** The config the gateway runs with, as written. */
  gatewayConfig: string;
  children: Child[];
}

/** The gateway config for a scale bench: bench/run.ts's full-pipeline config, edited. */
export function scaleGatewayConfig(mockUrl: string, port: number, storeUrl: string, options: Pick<ScaleStackOptions, 'gatewayLogLevel' | 'upstreamConnections' | 'configure'>): string {
  const doc = parse(gatewayYaml(mockUrl, port, options.gatewayLogLevel ?? 'info', storeUrl, true, 'full')) as GatewayConfigDoc;
  if (options.upstreamConnections !== undefined) {
    for (const provider of doc.providers) provider.pool = { ...(provider.pool as object | undefined), connections: options.upstreamConnections };
  }
  options.configure?.(doc);
  return `# Written by a scale bench (bench/streams.ts, large.ts or soak.ts) for one run.\n${stringify(doc)}`;
}

export async function startScaleStack(children: ChildSet, options: ScaleStackOptions): Promise<ScaleStack> {
  const { tmpDir, pinning } = options;
  const cli = join(repoRoot, 'src/cli/main.ts');
  const [mockPort, floorPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];

  const mock = children.start({
    name: 'mock provider',
    args: [cli, 'mock-provider', '--host', '127.0.0.1', '--port', String(mockPort), ...(options.mockArgs ?? [])],
    cpu: pinning.loadCpu,
    logFile: join(tmpDir, 'mock.log'),
    cwd: repoRoot,
  });
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  await waitReady(`${mockUrl}/health`, mock, (s) => s === 200);

  let floor: Child | undefined;
  let floorUrl: string | undefined;
  if (options.floor !== false) {
    floor = children.start({
      name: 'floor proxy',
      args: [join(repoRoot, 'bench/floor-proxy.ts'), '--upstream', mockUrl, '--port', String(floorPort), '--connections', String(options.upstreamConnections ?? 64)],
      nodeFlags: options.inspect === true ? [inspectFlag] : [],
      cpu: pinning.proxyCpu,
      logFile: join(tmpDir, 'floor.log'),
      cwd: repoRoot,
    });
    floorUrl = `http://127.0.0.1:${floorPort}`;
    await waitReady(`${floorUrl}/health`, floor, (s) => s === 200);
  }

  const configFile = join(tmpDir, 'switchyard.yaml');
  const gatewayConfig = scaleGatewayConfig(mockUrl, gatewayPort, `sqlite:${join(tmpDir, 'switchyard.db')}`, options);
  writeFileSync(configFile, gatewayConfig);
  const gatewayKey = createKey(cli, configFile);
  const gateway = children.start({
    name: 'gateway',
    args: [cli, 'start', '--config', configFile, '--port', String(gatewayPort), '--log-format', 'json'],
    nodeFlags: [...(options.inspect === true ? [inspectFlag] : []), ...(options.gatewayProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.gatewayProfileDir}`])],
    cpu: pinning.proxyCpu,
    logFile: join(tmpDir, 'gateway.log'),
    cwd: repoRoot,
  });
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  // /ready turns 200 once the upstream pools are warm.
  await waitReady(`${gatewayUrl}/ready`, gateway, (s) => s === 200);

  const started = [mock, ...(floor === undefined ? [] : [floor]), gateway];
  return { mockUrl, floorUrl, gatewayUrl, mock, floor, gateway, gatewayKey, gatewayConfig, children: started };
}

/** Throws if a child of the stack has died. */
export function assertStackAlive(stack: ScaleStack): void {
  for (const child of stack.children) {
    if (!child.alive()) throw new Error(`${child.name} died during the bench (${child.howEnded()}; log: ${child.logFile})`);
  }
}

/** The credential header the gateway expects from a client of this protocol. */
export function gatewayCredential(stack: ScaleStack, client: 'anthropic' | 'openai'): Record<string, string> {
  return client === 'anthropic' ? { 'x-api-key': stack.gatewayKey } : { authorization: `Bearer ${stack.gatewayKey}` };
}
