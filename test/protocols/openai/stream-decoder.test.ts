import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamEvent } from '../../../src/model/types.ts';
import { createOpenAIStreamDecoder } from '../../../src/protocols/openai/stream.ts';
import type { SseMessage } from '../../../src/protocols/sse.ts';
import { decodeFixture, fixtureNames } from './helpers.ts';

const fixtures = fixtureNames;

const start = (id: string, model: string): StreamEvent => ({
  type: 'message_start',
  id,
  model,
  usage: { inputTokens: 0, outputTokens: 0 },
});

function data(value: unknown): SseMessage {
  return { event: undefined, data: typeof value === 'string' ? value : JSON.stringify(value) };
}

function chunk(delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}): SseMessage {
  return data({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], ...extra });
}

function run(messages: SseMessage[], end = true): StreamEvent[] {
  const decoder = createOpenAIStreamDecoder();
  const out: StreamEvent[] = [];
  for (const m of messages) out.push(...decoder.push(m));
  if (end) out.push(...decoder.end());
  return out;
}

/** The invariants every consumer relies on: one open block at a time, each started block stopped once. */
function assertWellFormed(events: StreamEvent[]): void {
  assert.equal(events[0]?.type === 'message_start' || events[0]?.type === 'error', true, 'starts with message_start');
  let open = -1;
  let next = 0;
  const last = events[events.length - 1];
  for (const ev of events) {
    if (ev.type === 'block_start') {
      assert.equal(open, -1, 'a block starts while another is open');
      assert.equal(ev.index, next++, 'block indexes are consecutive');
      open = ev.index;
    } else if (ev.type === 'block_delta') {
      assert.equal(ev.index, open, 'delta for the open block');
    } else if (ev.type === 'block_stop') {
      assert.equal(ev.index, open, 'stop for the open block');
      open = -1;
    }
  }
  if (last?.type !== 'error') {
    assert.equal(open, -1, 'no block left open');
    assert.equal(last?.type, 'message_stop');
    assert.equal(events[events.length - 2]?.type, 'message_delta');
  }
}

