/**
 * Every bench script answers --help with its usage and an unknown flag with
 * the problem and the usage (exit 2), before it starts anything.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const scripts = ['run', 'ab', 'failover', 'large', 'ledger', 'limits', 'micro', 'soak', 'streams', 'ui-recorder', 'workers'];

for (const script of scripts) {
  test(`bench/${script}.ts: --help prints the usage, an unknown flag exits 2 with the usage`, () => {
    const file = fileURLToPath(new URL(`../../bench/${script}.ts`, import.meta.url));
    const help = spawnSync(process.execPath, [file, '--help'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: /);
    const bad = spawnSync(process.execPath, [file, '--no-such-flag'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(bad.status, 2, `exit code; stderr: ${bad.stderr}`);
    assert.match(bad.stderr, /--no-such-flag/);
    assert.match(bad.stderr, /Usage: /);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  });
}
