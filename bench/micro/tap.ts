/** The passthrough stream tap (src/pipeline/stream-tap.ts): per-chunk scan of a stream passed through untouched. */
import { PassthroughTap } from '../../src/pipeline/stream-tap.ts';
import { textStream, type StreamBytes } from './fixtures.ts';
import type { MicroTask } from './task.ts';

function tapAll(stream: StreamBytes): PassthroughTap {
  const tap = new PassthroughTap(stream.protocol);
  for (const chunk of stream.chunks) tap.push(chunk);
  tap.end();
  return tap;
}

function tapTask(stream: StreamBytes, name: string): MicroTask {
  const id = `tap.${stream.protocol}-text`;
  return {
    id,
    title: `PassthroughTap: ${name} stream, 100-token text answer (${stream.bytes} bytes, ${stream.chunks.length} writes)`,
    items: { unit: 'event', count: stream.events },
    run: () => tapAll(stream),
    verify: () => {
      const tap = tapAll(stream);
      if (!tap.finished || tap.errored || tap.usage.outputTokens !== 100) throw new Error(`${id}: the tap missed the end or the usage`);
    },
  };
}

export function tapTasks(): MicroTask[] {
  return [tapTask(textStream('anthropic'), 'Anthropic'), tapTask(textStream('openai'), 'OpenAI')];
}
