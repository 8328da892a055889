import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ClientBody, IN_PLACE_FROM, ROOM } from '../../src/protocols/client-body.ts';

/** The text split into chunks at the given cut points, each chunk its own buffer (as a socket hands them over). */
function chunksOf(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) chunks.push(Buffer.from(bytes.subarray(from, point)));
    from = point;
  }
  return chunks;
}

/** The exact bytes a rewrite must give: everything around the model's value untouched. */
function expected(text: string, oldModel: string, model: string): Buffer {
  const raw = Buffer.from(text);
  const value = Buffer.from(JSON.stringify(oldModel));
  const at = raw.indexOf(Buffer.from(`"model":${JSON.stringify(oldModel)}`)) + '"model":'.length;
  return Buffer.concat([raw.subarray(0, at), Buffer.from(JSON.stringify(model)), raw.subarray(at + value.length)]);
}

/** Whether `out` lies in the memory of `body` and its room (a copy from Node's buffer pool may share the ArrayBuffer, but not that range). */
function inPlace(out: Buffer, body: Buffer): boolean {
  return out.buffer === body.buffer && out.byteOffset >= body.byteOffset - ROOM && out.byteOffset + out.length <= body.byteOffset + body.length + ROOM;
}

const filler = (n: number): string => 'Ünïcödé "q" \\ 中文 😀 words. '.repeat(n);

test('a large body is rewritten in place, byte for byte, wherever the model sits and whatever its new length', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('first', 'middle', 'last'),
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 120 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.integer({ min: 150, max: 400 }),
      (where, oldModel, model, cuts, size) => {
        const messages = [{ role: 'user', content: filler(size) }];
        const body =
          where === 'first'
            ? { model: oldModel, max_tokens: 8, messages }
            : where === 'middle'
              ? { system: filler(size), model: oldModel, messages }
              : { messages, stream: true, model: oldModel };
        const text = JSON.stringify(body);
        assert.ok(Buffer.byteLength(text) >= IN_PLACE_FROM);
        const chunks = chunksOf(text, cuts);
        const copies = chunks.map((c) => Buffer.from(c));
        const client = ClientBody.fromChunks(chunks, Buffer.byteLength(text));
        assert.deepEqual(client.bytes, Buffer.from(text));

        const received = client.bytes;
        const out = client.withModel(model);
        assert.ok(out !== undefined);
        assert.deepEqual(out, expected(text, oldModel, model));
        assert.deepEqual(chunks, copies, 'the socket’s chunks are never changed');
        if (chunks.length === 1) {
          // One chunk is not ours to change: the rewrite is a copy (none at all when the name stays).
          assert.equal(client.bytes, received);
          if (model === oldModel) assert.equal(out, received);
          else assert.ok(!inPlace(out, received));
          return;
        }
        // In place: the call's bytes are now the rewritten body, in the memory the body was joined in.
        assert.equal(client.bytes, out);
        assert.ok(inPlace(out, received));

        // A second deployment gets a copy with its own model, and the first attempt's bytes stay as they were sent.
        const again = client.withModel('second-deployment-model');
        assert.ok(again !== undefined);
        assert.ok(!inPlace(again, received));
        assert.deepEqual(again, expected(text, oldModel, 'second-deployment-model'));
        assert.deepEqual(client.bytes, expected(text, oldModel, model));
      },
    ),
    { numRuns: 300 },
  );
});

test('a model name longer than the room is written into a copy; the body is unchanged', () => {
  const text = JSON.stringify({ model: 'a', messages: [{ role: 'user', content: filler(300) }] });
  const client = ClientBody.fromChunks(chunksOf(text, [5000]), Buffer.byteLength(text));
  const long = 'm'.repeat(ROOM + 10);
  const out = client.withModel(long);
  assert.ok(out !== undefined);
  assert.deepEqual(out, expected(text, 'a', long));
  assert.ok(!inPlace(out, client.bytes));
  assert.deepEqual(client.bytes, Buffer.from(text));
});

test('a body in one chunk, or a small one, is rewritten into a copy and never changed', () => {
  const small = JSON.stringify({ model: 'a', messages: [] });
  const large = JSON.stringify({ model: 'a', messages: [{ role: 'user', content: filler(300) }] });
  for (const [text, chunks] of [[small, [Buffer.from(small)]], [small, chunksOf(small, [10])], [large, [Buffer.from(large)]]] as const) {
    const client = ClientBody.fromChunks(chunks, Buffer.byteLength(text));
    const before = client.bytes;
    assert.deepEqual(client.withModel('bb'), expected(text, 'a', 'bb'));
    assert.equal(client.bytes, before);
    assert.equal(client.bytes.toString(), text);
  }
});

test('the same model name needs no copy; a model that cannot be located leaves the body alone', () => {
  const text = JSON.stringify({ model: 'same', messages: [{ role: 'user', content: filler(300) }] });
  for (const chunks of [[Buffer.from(text)], chunksOf(text, [7, 4000])]) {
    const client = ClientBody.fromChunks(chunks, Buffer.byteLength(text));
    const before = client.bytes;
    assert.equal(client.withModel('same'), before);
  }

  const escaped = `{"mod\\u0065l":"a","messages":[${JSON.stringify(filler(300))}]}`;
  const odd = ClientBody.fromChunks(chunksOf(escaped, [3000]), Buffer.byteLength(escaped));
  assert.equal(odd.withModel('z'), undefined);
  assert.equal(odd.bytes.toString(), escaped);
});