describe('OpenAI stream decoder on recorded fixtures', () => {
  test('decodes plain text with the usage chunk that follows finish_reason', () => {
    assert.deepEqual(decodeFixture('text-with-usage.sse'), [
      start('chatcmpl-text1', 'gpt-4o-mini-2024-07-18'),
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Hello' } },
      { type: 'block_delta', index: 0, delta: { type: 'text', text: ', world!' } },
      { type: 'block_stop', index: 0 },
      // prompt_tokens 1200 includes 1024 cached: internal input excludes them.
      { type: 'message_delta', stopReason: 'end_turn', usage: { inputTokens: 176, outputTokens: 4, cacheReadTokens: 1024 } },
      { type: 'message_stop' },
    ]);
  });

  test('decodes two parallel tool calls into two consecutive tool blocks', () => {
    assert.deepEqual(decodeFixture('parallel-tool-calls.sse'), [
      start('chatcmpl-par1', 'gpt-4o-2024-08-06'),
      { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'call_paris', name: 'get_weather' } },
      { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{"city": ' } },
      { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '"Paris"}' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'call_tokyo', name: 'get_weather' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '{"city": "To' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: 'kyo"}' } },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'tool_use', usage: { inputTokens: 85, outputTokens: 40 } },
      { type: 'message_stop' },
    ]);
  });

  test('decodes arguments sent whole in one chunk, after text, with Groq usage in x_groq', () => {
    assert.deepEqual(decodeFixture('whole-arguments.sse'), [
      start('chatcmpl-whole1', 'llama-3.3-70b-versatile'),
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Let me check.' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'call_whole', name: 'search' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '{"query":"sse \\"spec\\" {braces}","limit":3}' } },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'tool_use', usage: { inputTokens: 300, outputTokens: 25 } },
      { type: 'message_stop' },
    ]);
  });

  test('gives tools with empty or missing arguments a single {} and maps "stop" after tool calls to tool_use', () => {
    assert.deepEqual(decodeFixture('empty-arguments.sse'), [
      start('chatcmpl-empty1', 'qwen2.5:7b'),
      { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'call_now', name: 'get_time' } },
      { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{}' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'call_date', name: 'get_date' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '{}' } },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'tool_use' },
      { type: 'message_stop' },
    ]);
  });

  test('decodes DeepSeek reasoning_content as a thinking block before the text, with prompt_cache_hit_tokens', () => {
    assert.deepEqual(decodeFixture('deepseek-reasoning.sse'), [
      start('8f1c7d2e-ds', 'deepseek-reasoner'),
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'The user wants 2+2.' } },
      { type: 'block_delta', index: 0, delta: { type: 'thinking', text: ' That is 4.' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'text' } },
      { type: 'block_delta', index: 1, delta: { type: 'text', text: '4' } },
      { type: 'block_stop', index: 1 },
      {
        type: 'message_delta',
        stopReason: 'end_turn',
        usage: { inputTokens: 4, outputTokens: 12, cacheReadTokens: 16, reasoningTokens: 10 },
      },
      { type: 'message_stop' },
    ]);
  });

  test('ends a stream without finish_reason or [DONE] well-formed, as tool_use when a tool was called', () => {
    assert.deepEqual(decodeFixture('no-finish-reason.sse'), [
      start('chatcmpl-nofin', 'local-model'),
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Partial' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'call_cut', name: 'read_file' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '{"path":' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '"a.txt"}' } },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'tool_use' },
      { type: 'message_stop' },
    ]);
  });

  test('turns a mid-stream error chunk into an error event and stops there', () => {
    assert.deepEqual(decodeFixture('error-chunk.sse'), [
      start('chatcmpl-err1', 'gpt-4o'),
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Start' } },
      {
        type: 'error',
        error: { kind: 'rate_limit', message: 'Rate limit reached for gpt-4o in organization org-x on tokens per min.' },
      },
    ]);
  });

  test('turns a malformed data line into an api_error event instead of throwing', () => {
    assert.deepEqual(decodeFixture('malformed-line.sse'), [
      start('chatcmpl-bad1', 'gpt-4o'),
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Hi' } },
      { type: 'error', error: { kind: 'api_error', message: 'upstream sent malformed SSE: a data line is not valid JSON' } },
    ]);
  });

  test('keeps every argument of two tools whose deltas interleave', () => {
    assert.deepEqual(decodeFixture('interleaved-tools.sse'), [
      start('chatcmpl-inter', 'some-model'),
      { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'call_a', name: 'alpha' } },
      { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{"x":' } },
      { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '1}' } },
      { type: 'block_stop', index: 0 },
      // beta's first delta was held back while alpha's JSON was incomplete.
      { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'call_b', name: 'beta' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '{"y":' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '2}' } },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'tool_use' },
      { type: 'message_stop' },
    ]);
  });

  test('decodes OpenRouter reasoning with its Anthropic signature, without doubling the text from reasoning_details', () => {
    assert.deepEqual(decodeFixture('openrouter-claude-thinking.sse'), [
      start('gen-or-1', 'anthropic/claude-sonnet-4'),
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'Need the weather.' } },
      { type: 'block_delta', index: 0, delta: { type: 'signature', signature: 'EqQBsig==' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'text' } },
      { type: 'block_delta', index: 1, delta: { type: 'text', text: 'Checking.' } },
      { type: 'block_stop', index: 1 },
      { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_01', name: 'get_weather' } },
      { type: 'block_delta', index: 2, delta: { type: 'tool_args', json: '{"city":"Oslo"}' } },
      { type: 'block_stop', index: 2 },
      {
        type: 'message_delta',
        stopReason: 'tool_use',
        usage: { inputTokens: 100, outputTokens: 60, cacheReadTokens: 400, reasoningTokens: 20 },
      },
      { type: 'message_stop' },
    ]);
  });

  test('gives the same events whatever the network chunking', () => {
    for (const name of fixtures) {
      const whole = decodeFixture(name);
      for (const size of [1, 7, 64]) assert.deepEqual(decodeFixture(name, size), whole, `${name} in pieces of ${size}`);
    }
  });

  test('produces well-formed event sequences for every fixture', () => {
    for (const name of fixtures) assertWellFormed(decodeFixture(name));
  });
});

