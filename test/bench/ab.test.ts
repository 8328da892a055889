import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAbOptions, summariseRatios, type AbOptions } from '../../bench/lib/ab.ts';

const parse = (argv: string[]): AbOptions => {
  const o = parseAbOptions(argv);
  assert.notEqual(o, 'help');
  return o as AbOptions;
};

test('bench:ab options: defaults, choices, and bad values refused with the flag named', () => {
  const o = parse([]);
  assert.equal(o.base, 'HEAD');
  assert.deepEqual(
    o.shapes.map((s) => s.id),
    ['anthropic-stream', 'openai-json'],
  );
  assert.equal(o.rounds, 8);
  assert.equal(o.requests, 5000);
  assert.equal(o.connections, 16);
  assert.equal(o.pin, true);
  const some = parse(['--base', 'main~3', '--shapes', 'openai-stream', '--rounds', '4', '--requests', '1000', '--no-pin']);
  assert.equal(some.base, 'main~3');
  assert.equal(some.shapes[0]?.id, 'openai-stream');
  assert.equal(some.rounds, 4);
  assert.equal(some.requests, 1000);
  assert.equal(some.pin, false);
  assert.equal(parseAbOptions(['--help']), 'help');
  assert.throws(() => parseAbOptions(['--shapes', 'nope']), /--shapes: unknown shape 'nope'/);
  assert.throws(() => parseAbOptions(['--rounds', '0']), /--rounds must be an integer above 0/);
  assert.throws(() => parseAbOptions(['--requests', '50']), /--requests must be an integer above 99/);
  assert.throws(() => parseAbOptions(['--base', '']), /--base must name a commit/);
  assert.throws(() => parseAbOptions(['--bogus']), /Unknown option '--bogus'/);
});

test('a difference is named only when most rounds agree on its sign', () => {
  const gain = summariseRatios([0.93, 0.95, 0.94, 0.96, 0.92, 1.01, 0.94, 0.95]);
  assert.equal(gain.cheaperRounds, 7);
  assert.ok(Math.abs(gain.median - 0.945) < 1e-9, `median ${gain.median}`);
  assert.match(gain.verdict, /uses 5\.5% less CPU per request/);

  const loss = summariseRatios([1.06, 1.08, 1.07]);
  assert.match(loss.verdict, /uses 7\.0% more CPU per request .*3 of 3 rounds agree/);

  // One disturbed round far from the others moves the mean, not the verdict.
  const split = summariseRatios([0.9, 1.1, 0.95, 1.05, 0.7, 1.02]);
  assert.match(split.verdict, /no difference this run can resolve/);
  assert.equal(split.min, 0.7);
  assert.equal(split.max, 1.1);

  assert.match(summariseRatios([0.995, 1.004, 0.998]).verdict, /no difference/, 'under 1% is not called a difference');
  assert.throws(() => summariseRatios([]), /no rounds/);
});
