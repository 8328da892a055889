import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatRequest, Message, Reasoning } from '../../../src/model/types.ts';
import { defaultOpenAIQuirks, openAIPresets } from '../../../src/protocols/openai/quirks.ts';
import type { OpenAIQuirks } from '../../../src/protocols/openai/quirks.ts';
import { encodeOpenAIRequest } from '../../../src/protocols/openai/request.ts';
import { openAIToolName, restoreToolNames, shortenedToolNames } from '../../../src/protocols/openai/tool-names.ts';

function chat(messages: Message[], extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'sonnet', system: [], messages, stream: false, ...extra };
}

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });

function messagesOf(body: Record<string, unknown>): unknown[] {
  return body.messages as unknown[];
}

describe('OpenAI request encode: messages', () => {
  test('encodes a minimal request with the upstream model name', () => {
    assert.deepEqual(encodeOpenAIRequest(chat([user('Hi')]), 'gpt-4o'), {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hi' }],
    });
  });

  test('joins system parts into one leading system message', () => {
    const body = encodeOpenAIRequest(
      chat([user('Hi')], { system: [{ type: 'text', text: 'One.' }, { type: 'text', text: 'Two.', cacheControl: { type: 'ephemeral' } }] }),
      'm',
    );
    assert.deepEqual(messagesOf(body)[0], { role: 'system', content: 'One.\n\nTwo.' });
  });

  test('keeps system parts and their cache markers when the provider passes cache_control', () => {
    const body = encodeOpenAIRequest(
      chat([user('Hi')], { system: [{ type: 'text', text: 'One.' }, { type: 'text', text: 'Two.', cacheControl: { type: 'ephemeral', ttl: '1h' } }] }),
      'm',
      { cacheControl: true },
    );
    assert.deepEqual(messagesOf(body)[0], {
      role: 'system',
      content: [
        { type: 'text', text: 'One.' },
        { type: 'text', text: 'Two.', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ],
    });
  });

  test('puts cache markers on user text parts only with the cacheControl quirk', () => {
    const msg: Message = { role: 'user', content: [{ type: 'text', text: 'big', cacheControl: { type: 'ephemeral' } }] };
    assert.deepEqual(messagesOf(encodeOpenAIRequest(chat([msg]), 'm'))[0], { role: 'user', content: 'big' });
    assert.deepEqual(messagesOf(encodeOpenAIRequest(chat([msg]), 'm', { cacheControl: true }))[0], {
      role: 'user',
      content: [{ type: 'text', text: 'big', cache_control: { type: 'ephemeral' } }],
    });
  });

  test('keeps mid-conversation system messages in place', () => {
    const body = encodeOpenAIRequest(
      chat([user('a'), { role: 'assistant', content: [{ type: 'text', text: 'b' }] }, { role: 'system', content: [{ type: 'text', text: 'c' }] }, user('d')]),
      'm',
    );
    assert.deepEqual(messagesOf(body), [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'system', content: 'c' },
      { role: 'user', content: 'd' },
    ]);
  });

  test('encodes images as image_url parts, base64 as a data URL, with detail', () => {
    const body = encodeOpenAIRequest(
      chat([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'iVBOR' }, detail: 'high' },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
          ],
        },
      ]),
      'm',
    );
    assert.deepEqual(messagesOf(body)[0], {
      role: 'user',
      content: [
        { type: 'text', text: 'Compare' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR', detail: 'high' } },
        { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
      ],
    });
  });

  test('encodes assistant tool calls with null content and JSON-string arguments', () => {
    const body = encodeOpenAIRequest(
      chat([user('a'), { role: 'assistant', content: [{ type: 'tool_call', id: 'toolu_1', name: 'f', input: { x: [1, 'two'] } }] }]),
      'm',
    );
    assert.deepEqual(messagesOf(body)[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{"x":[1,"two"]}' } }],
    });
  });

  test('places tool results as tool messages right after the assistant, then images and user text in one user message', () => {
    const body = encodeOpenAIRequest(
      chat([
        user('Screenshot both'),
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Taking them.' },
            { type: 'tool_call', id: 't1', name: 'shot', input: {} },
            { type: 'tool_call', id: 't2', name: 'shot', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              toolCallId: 't1',
              content: [
                { type: 'text', text: 'first' },
                { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'AAA' } },
              ],
            },
            { type: 'tool_result', toolCallId: 't2', content: [{ type: 'text', text: 'second' }], isError: true },
            { type: 'text', text: 'What changed?' },
          ],
        },
      ]),
      'm',
    );
    assert.deepEqual(messagesOf(body).slice(1), [
      {
        role: 'assistant',
        content: 'Taking them.',
        tool_calls: [
          { id: 't1', type: 'function', function: { name: 'shot', arguments: '{}' } },
          { id: 't2', type: 'function', function: { name: 'shot', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 't1', content: 'first' },
      { role: 'tool', tool_call_id: 't2', content: 'second' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } },
          { type: 'text', text: 'What changed?' },
        ],
      },
    ]);
  });

  test('writes no user message after tool results that carry only text', () => {
    const body = encodeOpenAIRequest(
      chat([
        user('a'),
        { role: 'assistant', content: [{ type: 'tool_call', id: 't', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', toolCallId: 't', content: [] }] },
      ]),
      'm',
    );
    assert.deepEqual(messagesOf(body).slice(2), [{ role: 'tool', tool_call_id: 't', content: '' }]);
  });

  const thinkingTurn: Message = {
    role: 'assistant',
    content: [
      { type: 'thinking', text: 'Need data.', signature: 'sig==' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'tool_call', id: 't', name: 'f', input: {} },
    ],
  };

  test('drops thinking from assistant messages by default', () => {
    assert.deepEqual(messagesOf(encodeOpenAIRequest(chat([user('a'), thinkingTurn]), 'm'))[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
    });
  });

  test('sends reasoning text back in the provider field when asked (DeepSeek)', () => {
    const turn: Message = { role: 'assistant', content: [{ type: 'thinking', text: 'Plan.' }, { type: 'text', text: 'Done.' }] };
    assert.deepEqual(messagesOf(encodeOpenAIRequest(chat([user('a'), turn]), 'm', openAIPresets.deepseek.quirks))[1], {
      role: 'assistant',
      content: 'Done.',
      reasoning_content: 'Plan.',
    });
  });

  test('sends signed and redacted thinking back as reasoning_details (OpenRouter to Claude)', () => {
    assert.deepEqual(messagesOf(encodeOpenAIRequest(chat([user('a'), thinkingTurn]), 'm', openAIPresets.openrouter.quirks))[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
      reasoning: 'Need data.',
      reasoning_details: [
        { type: 'reasoning.text', text: 'Need data.', signature: 'sig==', format: 'anthropic-claude-v1', index: 0 },
        { type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 1 },
      ],
    });
  });

  test('concatenates assistant text parts without a separator, as one answer', () => {
    const turn: Message = { role: 'assistant', content: [{ type: 'text', text: 'Paris is ' }, { type: 'text', text: 'the capital.' }] };
    assert.deepEqual(messagesOf(encodeOpenAIRequest(chat([user('a'), turn]), 'm'))[1], { role: 'assistant', content: 'Paris is the capital.' });
  });

  test('gives an assistant message with nothing to say an empty string, not null', () => {
    const body = encodeOpenAIRequest(chat([user('a'), { role: 'assistant', content: [{ type: 'thinking', text: 'x' }] }]), 'm');
    assert.deepEqual(messagesOf(body)[1], { role: 'assistant', content: '' });
  });
});

describe('OpenAI request encode: parameters and quirks', () => {
  const full = chat([user('Hi')], {
    maxTokens: 256,
    temperature: 0.5,
    topP: 0.8,
    topK: 20,
    stopSequences: ['END'],
    stream: true,
    user: 'u-1',
    tools: [
      { kind: 'function', name: 'f', description: 'F', inputSchema: { type: 'object', properties: {} }, strict: true },
      { kind: 'server', type: 'web_search_20250305', name: 'web_search', raw: { type: 'web_search_20250305', name: 'web_search' } },
    ],
    toolChoice: { type: 'any' },
    parallelToolCalls: false,
    reasoning: { mode: 'enabled', budgetTokens: 8000 },
  });

  test('encodes parameters for a generic provider', () => {
    const { messages: _messages, ...body } = encodeOpenAIRequest(full, 'm');
    assert.deepEqual(body, {
      model: 'm',
      max_tokens: 256,
      temperature: 0.5,
      top_p: 0.8,
      stop: ['END'],
      stream: true,
      stream_options: { include_usage: true },
      tools: [{ type: 'function', function: { name: 'f', description: 'F', parameters: { type: 'object', properties: {} }, strict: true } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      user: 'u-1',
    });
  });

  test('follows the quirks: max_completion_tokens, top_k, reasoning_effort, no stream_options', () => {
    const quirks: Partial<OpenAIQuirks> = { maxTokensField: 'max_completion_tokens', topK: true, reasoningEffort: true, streamUsage: false };
    const body = encodeOpenAIRequest(full, 'm', quirks);
    assert.equal(body.max_completion_tokens, 256);
    assert.equal('max_tokens' in body, false);
    assert.equal(body.top_k, 20);
    assert.equal(body.reasoning_effort, 'medium');
    assert.equal('stream_options' in body, false);
  });

  test('ignores quirk overrides that are explicitly undefined', () => {
    const body = encodeOpenAIRequest(full, 'm', { maxTokensField: undefined });
    assert.equal(body.max_tokens, 256);
  });

  test('maps tool choices, forcing a named function tool', () => {
    const choice = (toolChoice: ChatRequest['toolChoice']) => encodeOpenAIRequest({ ...full, toolChoice }, 'm').tool_choice;
    assert.equal(choice({ type: 'auto' }), 'auto');
    assert.equal(choice({ type: 'none' }), 'none');
    assert.deepEqual(choice({ type: 'tool', name: 'f' }), { type: 'function', function: { name: 'f' } });
    // A server tool is not sent, so forcing it can't be expressed.
    assert.equal(choice({ type: 'tool', name: 'web_search' }), undefined);
  });

  test('sends neither tool_choice nor parallel_tool_calls when no function tool remains', () => {
    const body = encodeOpenAIRequest({ ...full, tools: full.tools?.filter((t) => t.kind === 'server') }, 'm');
    assert.equal('tools' in body, false);
    assert.equal('tool_choice' in body, false);
    assert.equal('parallel_tool_calls' in body, false);
  });

  test('maps reasoning budgets and modes to an effort level', () => {
    const effort = (reasoning: Reasoning) => encodeOpenAIRequest({ ...full, reasoning }, 'm', { reasoningEffort: true }).reasoning_effort;
    assert.equal(effort({ mode: 'enabled', budgetTokens: 1024 }), 'low');
    assert.equal(effort({ mode: 'enabled', budgetTokens: 4096 }), 'medium');
    assert.equal(effort({ mode: 'enabled', budgetTokens: 16383 }), 'medium');
    assert.equal(effort({ mode: 'enabled', budgetTokens: 16384 }), 'high');
    assert.equal(effort({ mode: 'adaptive' }), 'medium');
    assert.equal(effort({ mode: 'adaptive', effort: 'low' }), 'low');
    assert.equal(effort({ mode: 'enabled', effort: 'minimal' }), 'minimal');
    assert.equal(effort({ mode: 'enabled', effort: 'max' }), 'high');
    assert.equal(effort({ mode: 'disabled' }), undefined);
    // Anthropic's output_config.effort without thinking.
    assert.equal(effort({ mode: 'disabled', effort: 'low' }), 'low');
  });

  test('omits a non-streaming request’s stream flag', () => {
    const body = encodeOpenAIRequest({ ...full, stream: false }, 'm');
    assert.equal('stream' in body, false);
    assert.equal('stream_options' in body, false);
  });
});

describe('OpenAI quirk presets', () => {
  test('declares every preset with complete, frozen quirks', () => {
    const keys = Object.keys(defaultOpenAIQuirks).sort();
    for (const [name, preset] of Object.entries(openAIPresets)) {
      assert.deepEqual(Object.keys(preset.quirks).sort(), keys, name);
      assert.ok(Object.isFrozen(preset.quirks), name);
      if (preset.baseUrl !== undefined) assert.doesNotThrow(() => new URL(preset.baseUrl as string), name);
    }
    assert.deepEqual(
      Object.keys(openAIPresets).sort(),
      ['deepseek', 'generic', 'groq', 'lmstudio', 'ollama', 'openai', 'openrouter', 'together', 'vllm'],
    );
  });

  test('uses max_completion_tokens and reasoning_effort for OpenAI itself', () => {
    const body = encodeOpenAIRequest(chat([user('a')], { maxTokens: 10, reasoning: { mode: 'enabled', effort: 'high' } }), 'o3', openAIPresets.openai.quirks);
    assert.equal(body.max_completion_tokens, 10);
    assert.equal(body.reasoning_effort, 'high');
  });
});

describe('OpenAI request encode: tool names over 64 characters', () => {
  const long = `mcp__${'knowledge-base'.repeat(5)}__search`;
  const longer = `${long}_v2`;

  test('shortens them the same way every time, to 64 characters, keeping names apart', () => {
    assert.equal(openAIToolName('get_weather'), 'get_weather');
    const a = openAIToolName(long);
    assert.equal(a.length, 64);
    assert.match(a, /^[a-zA-Z0-9_-]+$/);
    assert.equal(openAIToolName(long), a);
    assert.notEqual(openAIToolName(longer), a);
  });

  test('uses the short name in tools, tool_choice and earlier calls, and maps answers back', () => {
    const req: ChatRequest = chat(
      [
        { role: 'user', content: [{ type: 'text', text: 'go' }] },
        { role: 'assistant', content: [{ type: 'tool_call', id: 'call_1', name: long, input: { q: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', toolCallId: 'call_1', content: [{ type: 'text', text: 'ok' }] }] },
      ],
      { tools: [{ kind: 'function', name: long, inputSchema: { type: 'object' } }], toolChoice: { type: 'tool', name: long } },
    );
    const body = encodeOpenAIRequest(req, 'gpt') as { tools: Array<{ function: { name: string } }>; tool_choice: { function: { name: string } }; messages: Array<{ tool_calls?: Array<{ function: { name: string } }> }> };
    const short = openAIToolName(long);
    assert.equal(body.tools[0]?.function.name, short);
    assert.equal(body.tool_choice.function.name, short);
    assert.equal(body.messages[1]?.tool_calls?.[0]?.function.name, short);
    const names = shortenedToolNames(req);
    const answer = restoreToolNames({ id: 'r', model: 'gpt', content: [{ type: 'tool_call', id: 'c', name: short, input: {} }], stopReason: 'tool_use', usage: { inputTokens: 1, outputTokens: 1 } }, names);
    assert.deepEqual(answer.content, [{ type: 'tool_call', id: 'c', name: long, input: {} }]);
    assert.equal(shortenedToolNames({ ...req, tools: [{ kind: 'function', name: 'short', inputSchema: {} }] }), undefined);
  });
});
