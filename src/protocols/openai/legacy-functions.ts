/**
 * OpenAI's legacy function calling (`functions`, `function_call`, assistant
 * `function_call` and `function`-role messages), rewritten as the `tools` API
 * it became, so one decoder reads both. Pure: the client's body is not touched.
 */
import { isRecord } from './shared.ts';

/**
 * The body in the tools API's terms, or the body itself when it uses none of
 * the legacy fields. `legacy` is true when the client offered `functions`: its
 * answer must then come back as `function_call`.
 */
export function modernizeLegacyFunctions(body: Record<string, unknown>): { body: Record<string, unknown>; legacy: boolean } {
  const functions = body.functions;
  const legacy = Array.isArray(functions) && body.tools === undefined;
  const messages = Array.isArray(body.messages) ? body.messages : undefined;
  const oldMessages = messages?.some((m) => isRecord(m) && (m.role === 'function' || (m.role === 'assistant' && isRecord(m.function_call)))) === true;
  if (!legacy && !oldMessages && body.function_call === undefined) return { body, legacy: false };

  const out: Record<string, unknown> = { ...body };
  delete out.functions;
  delete out.function_call;
  if (legacy) out.tools = (functions as unknown[]).map((fn) => ({ type: 'function', function: fn }));
  const choice = body.function_call;
  if (choice !== undefined && body.tool_choice === undefined) {
    out.tool_choice = choice === 'none' || choice === 'auto' ? choice : isRecord(choice) ? { type: 'function', function: { name: choice.name } } : choice;
  }
  if (messages !== undefined && oldMessages) out.messages = modernizeMessages(messages);
  return { body: out, legacy };
}

/** Gives each legacy call an id, and each `function` message the id of the last call of that name. */
function modernizeMessages(messages: unknown[]): unknown[] {
  const lastIdByName = new Map<string, string>();
  let lastId: string | undefined;
  return messages.map((m, i) => {
    if (!isRecord(m)) return m;
    if (m.role === 'assistant' && isRecord(m.function_call) && m.tool_calls === undefined) {
      const id = `call_legacy_${i}`;
      const name = typeof m.function_call.name === 'string' ? m.function_call.name : '';
      lastIdByName.set(name, id);
      lastId = id;
      const { function_call: call, ...rest } = m;
      return { ...rest, tool_calls: [{ id, type: 'function', function: call }] };
    }
    if (m.role === 'function') {
      const name = typeof m.name === 'string' ? m.name : '';
      const { name: _name, ...rest } = m;
      return { ...rest, role: 'tool', tool_call_id: lastIdByName.get(name) ?? lastId ?? `call_legacy_${i}` };
    }
    return m;
  });
}