describe('OpenAI stream decoder edge cases', () => {
  test('emits nothing after [DONE], and end() after [DONE] adds nothing', () => {
    const decoder = createOpenAIStreamDecoder();
    decoder.push(chunk({ content: 'a' }, 'stop'));
    assert.equal(decoder.push(data('[DONE]')).at(-1)?.type, 'message_stop');
    assert.deepEqual(decoder.push(chunk({ content: 'late' })), []);
    assert.deepEqual(decoder.end(), []);
  });

  test('reports an error when the stream ends before any chunk', () => {
    assert.deepEqual(run([]), [
      { type: 'error', error: { kind: 'api_error', message: 'upstream stream ended before sending any chunk' } },
    ]);
  });

  test('maps finish reasons length and content_filter to max_tokens and refusal', () => {
    assert.deepEqual(run([chunk({ content: 'x' }, 'length')]).at(-2), { type: 'message_delta', stopReason: 'max_tokens' });
    assert.deepEqual(run([chunk({ content: 'x' }, 'content_filter')]).at(-2), {
      type: 'message_delta',
      stopReason: 'refusal',
    });
  });

  test('starts a tool block only once its name is known, keeping arguments that came first', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: ':1}' } }] }),
    ]);
    assert.deepEqual(events.slice(1, 5), [
      { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'call_1', name: 'f' } },
      { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{"a":1}' } },
      { type: 'block_stop', index: 0 },
      { type: 'message_delta', stopReason: 'tool_use' },
    ]);
  });

  test('ignores a name repeated in every delta', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '}' } }] }),
    ]);
    assert.equal(events.filter((e) => e.type === 'block_start').length, 1);
    assertWellFormed(events);
  });

  test('gives a tool call without an id a unique generated one', () => {
    const a = run([chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] })]);
    const b = run([chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] })]);
    const idOf = (events: StreamEvent[]): string => {
      const ev = events.find((e) => e.type === 'block_start');
      assert.ok(ev?.type === 'block_start' && ev.block.type === 'tool_call');
      return ev.block.id;
    };
    assert.match(idOf(a), /^call_[0-9a-f]{24}$/);
    assert.notEqual(idOf(a), idOf(b));
  });

  test('matches tool deltas that carry no index by id, and continues the latest tool otherwise', () => {
    const events = run([
      chunk({ tool_calls: [{ id: 'call_a', function: { name: 'a', arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ function: { arguments: '1}' } }] }),
      chunk({ tool_calls: [{ id: 'call_b', function: { name: 'b', arguments: '{}' } }] }),
    ]);
    const args = events.flatMap((e) => (e.type === 'block_delta' && e.delta.type === 'tool_args' ? [[e.index, e.delta.json]] : []));
    assert.deepEqual(args, [[0, '{"x":'], [0, '1}'], [1, '{}']]);
    assertWellFormed(events);
  });

  test('splits calls that reuse one index but carry different ids (Ollama sends every call as index 0)', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_aaa', type: 'function', function: { name: 'write', arguments: '{"filePath":"hello.py"}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'call_bbb', type: 'function', function: { name: 'write', arguments: '{"filePath":"world.py"}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    assertWellFormed(events);
    const starts = events.flatMap((e) => (e.type === 'block_start' && e.block.type === 'tool_call' ? [[e.index, e.block.id, e.block.name]] : []));
    assert.deepEqual(starts, [[0, 'call_aaa', 'write'], [1, 'call_bbb', 'write']]);
    const args = events.flatMap((e) => (e.type === 'block_delta' && e.delta.type === 'tool_args' ? [[e.index, e.delta.json]] : []));
    assert.deepEqual(args, [[0, '{"filePath":"hello.py"}'], [1, '{"filePath":"world.py"}']]);
  });

  test('splits whole calls sent with neither index nor id once the first call closed its JSON', () => {
    const events = run([
      chunk({ tool_calls: [{ function: { name: 'read', arguments: '{"path":"a"}' } }] }),
      chunk({ tool_calls: [{ function: { name: 'read', arguments: '{"path":"b"}' } }] }),
      // A name repeated with no arguments after the call ended is not a call.
      chunk({ tool_calls: [{ function: { name: 'read', arguments: '' } }] }),
    ]);
    assertWellFormed(events);
    const args = events.flatMap((e) => (e.type === 'block_delta' && e.delta.type === 'tool_args' ? [[e.index, e.delta.json]] : []));
    assert.deepEqual(args, [[0, '{"path":"a"}'], [1, '{"path":"b"}']]);
  });

  test('keeps one call when the same id and index come with every delta', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{"a":' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '1}' } }] }),
    ]);
    assert.equal(events.filter((e) => e.type === 'block_start').length, 1);
    assertWellFormed(events);
  });

  test('starts the message at the first chunk that names it, past an Azure prompt-filter chunk', () => {
    const events = run([
      data({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] }),
      data({ id: 'chatcmpl-9', object: 'chat.completion.chunk', model: 'gpt-4o-2024', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] }),
      data({ id: 'chatcmpl-9', object: 'chat.completion.chunk', model: 'gpt-4o-2024', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    ]);
    assertWellFormed(events);
    assert.deepEqual(events[0], start('chatcmpl-9', 'gpt-4o-2024'));
  });

  test('still ends well-formed when only a prompt-filter chunk came', () => {
    const events = run([data({ id: '', model: '', choices: [], prompt_filter_results: [] }), data('[DONE]')]);
    assertWellFormed(events);
    assert.deepEqual(events[0], start('', ''));
  });

  test('holds a second tool until the end when the first never completes its JSON', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'b', arguments: '{"y":2}' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":1}' } }] }),
    ]);
    assertWellFormed(events);
    const args = events.flatMap((e) => (e.type === 'block_delta' && e.delta.type === 'tool_args' ? [[e.index, e.delta.json]] : []));
    assert.deepEqual(args, [[0, '{"x":1}'], [1, '{"y":2}']]);
  });

  test('fails loudly when arguments arrive for a tool whose block was closed by text', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{"x":' } }] }),
      chunk({ content: 'text in between' }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
    ]);
    assert.deepEqual(events.at(-1), {
      type: 'error',
      error: { kind: 'api_error', message: 'upstream sent arguments for tool call call_a after it ended' },
    });
  });

  test('tolerates whitespace after a tool call already closed', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{}' } }] }),
      chunk({ content: 'then text' }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ' \n' } }] }),
    ]);
    assertWellFormed(events);
  });

  test('turns OpenRouter encrypted reasoning into a redacted_thinking block', () => {
    const events = run([
      chunk({ reasoning_details: [{ type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 0 }] }),
      chunk({ content: 'ok' }, 'stop'),
    ]);
    assert.deepEqual(events.slice(1, 3), [
      { type: 'block_start', index: 0, block: { type: 'redacted_thinking', data: 'opaque' } },
      { type: 'block_stop', index: 0 },
    ]);
    assertWellFormed(events);
  });

  test('takes reasoning text from reasoning_details when no reasoning field carries it', () => {
    const events = run([chunk({ reasoning_details: [{ type: 'reasoning.text', text: 'hmm', signature: 'sig' }] })]);
    assert.deepEqual(events.slice(1, 4), [
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'hmm' } },
      { type: 'block_delta', index: 0, delta: { type: 'signature', signature: 'sig' } },
    ]);
  });

  test('drops a signature that arrives while no thinking block is open', () => {
    const events = run([chunk({ content: 'a' }), chunk({ reasoning_details: [{ type: 'reasoning.text', signature: 's' }] })]);
    assert.equal(events.some((e) => e.type === 'block_delta' && e.delta.type === 'signature'), false);
    assertWellFormed(events);
  });

  test('reads only choice 0', () => {
    const events = run([
      data({ id: 'c', model: 'm', choices: [{ index: 1, delta: { content: 'other' } }, { index: 0, delta: { content: 'mine' } }] }),
    ]);
    const texts = events.flatMap((e) => (e.type === 'block_delta' && e.delta.type === 'text' ? [e.delta.text] : []));
    assert.deepEqual(texts, ['mine']);
  });

  test('treats an SSE message with event error as an upstream error', () => {
    const events = run([chunk({ content: 'a' }), { event: 'error', data: '{"message":"overloaded","type":"server_error"}' }]);
    assert.deepEqual(events.at(-1), { type: 'error', error: { kind: 'api_error', message: 'overloaded' } });
  });

  test('reports a data line that is JSON but not an object as malformed', () => {
    assert.deepEqual(run([data('[1,2]')]), [
      { type: 'error', error: { kind: 'api_error', message: 'upstream sent malformed SSE: a data line is not a JSON object' } },
    ]);
  });

  test('switches between thinking and text blocks as often as the model does', () => {
    const events = run([chunk({ reasoning: 'a' }), chunk({ content: 'b' }), chunk({ reasoning: 'c' }), chunk({}, 'stop')]);
    assert.deepEqual(
      events.filter((e) => e.type === 'block_start').map((e) => (e.type === 'block_start' ? e.block.type : '')),
      ['thinking', 'text', 'thinking'],
    );
    assertWellFormed(events);
  });
});
