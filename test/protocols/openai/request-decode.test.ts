import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.ts';
import { decodeOpenAIRequest } from '../../../src/protocols/openai/request.ts';
import { createOpenAIStreamEncoder } from '../../../src/protocols/openai/stream.ts';
import type { StreamEvent } from '../../../src/model/types.ts';

function req(messages: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-4o', messages, ...extra };
}

const hi = { role: 'user', content: 'Hi' };

/** Asserts a 400 SWY_ERR_INVALID_REQUEST whose message starts with the field path. */
function rejects(body: unknown, path: string): void {
  assert.throws(
    () => decodeOpenAIRequest(body),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.code, 'SWY_ERR_INVALID_REQUEST');
      assert.equal(err.status, 400);
      assert.ok(err.message.startsWith(`${path}: `), `"${err.message}" names ${path}`);
      return true;
    },
  );
}

describe('OpenAI request decode: messages', () => {
  test('decodes a minimal request', () => {
    assert.deepEqual(decodeOpenAIRequest(req([hi])), {
      model: 'gpt-4o',
      system: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      stream: false,
    });
  });

  test('puts leading system and developer messages into system, string or text parts', () => {
    const out = decodeOpenAIRequest(
      req([
        { role: 'system', content: 'One.' },
        { role: 'developer', content: [{ type: 'text', text: 'Two.' }, { type: 'text', text: 'Three.' }] },
        hi,
      ]),
    );
    assert.deepEqual(out.system, [
      { type: 'text', text: 'One.' },
      { type: 'text', text: 'Two.' },
      { type: 'text', text: 'Three.' },
    ]);
    assert.equal(out.messages.length, 1);
  });

  test('keeps later system messages in place as system-role messages', () => {
    const out = decodeOpenAIRequest(
      req([hi, { role: 'assistant', content: 'Hello' }, { role: 'developer', content: 'Now be formal.' }, hi]),
    );
    assert.deepEqual(out.system, []);
    assert.deepEqual(
      out.messages.map((m) => m.role),
      ['user', 'assistant', 'system', 'user'],
    );
    assert.deepEqual(out.messages[2]?.content, [{ type: 'text', text: 'Now be formal.' }]);
  });

  test('drops empty system strings', () => {
    assert.deepEqual(decodeOpenAIRequest(req([{ role: 'system', content: '' }, hi])).system, []);
  });

  test('decodes user text and images: data URLs become base64, other URLs stay URLs, detail is kept', () => {
    const out = decodeOpenAIRequest(
      req([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ', detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
            { type: 'image_url', image_url: 'https://example.com/dog.png' },
          ],
        },
      ]),
    );
    assert.deepEqual(out.messages[0]?.content, [
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', mediaType: 'image/jpeg', data: '/9j/4AAQ' }, detail: 'low' },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/dog.png' } },
    ]);
  });

  test('keeps a data URL that is not base64 as a URL', () => {
    const out = decodeOpenAIRequest(req([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/svg+xml,<svg/>' } }] }]));
    assert.deepEqual(out.messages[0]?.content, [{ type: 'image', source: { type: 'url', url: 'data:image/svg+xml,<svg/>' } }]);
  });

  test('reads image/jpg in a data URL as image/jpeg, the type providers accept', () => {
    const out = decodeOpenAIRequest(req([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/JPG;base64,/9j/4AAQ' } }] }]));
    assert.deepEqual(out.messages[0]?.content, [{ type: 'image', source: { type: 'base64', mediaType: 'image/jpeg', data: '/9j/4AAQ' } }]);
  });

  test('drops audio and file parts deliberately and keeps the rest of the message', () => {
    const out = decodeOpenAIRequest(
      req([
        {
          role: 'user',
          content: [
            { type: 'input_audio', input_audio: { data: 'AAA', format: 'wav' } },
            { type: 'file', file: { file_id: 'file-1' } },
            { type: 'text', text: 'Summarise.' },
          ],
        },
      ]),
    );
    assert.deepEqual(out.messages[0]?.content, [{ type: 'text', text: 'Summarise.' }]);
  });

  test('reads cache_control markers on text parts (OpenRouter style)', () => {
    const out = decodeOpenAIRequest(
      req([{ role: 'user', content: [{ type: 'text', text: 'big', cache_control: { type: 'ephemeral', ttl: '1h' } }] }]),
    );
    assert.deepEqual(out.messages[0]?.content, [{ type: 'text', text: 'big', cacheControl: { type: 'ephemeral', ttl: '1h' } }]);
  });

  test('decodes assistant text, tool calls, and null or empty content next to tool calls', () => {
    const out = decodeOpenAIRequest(
      req([
        hi,
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'now', arguments: '' } },
          ],
        },
        { role: 'assistant', content: 'Plain.' },
        { role: 'assistant', content: [{ type: 'text', text: 'Parts.' }, { type: 'refusal', refusal: 'No.' }] },
      ]),
    );
    assert.deepEqual(out.messages[1]?.content, [
      { type: 'tool_call', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_call', id: 'call_2', name: 'now', input: {} },
    ]);
    assert.deepEqual(out.messages[2]?.content, [{ type: 'text', text: 'Plain.' }]);
    assert.deepEqual(out.messages[3]?.content, [
      { type: 'text', text: 'Parts.' },
      { type: 'text', text: 'No.' },
    ]);
  });

  test('decodes reasoning_content and reasoning as thinking before the text', () => {
    const deepseek = decodeOpenAIRequest(req([hi, { role: 'assistant', content: 'A', reasoning_content: 'think' }]));
    assert.deepEqual(deepseek.messages[1]?.content, [
      { type: 'thinking', text: 'think' },
      { type: 'text', text: 'A' },
    ]);
    const openrouter = decodeOpenAIRequest(req([hi, { role: 'assistant', content: 'A', reasoning: 'think' }]));
    assert.deepEqual(openrouter.messages[1]?.content, deepseek.messages[1]?.content);
  });

  test('prefers reasoning_details, which carry the Anthropic signature and redacted thinking', () => {
    const out = decodeOpenAIRequest(
      req([
        hi,
        {
          role: 'assistant',
          content: null,
          reasoning: 'think',
          reasoning_details: [
            { type: 'reasoning.text', text: 'think', signature: 'sig==', format: 'anthropic-claude-v1', index: 0 },
            { type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 1 },
            { type: 'reasoning.unknown-kind' },
          ],
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ]),
    );
    assert.deepEqual(out.messages[1]?.content, [
      { type: 'thinking', text: 'think', signature: 'sig==' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'tool_call', id: 'toolu_1', name: 'f', input: {} },
    ]);
  });

  test('a signature sent back without its text takes the text from reasoning_content (a streamed answer kept by a client)', () => {
    const assistant = (details: unknown[]) =>
      decodeOpenAIRequest(req([hi, { role: 'assistant', content: 'A', reasoning_content: 'I should call the tool', reasoning_details: details }])).messages[1]?.content;
    assert.deepEqual(assistant([{ type: 'reasoning.text', signature: 'SIG', format: 'anthropic-claude-v1', index: 0 }]), [
      { type: 'thinking', text: 'I should call the tool', signature: 'SIG' },
      { type: 'text', text: 'A' },
    ]);
    // Two blocks: which part of the text is whose cannot be known, so nothing is filled in.
    const two = assistant([
      { type: 'reasoning.text', signature: 'S1', index: 0 },
      { type: 'reasoning.text', signature: 'S2', index: 1 },
    ]) as Array<{ text?: string }>;
    assert.deepEqual(two.slice(0, 2).map((p) => p.text), ['', '']);
  });

  test('a signature sent back alone gets the whole text this process streamed with it, not the last fragment', () => {
    // What the OpenAI SDK's stream helper keeps: the last reasoning_details entry and the last reasoning_content fragment.
    const encoder = createOpenAIStreamEncoder({ includeUsage: false });
    const signature = `sig-${Math.random().toString(36).slice(2)}`;
    for (const ev of [
      { type: 'message_start', id: 'msg_1', model: 'claude-x', usage: { inputTokens: 1, outputTokens: 0 } },
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'The user wants a file. ' } },
      { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'A tool call will do.' } },
      { type: 'block_delta', index: 0, delta: { type: 'signature', signature } },
      { type: 'block_stop', index: 0 },
    ] satisfies StreamEvent[]) encoder.push(ev);
    const content = decodeOpenAIRequest(
      req([hi, { role: 'assistant', content: 'A', reasoning_content: 'A tool call will do.', reasoning_details: [{ type: 'reasoning.text', signature, format: 'anthropic-claude-v1', index: 0 }] }]),
    ).messages[1]?.content;
    assert.deepEqual(content?.[0], { type: 'thinking', text: 'The user wants a file. A tool call will do.', signature });
  });

  test('merges consecutive tool messages into one user message and appends the next user message to it', () => {
    const out = decodeOpenAIRequest(
      req([
        hi,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
            { id: 'b', type: 'function', function: { name: 'f', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'a', content: 'A result' },
        { role: 'tool', tool_call_id: 'b', content: [{ type: 'text', text: 'B1' }, { type: 'text', text: 'B2' }] },
        { role: 'user', content: 'Go on.' },
        { role: 'user', content: 'And again.' },
      ]),
    );
    assert.deepEqual(out.messages.slice(2), [
      {
        role: 'user',
        content: [
          { type: 'tool_result', toolCallId: 'a', content: [{ type: 'text', text: 'A result' }] },
          {
            type: 'tool_result',
            toolCallId: 'b',
            content: [
              { type: 'text', text: 'B1' },
              { type: 'text', text: 'B2' },
            ],
          },
          { type: 'text', text: 'Go on.' },
        ],
      },
      { role: 'user', content: [{ type: 'text', text: 'And again.' }] },
    ]);
  });

  test('decodes an empty or null tool result as no content', () => {
    const out = decodeOpenAIRequest(
      req([
        hi,
        { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'a', content: '' },
      ]),
    );
    assert.deepEqual(out.messages[2]?.content, [{ type: 'tool_result', toolCallId: 'a', content: [] }]);
  });
});

