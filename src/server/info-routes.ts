/** `/v1/models` and `/v1/messages/count_tokens`. */
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayState } from '../pipeline/state.ts';
import { countTokens } from '../routing/tokens.ts';
import { decodeRequest } from '../translate/index.ts';
import { upstreamHeaders } from '../pipeline/upstream-call.ts';
import { UpstreamCall } from '../upstream/call.ts';
import type { UpstreamPools } from '../upstream/pools.ts';

/**
 * One list both SDKs can read: OpenAI's `{object:'list', data:[{id, object, created, owned_by}]}`
 * plus Anthropic's `type`, `display_name`, `created_at`, `has_more`, `first_id`, `last_id`.
 */
export function listModels(state: GatewayState): Record<string, unknown> {
  const names = new Set<string>(state.router.models());
  for (const provider of state.config.providers) {
    for (const model of provider.models ?? []) names.add(`${provider.name},${model}`);
  }
  const created = 1_700_000_000;
  const data = [...names].map((id) => ({
    id,
    object: 'model',
    type: 'model',
    created,
    created_at: new Date(created * 1000).toISOString(),
    owned_by: 'switchyard',
    display_name: id,
  }));
  return { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
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
): Promise<{ input_tokens: number }> {
  const req = decodeRequest('anthropic', body);
  const decision = await state.router.decide(req, typeof body.model === 'string' ? body.model : undefined);
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
        { method: 'POST', path: `${provider.chatPath}/count_tokens`, headers: forwarded, body: JSON.stringify({ ...body, model: first.model }) },
        call,
      );
      const { statusCode } = await call.head;
      const text = (await call.collect(64 * 1024)).toString('utf8');
      if (statusCode === 200) {
        const parsed = JSON.parse(text) as { input_tokens?: unknown };
        if (typeof parsed.input_tokens === 'number') return { input_tokens: parsed.input_tokens };
      }
    } catch {
      // Fall back to counting locally.
    }
  }
  return { input_tokens: countTokens(req) };
}
