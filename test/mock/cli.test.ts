import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseMockProviderArgs } from '../../src/mock/cli.ts';

const cliPath = fileURLToPath(new URL('../../src/mock/cli.ts', import.meta.url));

test('parses every flag into mock options', () => {
  const options = parseMockProviderArgs([
    '--port', '8089', '--host', '0.0.0.0', '--latency', '5', '--ttft', '10', '--tps', '50',
    '--tokens', '20', '--chunks', '4', '--fault', 'fail-first:1:status:503', '--api-key', 'sk-x', '--fixtures', '/tmp/f',
  ]);
  assert.deepEqual(options, {
    host: '0.0.0.0',
    port: 8089,
    latencyMs: 5,
    ttftMs: 10,
    tokensPerSecond: 50,
    outputTokens: 20,
    chunkCount: 4,
    fault: 'fail-first:1:status:503',
    requireApiKey: 'sk-x',
    fixturesDir: '/tmp/f',
  });
  assert.equal(parseMockProviderArgs(['--help']), 'help');
  assert.throws(() => parseMockProviderArgs(['--tps', 'fast']), /--tps needs a number/);
  assert.throws(() => parseMockProviderArgs(['--bogus']), /bogus/);
});

test('the command prints its URL, serves requests and exits cleanly on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [cliPath, '--port', '0', '--tokens', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${stderr}`)), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(((await res.json()) as { content: Array<{ text: string }> }).content[0]?.text, 'Mock reply from');
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, stderr);
});