describe('OpenAI request decode: parameters', () => {
  test('decodes every supported parameter', () => {
    const out = decodeOpenAIRequest(
      req([hi], {
        max_completion_tokens: 500,
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        stop: ['END', 'STOP'],
        user: 'user-42',
        stream: true,
        stream_options: { include_usage: true },
        tools: [
          {
            type: 'function',
            function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true },
          },
          { type: 'function', function: { name: 'now' } },
        ],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
        reasoning_effort: 'low',
      }),
    );
    assert.deepEqual(out, {
      model: 'gpt-4o',
      system: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      stream: true,
      maxTokens: 500,
      temperature: 0.2,
      topP: 0.9,
      topK: 40,
      stopSequences: ['END', 'STOP'],
      user: 'user-42',
      includeUsage: true,
      tools: [
        {
          kind: 'function',
          name: 'get_weather',
          description: 'Weather',
          inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
          strict: true,
        },
        { kind: 'function', name: 'now', inputSchema: { type: 'object', properties: {} } },
      ],
      toolChoice: { type: 'tool', name: 'get_weather' },
      parallelToolCalls: false,
      reasoning: { mode: 'enabled', effort: 'low' },
    });
  });

  test('accepts max_tokens and a single stop string', () => {
    const out = decodeOpenAIRequest(req([hi], { max_tokens: 64, stop: 'END' }));
    assert.equal(out.maxTokens, 64);
    assert.deepEqual(out.stopSequences, ['END']);
  });

  test('maps tool_choice strings to auto, none and any', () => {
    const choice = (tool_choice: string) => decodeOpenAIRequest(req([hi], { tool_choice })).toolChoice;
    assert.deepEqual(choice('auto'), { type: 'auto' });
    assert.deepEqual(choice('none'), { type: 'none' });
    assert.deepEqual(choice('required'), { type: 'any' });
  });

  test('maps reasoning_effort levels, none to disabled and xhigh to max', () => {
    const reasoning = (reasoning_effort: string) => decodeOpenAIRequest(req([hi], { reasoning_effort })).reasoning;
    assert.deepEqual(reasoning('minimal'), { mode: 'enabled', effort: 'minimal' });
    assert.deepEqual(reasoning('high'), { mode: 'enabled', effort: 'high' });
    assert.deepEqual(reasoning('none'), { mode: 'disabled' });
    assert.deepEqual(reasoning('xhigh'), { mode: 'enabled', effort: 'max' });
  });

  test('ignores parameters without an internal equivalent instead of rejecting them', () => {
    const out = decodeOpenAIRequest(
      req([hi], {
        response_format: { type: 'json_object' },
        seed: 7,
        n: 1,
        logprobs: true,
        top_logprobs: 2,
        presence_penalty: 0.5,
        frequency_penalty: 0.5,
        logit_bias: { '50256': -100 },
        service_tier: 'auto',
        store: false,
        metadata: { a: 'b' },
        modalities: ['text'],
        prediction: { type: 'content', content: 'x' },
        web_search_options: {},
        temperature: null,
      }),
    );
    assert.deepEqual(out, decodeOpenAIRequest(req([hi])));
  });
});

