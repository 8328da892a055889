/**
 * fast-check generators of valid internal ChatRequests: realistic
 * conversations (user turn, assistant turn with optional thinking, text and
 * tool calls, then the tool results) plus request parameters.
 *
 * `rich` adds what only Anthropic can carry (cache markers, images and
 * is_error in tool results, redacted thinking, server tools, top_k, adaptive
 * or disabled thinking, explicit budgets); without it, the request holds only
 * what an OpenAI client can express.
 */
import fc from 'fast-check';
import type {
  CacheControl,
  ChatRequest,
  ImagePart,
  Message,
  Part,
  Reasoning,
  TextPart,
  Tool,
  ToolChoice,
} from '../../../src/model/types.ts';

// Character-set strings: fc.stringMatching is an order of magnitude slower.
const idChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');
const nameChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_0123456789');
const text = fc.string({ minLength: 1, maxLength: 40 });
const safeId = fc.string({ unit: idChars, minLength: 1, maxLength: 16 });
const toolName = fc.string({ unit: nameChars, minLength: 1, maxLength: 12 }).map((n) => `f_${n}`);
const jsonValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
);
const jsonObject = fc
  .dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 4 })
  .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);
const cacheControl: fc.Arbitrary<CacheControl> = fc.oneof(
  fc.constant({ type: 'ephemeral' as const }),
  fc.constant({ type: 'ephemeral' as const, ttl: '1h' }),
);

function withCache<T extends object>(arb: fc.Arbitrary<T>, rich: boolean): fc.Arbitrary<T> {
  if (!rich) return arb;
  return fc.tuple(arb, fc.option(cacheControl, { nil: undefined })).map(([p, cc]) => (cc ? { ...p, cacheControl: cc } : p));
}

function textPart(rich: boolean): fc.Arbitrary<TextPart> {
  return withCache(text.map((t) => ({ type: 'text' as const, text: t })), rich);
}

function imagePart(rich: boolean): fc.Arbitrary<ImagePart> {
  const source = fc.oneof(
    fc.record({
      type: fc.constant('base64' as const),
      mediaType: fc.constantFrom('image/png', 'image/jpeg', 'image/webp', 'image/gif'),
      data: fc.base64String({ minLength: 4, maxLength: 24 }),
    }),
    fc.record({ type: fc.constant('url' as const), url: safeId.map((id) => `https://img.example.com/${id}.png`) }),
  );
  return withCache(source.map((s) => ({ type: 'image' as const, source: s })), rich);
}

const signedThinking = fc.record({ type: fc.constant('thinking' as const), text, signature: fc.base64String({ minLength: 8, maxLength: 40 }) });

interface Shape {
  rich: boolean;
  /** Every assistant turn starts with signed thinking (needed when thinking is enabled). */
  thinkingFirst: boolean;
  /** The conversation ends with a user message (no prefill: needed when thinking is on). */
  endWithUser: boolean;
}

/** One exchange: a user turn (with the previous turn's tool results first), then an assistant turn. */
function conversation(shape: Shape): fc.Arbitrary<Message[]> {
  const { rich } = shape;
  const userExtras = fc.array(fc.oneof({ weight: 3, arbitrary: textPart(rich) }, { weight: 1, arbitrary: imagePart(rich) }), { minLength: 1, maxLength: 3 });
  const resultContent: fc.Arbitrary<Array<TextPart | ImagePart>> = rich
    ? fc.array(fc.oneof(textPart(true), imagePart(true)), { maxLength: 2 })
    : fc.array(textPart(false), { maxLength: 2 });
  const assistantTurn = fc.record({
    thinking: shape.thinkingFirst
      ? signedThinking.map((t) => [t] as Part[])
      : fc.option(rich ? fc.oneof(signedThinking, fc.record({ type: fc.constant('redacted_thinking' as const), data: fc.base64String({ minLength: 4, maxLength: 20 }) })) : signedThinking, { nil: undefined }).map((t) => (t ? [t] : [])),
    text: fc.option(textPart(rich), { nil: undefined }),
    calls: fc.array(fc.record({ suffix: safeId, name: toolName, input: jsonObject }), { maxLength: 3 }),
    results: fc.array(fc.record({ content: resultContent, isError: rich ? fc.option(fc.boolean(), { nil: undefined }) : fc.constant(undefined) }), { minLength: 3, maxLength: 3 }),
    followUp: fc.option(userExtras, { nil: undefined }),
  });
  const endWithUserArb = shape.endWithUser ? fc.constant(true) : fc.boolean();
  return fc.tuple(userExtras, fc.array(assistantTurn, { minLength: 0, maxLength: 3 }), endWithUserArb).map(([first, turns, endWithUser]) => {
    const messages: Message[] = [{ role: 'user', content: first }];
    turns.forEach((turn, t) => {
      const content: Part[] = [...turn.thinking];
      // A final assistant text is a prefill, whose trailing whitespace Anthropic rejects (the encoder trims it).
      if (turn.text) content.push(turn.text.text.trimEnd().length === 0 ? { ...turn.text, text: 'ok' } : { ...turn.text, text: turn.text.text.trimEnd() });
      const ids = turn.calls.map((c, k) => `call_${t}_${k}_${c.suffix}`);
      turn.calls.forEach((c, k) => content.push({ type: 'tool_call', id: ids[k]!, name: c.name, input: c.input }));
      if (content.length === 0) content.push({ type: 'text', text: 'ok' });
      messages.push({ role: 'assistant', content });
      // The user answers: tool results first (Anthropic's rule), then maybe words.
      const reply: Part[] = ids.map((id, k) => {
        const r = turn.results[k]!;
        return r.isError === undefined
          ? { type: 'tool_result' as const, toolCallId: id, content: r.content }
          : { type: 'tool_result' as const, toolCallId: id, content: r.content, isError: r.isError };
      });
      if (turn.followUp) reply.push(...turn.followUp);
      const last = t === turns.length - 1;
      if (!last && reply.length === 0) reply.push({ type: 'text', text: 'go on' });
      if (last && endWithUser && reply.length === 0) reply.push({ type: 'text', text: 'thanks' });
      if (reply.length > 0 && (!last || ids.length > 0 || endWithUser)) messages.push({ role: 'user', content: reply });
    });
    return messages;
  });
}

