/** SSE parsing (src/protocols/sse.ts) of whole upstream streams, fed frame by frame as they arrive. */
import { SseParser } from '../../src/protocols/sse.ts';
import { textStream, type StreamBytes } from './fixtures.ts';
import type { MicroTask } from './task.ts';

function parseAll(stream: StreamBytes): number {
  const parser = new SseParser();
  let count = 0;
  for (const chunk of stream.chunks) count += parser.pushBytes(chunk).length;
  return count + parser.end().length;
}

function parseTask(stream: StreamBytes, name: string): MicroTask {
  return {
    id: `sse.${stream.protocol}-text`,
    title: `SseParser: ${name} stream, 100-token text answer (${stream.bytes} bytes, ${stream.chunks.length} writes)`,
    items: { unit: 'event', count: stream.events },
    run: () => parseAll(stream),
    verify: () => {
      if (parseAll(stream) !== stream.events) throw new Error(`sse.${stream.protocol}-text: parsed a different number of events`);
    },
  };
}

export function sseTasks(): MicroTask[] {
  return [parseTask(textStream('anthropic'), 'Anthropic'), parseTask(textStream('openai'), 'OpenAI')];
}
