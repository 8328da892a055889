/** `/v1/models` and `/v1/messages/count_tokens`. */
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayState } from '../pipeline/state.ts';
import type { RouteDecision } from '../routing/index.ts';
import { countTokens } from '../routing/tokens.ts';
import { decodeRequest } from '../translate/index.ts';
import { REQUESTED_MODEL } from '../config/index.ts';
import { upstreamHeaders } from '../pipeline/upstream-call.ts';
import { UpstreamCall } from '../upstream/call.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { withoutUnsignedThinking } from '../protocols/anthropic/unsigned-thinking.ts';

/**
 * One list both SDKs can read: OpenAI's `{object:'list', data:[{id, object, created, owned_by}]}`
 * plus Anthropic's `type`, `display_name`, `created_at`, `has_more`, `first_id`, `last_id`.
 */
export function listModels(state: GatewayState): Record<string, unknown> {
  const data = [...modelNames(state)].map(modelEntry);
  return { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** One model as `GET /v1/models/{id}` answers it (both SDKs' `models.retrieve`), or undefined when it is not listed. */
export function findModel(state: GatewayState, id: string): Record<string, unknown> | undefined {
  return modelNames(state).has(id) ? modelEntry(id) : undefined;
}

/** The public model names, and `provider,model` for each model a provider declares. */
function modelNames(state: GatewayState): Set<string> {
  const names = new Set<string>(state.router.models());
  for (const provider of state.config.providers) {
    for (const model of provider.models ?? []) names.add(`${provider.name},${model}`);
  }
  return names;
}

const CREATED = 1_700_000_000;

/** An entry both protocols read: OpenAI's `object`/`created`/`owned_by`, Anthropic's `type`/`created_at`/`display_name`. */
function modelEntry(id: string): { id: string } & Record<string, unknown> {
  return {
    id,
    object: 'model',
    type: 'model',
    created: CREATED,
    created_at: new Date(CREATED * 1000).toISOString(),
    owned_by: 'switchyard',
    display_name: id,
  };
}

/**
 * Counts input tokens. When the request routes to an Anthropic provider its own
 * count is the exact one, so it is asked; otherwise (or if it fails) the
 * gateway's tokenizer answers.
 */
export async function handleCountTokens(
  state: GatewayState,
  pools: UpstreamPools,
  body: Record<string, unknown>,
  headers: IncomingHttpHeaders,
  requestId: string,
  authorize?: (decision: RouteDecision) => void,
  query = '',
): Promise<{ input_tokens: number }> {
  const req = decodeRequest('anthropic', body);
  const decision = await state.router.decide(req, typeof body.model === 'string' ? body.model : undefined, requestId);
  // Same scopes as chat: a key may not count tokens on a model or route it may not use.
  authorize?.(decision);
  const first = decision.deployments[0];
  const provider = first === undefined ? undefined : state.providers.get(first.provider.name);
  if (provider !== undefined && first !== undefined && provider.protocol === 'anthropic') {
    try {
      const forwarded = upstreamHeaders(provider, requestId, headers);
      // A provider with a key pool has no key among its static headers.
      const keys = provider.keyPool;
      if (keys !== undefined) {
        const [name, value] = provider.authHeader(keys.key(keys.pick()));
        forwarded[name] = value;
      }
      const call = new UpstreamCall(AbortSignal.timeout(10_000));
      pools.get(provider.origin, provider.pool).dispatch(
        {
          method: 'POST',
          // As the chat path does: the client's query (Claude Code's `?beta=true`) and no thinking Anthropic would refuse.
          path: `${provider.chatPath}/count_tokens${query}`,
          headers: forwarded,
          body: JSON.stringify({ ...(withoutUnsignedThinking(body) ?? body), model: first.model === REQUESTED_MODEL ? body.model : first.model }),
        },
        call,
      );
      const { statusCode } = await call.head;
      const text = (await call.collect(64 * 1024)).toString('utf8');
      if (statusCode === 200) {
        // The upstream's answer as it is (betas add fields), once it holds the count.
        const parsed = JSON.parse(text) as { input_tokens?: unknown };
        if (typeof parsed.input_tokens === 'number') return parsed as { input_tokens: number };
      }
    } catch {
      // Fall back to counting locally.
    }
  }
  return { input_tokens: countTokens(req) };
}
