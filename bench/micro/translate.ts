/**
 * Translation between protocols (src/translate): whole streams event by
 * event in both directions — bytes in, client SSE text out, as the gateway
 * runs it, and the event codecs alone on already parsed messages — and
 * request bodies both ways.
 */
import type { ProtocolName } from '../../src/model/types.ts';
import { SseParser, type SseMessage } from '../../src/protocols/sse.ts';
import { createStreamDecoder, createStreamEncoder, createStreamTranslator, decodeRequest, encodeRequest } from '../../src/translate/index.ts';
import { agentRequest, agentRequestOpenAI, textStream, toolStream, type StreamBytes } from './fixtures.ts';
import type { MicroTask } from './task.ts';

const other = (p: ProtocolName): ProtocolName => (p === 'anthropic' ? 'openai' : 'anthropic');
const arrow = (p: ProtocolName): string => `${p}-to-${other(p)}`;

function translateBytes(stream: StreamBytes): string {
  const translator = createStreamTranslator(stream.protocol, other(stream.protocol), { includeUsage: true, model: 'sonnet' });
  let out = '';
  for (const chunk of stream.chunks) out += translator.pushBytes(chunk);
  return out + translator.end();
}

function parsed(stream: StreamBytes): SseMessage[] {
  const parser = new SseParser();
  const out: SseMessage[] = [];
  for (const chunk of stream.chunks) out.push(...parser.pushBytes(chunk));
  return [...out, ...parser.end()];
}

function translateEvents(protocol: ProtocolName, messages: readonly SseMessage[]): string {
  const decoder = createStreamDecoder(protocol);
  const encoder = createStreamEncoder(other(protocol), { includeUsage: true, model: 'sonnet' });
  let out = '';
  for (const msg of messages) for (const ev of decoder.push(msg)) out += encoder.push(ev);
  for (const ev of decoder.end()) out += encoder.push(ev);
  return out + encoder.end();
}

/** What a complete translated stream must contain, by target protocol and content. */
function checkOutput(id: string, target: ProtocolName, tools: boolean, out: string): void {
  const needles =
    target === 'openai'
      ? ['data: [DONE]', tools ? '"arguments":"' : '"content":"', '"finish_reason":"' + (tools ? 'tool_calls' : 'stop') + '"']
      : ['event: message_stop', tools ? '"input_json_delta"' : '"text_delta"', '"stop_reason":"' + (tools ? 'tool_use' : 'end_turn') + '"'];
  for (const needle of needles) if (!out.includes(needle)) throw new Error(`${id}: the translated stream lacks ${needle}`);
}

function streamTasks(stream: StreamBytes, kind: 'text' | 'tools'): MicroTask[] {
  const from = stream.protocol;
  const what = kind === 'text' ? '100-token text answer' : 'two parallel tool calls with argument deltas';
  const messages = parsed(stream);
  const bytesId = `stream.${arrow(from)}.${kind}`;
  const eventsId = `events.${arrow(from)}.${kind}`;
  return [
    {
      id: bytesId,
      title: `StreamTranslator ${from} → ${other(from)}: ${what}, bytes in, SSE text out`,
      items: { unit: 'event', count: stream.events },
      run: () => translateBytes(stream),
      verify: () => checkOutput(bytesId, other(from), kind === 'tools', translateBytes(stream)),
    },
    {
      id: eventsId,
      title: `stream decoder + encoder ${from} → ${other(from)}: ${what}, parsed events in`,
      items: { unit: 'event', count: messages.length },
      run: () => translateEvents(from, messages),
      verify: () => checkOutput(eventsId, other(from), kind === 'tools', translateEvents(from, messages)),
    },
  ];
}

export function translateTasks(): MicroTask[] {
  const anthropicBody = agentRequest();
  const openaiBody = agentRequestOpenAI();
  const size = (body: unknown): string => `${(JSON.stringify(body).length / 1024).toFixed(1)} KB`;
  const toOpenAI = (): Record<string, unknown> => encodeRequest('openai', decodeRequest('anthropic', anthropicBody), 'gpt-4o');
  const toAnthropic = (): Record<string, unknown> =>
    encodeRequest('anthropic', decodeRequest('openai', openaiBody), 'claude-sonnet-4-5', { defaultMaxTokens: 8192 });
  return [
    ...streamTasks(textStream('anthropic'), 'text'),
    ...streamTasks(toolStream('anthropic'), 'tools'),
    ...streamTasks(textStream('openai'), 'text'),
    ...streamTasks(toolStream('openai'), 'tools'),
    {
      id: 'request.anthropic-to-openai',
      title: `decode an Anthropic request (${size(anthropicBody)}, 2 tools, a tool round trip) + encode it for OpenAI`,
      run: toOpenAI,
      verify: () => {
        const out = toOpenAI() as { tools?: unknown[]; messages?: unknown[] };
        if (out.tools?.length !== 2 || (out.messages?.length ?? 0) < 6) throw new Error('request.anthropic-to-openai: unexpected translation');
      },
    },
    {
      id: 'request.openai-to-anthropic',
      title: `decode the same request in OpenAI form (${size(openaiBody)}) + encode it for Anthropic`,
      run: toAnthropic,
      verify: () => {
        const out = toAnthropic() as { tools?: unknown[]; system?: unknown };
        if (out.tools?.length !== 2 || out.system === undefined) throw new Error('request.openai-to-anthropic: unexpected translation');
      },
    },
  ];
}
