/**
 * The SQL interface's contract, the same on every backend: placeholders,
 * numbers, transactions that commit or roll back whole, isolation of a
 * transaction from concurrent statements, and migrations applied once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb, resolveStoreUrl, toPostgresPlaceholders, maskUrl } from '../../src/store/db.ts';
import { appliedMigrations, migrate, type Migration } from '../../src/store/migrate.ts';
import { backends, freshDb } from './backends.ts';

const demo: Migration[] = [
  {
    id: 1,
    name: 'things',
    sqlite: ['CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, price NUMERIC)'],
    postgres: ['CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, price NUMERIC)'],
  },
  {
    id: 2,
    name: 'things-index',
    sqlite: ['CREATE INDEX things_n ON things (n)'],
    postgres: ['CREATE INDEX things_n ON things (n)'],
  },
];

for (const backend of await backends()) {
  test(`${backend.name}: migrations apply once, in order, with progress`, async (t) => {
    const db = await freshDb(t, backend);
    const seen: string[] = [];
    const first = await migrate(db, demo, (p) => seen.push(`${p.index + 1}/${p.total} ${p.migration.name}`));
    assert.deepEqual(first, ['1-things', '2-things-index']);
    assert.deepEqual(seen, ['1/2 things', '2/2 things-index']);
    assert.deepEqual(await migrate(db, demo), []);
    assert.deepEqual(await appliedMigrations(db), [1, 2]);
  });

  test(`${backend.name}: placeholders, numbers and rows`, async (t) => {
    const db = await freshDb(t, backend);
    await migrate(db, demo);
    const big = Date.now() * 1000;
    await db.run('INSERT INTO things (id, n, price) VALUES (?, ?, ?)', ['a', big, 1.25]);
    await db.run("INSERT INTO things (id, n, price) VALUES (?, ?, ?)", ["it's", 2, null]);
    const row = await db.get<{ id: string; n: number; price: number }>('SELECT id, n, price FROM things WHERE id = ?', ['a']);
    assert.deepEqual({ ...row }, { id: 'a', n: big, price: 1.25 });
    const quoted = await db.all<{ id: string }>("SELECT id FROM things WHERE id = ? OR id = 'x?y'", ["it's"]);
    assert.deepEqual(quoted.map((r) => r.id), ["it's"]);
    assert.equal((await db.run('UPDATE things SET n = n + 1')).changes, 2);
    assert.equal(await db.get('SELECT id FROM things WHERE id = ?', ['missing']), undefined);
  });

  test(`${backend.name}: runEach (SQLite's batch insert) writes every row in one transaction, or none`, async (t) => {
    const db = await freshDb(t, backend);
    if (db.runEach === undefined) {
      assert.equal(db.dialect, 'postgres', 'only PostgreSQL goes without runEach (its ledger insert is one statement)');
      return;
    }
    await migrate(db, demo);
    assert.equal(await db.runEach('INSERT INTO things (id, n) VALUES (?, ?)', [['a', 1], ['b', 2], ['c', 3]]), 3);
    // The third row repeats a primary key: the batch fails and its first two rows are rolled back.
    await assert.rejects(db.runEach('INSERT INTO things (id, n) VALUES (?, ?)', [['d', 4], ['e', 5], ['a', 6]]));
    const ids = await db.all<{ id: string }>('SELECT id FROM things ORDER BY id');
    assert.deepEqual(ids.map((r) => r.id), ['a', 'b', 'c']);
    // The store still takes writes afterwards: no transaction left open.
    await db.run('INSERT INTO things (id, n) VALUES (?, ?)', ['f', 7]);
  });

  test(`${backend.name}: a transaction commits whole or not at all`, async (t) => {
    const db = await freshDb(t, backend);
    await migrate(db, demo);
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO things (id, n) VALUES (?, ?)', ['kept', 1]);
    });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO things (id, n) VALUES (?, ?)', ['lost', 1]);
        throw new Error('boom');
      }),
      /boom/,
    );
    const ids = (await db.all<{ id: string }>('SELECT id FROM things ORDER BY id')).map((r) => r.id);
    assert.deepEqual(ids, ['kept']);
  });

  test(`${backend.name}: statements outside a transaction never land inside it`, async (t) => {
    const db = await freshDb(t, backend);
    await migrate(db, demo);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inside = db.transaction(async (tx) => {
      await tx.run('INSERT INTO things (id, n) VALUES (?, ?)', ['tx', 1]);
      await gate;
      throw new Error('rolled back');
    });
    // Issued while the transaction is open; it must survive the rollback.
    const outside = db.run('INSERT INTO things (id, n) VALUES (?, ?)', ['outside', 1]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await assert.rejects(inside, /rolled back/);
    await outside;
    const ids = (await db.all<{ id: string }>('SELECT id FROM things ORDER BY id')).map((r) => r.id);
    assert.deepEqual(ids, ['outside']);
  });
}

test('store URL resolution: config, then DATABASE_URL, then the embedded SQLite file', () => {
  assert.equal(resolveStoreUrl('postgres://a/b', { DATABASE_URL: 'postgres://c/d' }), 'postgres://a/b');
  assert.equal(resolveStoreUrl(undefined, { DATABASE_URL: 'postgres://c/d' }), 'postgres://c/d');
  assert.equal(resolveStoreUrl(undefined, {}), 'sqlite:./data/switchyard.db');
});

test('placeholders convert outside quotes only; passwords are masked', async () => {
  assert.equal(toPostgresPlaceholders("SELECT ? , '?' , ?"), "SELECT $1 , '?' , $2");
  assert.equal(maskUrl('postgres://user:secret@host:5432/db'), 'postgres://user:***@host:5432/db');
  await assert.rejects(openDb('mysql://x'), /Unsupported store URL/);
});
