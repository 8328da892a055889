/**
 * `npm run bench:ab`: did a change make the gateway cheaper? Two gateways,
 * this working tree's and another commit's (a git worktree), run side by side
 * on the proxy CPU under the same load at the same moment, and each one's CPU
 * time per request is read per round.
 *
 * Why not two runs of `npm run bench`: on a shared VM the CPU time per request
 * of one gateway moves by ±20% from minute to minute, more than most changes.
 * Two gateways loaded at the same moment suffer the same disturbance, so their
 * ratio holds steady (±3% per round in an A/A run on the development VM).
 * Methodology: docs/benchmarks.md. Bounded in time; children never outlive it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { summariseRatios, abUsage, parseAbOptions, type AbOptions } from './lib/ab.ts';
import { cpuMicros } from './lib/cpu.ts';
import { gitCommit, log, machine, optionsOrExit, runBench, runScript, writeResult } from './lib/harness.ts';
import { freePort, waitReady, type Child } from './lib/processes.ts';
import type { Shape } from './lib/shapes.ts';
import { createKey, repoRoot, startBenchStack } from './lib/stack.ts';

interface Gateway {
  name: 'this tree' | 'base';
  url: string;
  child: Child;
  key: string | undefined;
}

const git = (args: string[]): string => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Closed loop, a fixed number of requests; rejects on a failed response (a comparison of broken gateways means nothing). */
function load(gateway: Gateway, shape: Shape, requests: number, connections: number): Promise<void> {
  const headers = { ...shape.headers };
  if (gateway.key !== undefined) {
    headers['x-api-key'] = gateway.key;
    headers.authorization = `Bearer ${gateway.key}`;
  }
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${gateway.url}${shape.path}`, method: 'POST', body: shape.body('switchyard'), headers, connections, amount: requests, timeout: 30 },
      (err, result) => {
        if (err) return reject(err);
        const failed = result.non2xx + result.errors + result.timeouts;
        if (failed > 0) return reject(new Error(`${gateway.name}: ${failed} of ${requests} requests failed (${JSON.stringify(result.statusCodeStats)})`));
        resolve();
      },
    );
  });
}

async function main(argv: string[]): Promise<number> {
  const parsed = optionsOrExit(() => parseAbOptions(argv), abUsage);
  if ('exit' in parsed) return parsed.exit;
  const opts: AbOptions = parsed.options;
  let baseCommit: string;
  try {
    baseCommit = git(['rev-parse', '--verify', `${opts.base}^{commit}`]);
  } catch {
    process.stderr.write(`--base: '${opts.base}' is not a commit of this repository\n`);
    return 2;
  }
  const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'src']) !== '';
  if (baseCommit === git(['rev-parse', 'HEAD']) && !dirty) log('! this tree is the base commit: an A/A run, which shows how far apart two identical gateways measure');
  // Warm-up round plus the rounds, a few seconds of start-up each side; generous, since a slow VM is the reason to run this.
  const budgetS = 120 + opts.shapes.length * (opts.rounds + 1) * Math.ceil(opts.requests / 500);
  log(`planned: ${opts.shapes.map((s) => s.id).join(', ')}; ${opts.rounds} rounds of ${opts.requests} requests per gateway; at most ${budgetS} s`);

  return runBench('ab', { budgetS, pin: opts.pin }, async ({ children, tmpDir, pinning }) => {
    const startedAt = new Date();
    const baseDir = join(tmpDir, 'base');
    git(['worktree', 'add', '--detach', baseDir, baseCommit]);
    try {
      symlinkSync(join(repoRoot, 'node_modules'), join(baseDir, 'node_modules'), 'dir');
      const stack = await startBenchStack(children, { tmpDir, pinning, outputTokens: 24, gatewayLogLevel: 'info', gatewayMetrics: true, pipeline: 'full', profileDir: undefined });
      // The base's gateway: the same config, its own store and port, a key made by its own CLI.
      const basePort = await freePort();
      const baseConfig = join(tmpDir, 'base.yaml');
      writeFileSync(
        baseConfig,
        readFileSync(stack.configFile, 'utf8')
          .replace(/sqlite:[^"]+/, `sqlite:${join(tmpDir, 'base.db')}`)
          .replace(/port: \d+/, `port: ${basePort}`),
      );
      const baseCli = join(baseDir, 'src/cli/main.ts');
      if (!existsSync(baseCli)) throw new Error(`${opts.base} has no src/cli/main.ts`);
      const baseKey = createKey(baseCli, baseConfig);
      const baseChild = children.start({
        name: 'base gateway',
        args: [baseCli, 'start', '--config', baseConfig, '--port', String(basePort), '--log-format', 'json'],
        cpu: pinning.proxyCpu,
        logFile: join(tmpDir, 'base-gateway.log'),
        cwd: baseDir,
      });
      const baseUrl = `http://127.0.0.1:${basePort}`;
      await waitReady(`${baseUrl}/ready`, baseChild, (s) => s === 200);
      const ours: Gateway = { name: 'this tree', url: stack.gatewayUrl, child: stack.gateway, key: stack.gatewayKey };
      const base: Gateway = { name: 'base', url: baseUrl, child: baseChild, key: baseKey };
      log(`this tree ${ours.url} (pid ${ours.child.pid}), base ${baseCommit.slice(0, 12)} ${base.url} (pid ${base.child.pid})`);

      const shapeResults = [];
      for (const shape of opts.shapes) {
        log('');
        log(`${shape.id}: warm-up`);
        await Promise.all([load(ours, shape, opts.requests, opts.connections), load(base, shape, opts.requests, opts.connections)]);
        const oursUs: number[] = [];
        const baseUs: number[] = [];
        for (let round = 0; round < opts.rounds; round++) {
          const before = [cpuMicros(ours.child.pid), cpuMicros(base.child.pid)];
          // Alternate which load starts first, so neither gateway always gets the head start.
          const pair = round % 2 === 0 ? [ours, base] : [base, ours];
          await Promise.all(pair.map((g) => load(g, shape, opts.requests, opts.connections)));
          const after = [cpuMicros(ours.child.pid), cpuMicros(base.child.pid)];
          if (before.includes(undefined) || after.includes(undefined)) throw new Error('CPU time of the gateways is not readable (/proc)');
          oursUs.push((after[0]! - before[0]!) / opts.requests);
          baseUs.push((after[1]! - before[1]!) / opts.requests);
          log(`  round ${round + 1}: this tree ${oursUs.at(-1)!.toFixed(0)} µs/req, base ${baseUs.at(-1)!.toFixed(0)} µs/req, ratio ${(oursUs.at(-1)! / baseUs.at(-1)!).toFixed(3)}`);
        }
        const ratios = oursUs.map((us, i) => us / baseUs[i]!);
        const summary = summariseRatios(ratios);
        log(`  → ${summary.verdict}; rounds ${summary.min.toFixed(3)}–${summary.max.toFixed(3)}`);
        shapeResults.push({ shape: shape.id, cpuUsPerRequest: { thisTree: oursUs.map(Math.round), base: baseUs.map(Math.round) }, ratios, ...summary });
      }
      const file = writeResult(
        'ab',
        startedAt,
        {
          kind: 'ab',
          version: 1,
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          machine: machine(),
          pinning,
          options: { base: opts.base, baseCommit, thisTree: gitCommit(), rounds: opts.rounds, requests: opts.requests, connections: opts.connections },
          shapes: shapeResults,
        },
        opts.out,
      );
      log('');
      log(`results: ${file}`);
      return 0;
    } finally {
      await children.stopAll();
      rmSync(join(baseDir, 'node_modules'), { force: true });
      try {
        git(['worktree', 'remove', '--force', baseDir]);
      } catch {
        git(['worktree', 'prune']);
      }
    }
  });
}

runScript('bench:ab failed', () => main(process.argv.slice(2)));
