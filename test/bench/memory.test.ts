/** Reading process memory for the bench: VmRSS from /proc and the heap from /metrics. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { heapUsedBytes, parseVmRss, RssSampler, rssBytes } from '../../bench/lib/memory.ts';
import { parseProm } from '../../bench/lib/prom-text.ts';

test('VmRSS is read from a /proc status text in bytes', () => {
  const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmRSS:\t   81236 kB\nRssAnon:\t   40000 kB\n';
  assert.equal(parseVmRss(status), 81_236 * 1024);
  assert.equal(parseVmRss('Name:\tkthreadd\n'), undefined);
});

test('this process has a resident set, and a process that does not exist has none', { skip: !existsSync('/proc/self/status') }, () => {
  const rss = rssBytes(process.pid);
  assert.ok(rss !== undefined && rss > 10 * 2 ** 20, `rss ${rss}`);
  assert.equal(rssBytes(2 ** 22 + 12_345), undefined);
});

test('the sampler keeps the first reading and the peak', { skip: !existsSync('/proc/self/status') }, () => {
  const sampler = new RssSampler({ self: process.pid }, 10_000);
  sampler.start();
  const grow = Buffer.alloc(64 * 2 ** 20, 1);
  sampler.stop();
  const { startMiB, peakMiB } = sampler.figures('self');
  assert.ok(grow.length > 0);
  assert.ok(startMiB !== undefined && peakMiB !== undefined);
  assert.ok(peakMiB >= startMiB + 32, `start ${startMiB} MiB, peak ${peakMiB} MiB`);
  assert.deepEqual(sampler.figures('other'), { startMiB: undefined, peakMiB: undefined });
});

test('heap used comes from prom-client’s nodejs_heap_size_used_bytes, and is missing when not exposed', () => {
  const text = '# TYPE nodejs_heap_size_used_bytes gauge\nnodejs_heap_size_used_bytes 52428800\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1e8\n';
  assert.equal(heapUsedBytes(parseProm(text)), 52_428_800);
  assert.equal(heapUsedBytes(parseProm('process_resident_memory_bytes 1e8\n')), undefined);
});