function tools(rich: boolean): fc.Arbitrary<Tool[]> {
  const fn = fc
    .record({ name: toolName, description: fc.option(text, { nil: undefined }), inputSchema: jsonObject })
    .map(({ name, description, inputSchema }): Tool => (description === undefined ? { kind: 'function', name, inputSchema } : { kind: 'function', name, description, inputSchema }));
  const fnRich = withCache(fn, rich);
  const server = fc.constantFrom<Tool>(
    { kind: 'server', type: 'web_search_20250305', name: 'web_search', raw: { type: 'web_search_20250305', name: 'web_search', max_uses: 5 } },
    { kind: 'server', type: 'bash_20250124', name: 'bash', raw: { type: 'bash_20250124', name: 'bash' } },
  );
  return fc.array(rich ? fc.oneof({ weight: 3, arbitrary: fnRich }, { weight: 1, arbitrary: server }) : fn, { minLength: 1, maxLength: 3 });
}

const effort = fc.constantFrom('low' as const, 'medium' as const, 'high' as const);

/**
 * Valid requests. With `rich`, reasoning uses Anthropic's own forms (budget,
 * adaptive, disabled, effort); without, only OpenAI's `reasoning_effort`
 * (mode enabled + low|medium|high).
 */
export function chatRequest(rich: boolean): fc.Arbitrary<ChatRequest> {
  const reasoning: fc.Arbitrary<Reasoning | undefined> = rich
    ? fc.option(
        fc.oneof(
          fc.record({ mode: fc.constant('enabled' as const), budgetTokens: fc.integer({ min: 1024, max: 30000 }) }),
          fc.record({ mode: fc.constant('adaptive' as const) }),
          fc.record({ mode: fc.constant('disabled' as const) }),
        ).chain((r) => fc.option(fc.constantFrom('low' as const, 'medium' as const, 'high' as const, 'max' as const), { nil: undefined }).map((e) => (e === undefined ? r : { ...r, effort: e }))),
        { nil: undefined },
      )
    : fc.option(effort.map((e): Reasoning => ({ mode: 'enabled', effort: e })), { nil: undefined });

  return reasoning.chain((r) => {
    const thinkingOn = r !== undefined && r.mode !== 'disabled';
    const enabled = r?.mode === 'enabled';
    return fc
      .record({
        model: safeId,
        system: fc.array(textPart(rich), { maxLength: 2 }),
        messages: conversation({ rich, thinkingFirst: enabled, endWithUser: thinkingOn }),
        // Room above any thinking budget, so max_tokens is never raised.
        maxTokens: enabled ? fc.integer({ min: 32001, max: 64000 }) : fc.integer({ min: 1, max: 64000 }),
        // One of temperature / top_p at most: Anthropic keeps only temperature when both come.
        sampling: thinkingOn
          ? fc.constant({})
          : fc.oneof(
              fc.constant({}),
              fc.record({ temperature: fc.double({ min: 0, max: 1, noNaN: true }) }),
              fc.record({ topP: fc.double({ min: 0, max: 1, noNaN: true }) }),
            ),
        topK: thinkingOn || !rich ? fc.constant(undefined) : fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
        // Anthropic rejects whitespace-only stop sequences: the encoder drops them.
        stopSequences: fc.option(fc.array(text.filter((stop) => stop.trim().length > 0), { minLength: 1, maxLength: 3 }), { nil: undefined }),
        stream: fc.boolean(),
        tools: fc.option(tools(rich), { nil: undefined }),
        user: fc.option(safeId, { nil: undefined }),
        choice: fc.constantFrom('none', 'auto', 'any', 'tool', 'absent'),
        parallel: fc.boolean(),
      })
      .map((g) => {
        const req: ChatRequest = { model: g.model, system: g.system, messages: g.messages, maxTokens: g.maxTokens, stream: g.stream };
        const sampling: { temperature?: number; topP?: number } = g.sampling;
        if (sampling.temperature !== undefined) req.temperature = sampling.temperature;
        if (sampling.topP !== undefined) req.topP = sampling.topP;
        if (g.topK !== undefined) req.topK = g.topK;
        if (g.stopSequences !== undefined) req.stopSequences = g.stopSequences;
        if (g.user !== undefined) req.user = g.user;
        if (r !== undefined) req.reasoning = r;
        if (g.tools !== undefined) {
          req.tools = g.tools;
          // Thinking cannot be combined with a forced tool.
          const forced = g.choice === 'any' || g.choice === 'tool';
          let choice: ToolChoice | undefined;
          if (forced && thinkingOn) choice = undefined;
          else if (g.choice === 'tool') choice = { type: 'tool', name: g.tools[0]!.name };
          else if (g.choice !== 'absent') choice = { type: g.choice } as ToolChoice;
          if (choice !== undefined) req.toolChoice = choice;
          // "No parallel calls" needs a choice to ride on, and none has nothing to restrict.
          if (g.parallel && choice !== undefined && choice.type !== 'none') req.parallelToolCalls = false;
        }
        return req;
      });
  });
}