describe('OpenAI request decode: validation errors name the field', () => {
  test('rejects a body that is not an object', () => rejects([1], 'body'));
  test('rejects a missing or empty model', () => {
    rejects({ messages: [hi] }, 'model');
    rejects({ model: '', messages: [hi] }, 'model');
  });
  test('rejects missing or empty messages', () => {
    rejects({ model: 'm' }, 'messages');
    rejects({ model: 'm', messages: [] }, 'messages');
  });
  test('rejects a message that is not an object', () => rejects(req([hi, 'hello']), 'messages[1]'));
  test('rejects an unknown role', () => rejects(req([{ role: 'robot', content: 'x' }]), 'messages[0].role'));
  test('rejects user content of the wrong type', () => rejects(req([{ role: 'user', content: 5 }]), 'messages[0].content'));
  test('rejects a text part without text', () =>
    rejects(req([{ role: 'user', content: [{ type: 'text' }] }]), 'messages[0].content[0].text'));
  test('rejects a part without a type', () => rejects(req([{ role: 'user', content: [{ text: 'x' }] }]), 'messages[0].content[0].type'));
  test('rejects an image without a URL', () =>
    rejects(req([{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }]), 'messages[0].content[0].image_url.url'));
  test('rejects a system message without content', () => rejects(req([{ role: 'system' }]), 'messages[0].content'));
  test('rejects a tool message without tool_call_id', () => rejects(req([hi, { role: 'tool', content: 'x' }]), 'messages[1].tool_call_id'));
  test('rejects a tool call without id or name', () => {
    rejects(req([{ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }]), 'messages[0].tool_calls[0].id');
    rejects(req([{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { arguments: '{}' } }] }]), 'messages[0].tool_calls[0].function.name');
  });

  // The internal model carries parsed objects; a wrapper like {"_raw": …} would
  // feed the next model an argument it never produced, so the client hears about it.
  test('rejects tool call arguments that are not a JSON object', () => {
    const call = (args: unknown) => req([hi, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }] }]);
    rejects(call('{"city": "Par'), 'messages[1].tool_calls[0].function.arguments');
    rejects(call('[1,2]'), 'messages[1].tool_calls[0].function.arguments');
    rejects(call('null'), 'messages[1].tool_calls[0].function.arguments');
    rejects(call(42), 'messages[1].tool_calls[0].function.arguments');
  });

  test('rejects parameters of the wrong type', () => {
    rejects(req([hi], { max_tokens: -1 }), 'max_tokens');
    rejects(req([hi], { max_completion_tokens: 1.5 }), 'max_completion_tokens');
    rejects(req([hi], { temperature: '0.2' }), 'temperature');
    rejects(req([hi], { stop: [1] }), 'stop[0]');
    rejects(req([hi], { stream: 'yes' }), 'stream');
    rejects(req([hi], { stream_options: { include_usage: 1 } }), 'stream_options.include_usage');
    rejects(req([hi], { user: 5 }), 'user');
    rejects(req([hi], { parallel_tool_calls: 'no' }), 'parallel_tool_calls');
    rejects(req([hi], { reasoning_effort: 'extreme' }), 'reasoning_effort');
  });

  test('rejects malformed tools and tool_choice', () => {
    rejects(req([hi], { tools: {} }), 'tools');
    rejects(req([hi], { tools: [{ type: 'custom', custom: { name: 'x' } }] }), 'tools[0].type');
    rejects(req([hi], { tools: [{ type: 'function', function: {} }] }), 'tools[0].function.name');
    rejects(req([hi], { tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }), 'tools[0].function.parameters');
    rejects(req([hi], { tool_choice: 'sometimes' }), 'tool_choice');
    rejects(req([hi], { tool_choice: { type: 'function', function: {} } }), 'tool_choice.function.name');
  });

  test('quotes only a short prefix of a long bad value', () => {
    assert.throws(
      () => decodeOpenAIRequest(req([{ role: 'x'.repeat(500), content: '' }])),
      (err: Error) => err.message.length < 200,
    );
  });
});
