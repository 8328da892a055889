/**
 * One SQLite file written by several processes at once, as the workers of
 * `switchyard start --workers N` write the usage ledger: WAL and the busy
 * timeout make each writer wait for the other's transaction instead of
 * failing with SQLITE_BUSY, and every row lands once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDb } from '../../src/store/db.ts';
import { countEvents } from '../usage/helpers.ts';

const writer = fileURLToPath(new URL('./fixtures/ledger-writer.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [writer, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('three processes migrate and write one new SQLite file at once, and every event lands', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-sqlite-procs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const url = `sqlite:${join(dir, 'ledger.db')}`;
  const batches = 150;
  const size = 20;
  const names = ['a', 'b', 'c'];
  // A new file: all three race to switch it to WAL and to apply the migrations, then interleave their batches.
  const results = await Promise.all(names.map((name) => run([url, name, String(batches), String(size)])));
  for (const [i, r] of results.entries()) assert.equal(r.code, 0, `writer ${names[i]} failed: ${r.stderr}`);

  const db = await openDb(url);
  t.after(() => db.close());
  assert.equal(await countEvents(db), names.length * batches * size);
  for (const name of names) assert.equal(await countEvents(db, 'id LIKE ?', [`${name}-%`]), batches * size);
  const mode = await db.get<{ journal_mode: string }>('PRAGMA journal_mode');
  assert.equal(mode?.journal_mode, 'wal');
});
