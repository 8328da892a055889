/** OpenAI `tools` and `tool_choice`, both directions. */
import type { FunctionTool, Tool, ToolChoice } from '../../model/types.ts';
import { invalidValue, isRecord } from './shared.ts';
import { openAIToolName } from './tool-names.ts';

/** OpenAI allows `parameters` to be omitted: a tool without arguments. */
const emptySchema = (): Record<string, unknown> => ({ type: 'object', properties: {} });

export function decodeOpenAITools(raw: unknown): Tool[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw invalidValue('tools', 'must be an array', raw);
  const out: Tool[] = [];
  for (let i = 0; i < raw.length; i++) {
    const path = `tools[${i}]`;
    const tool: unknown = raw[i];
    if (!isRecord(tool)) throw invalidValue(path, 'must be an object', tool);
    // A tool the model can't be offered would silently change behaviour, so
    // other kinds (`custom`, hosted tools) are rejected rather than dropped.
    if (tool.type !== 'function') throw invalidValue(`${path}.type`, 'only "function" tools are supported', tool.type);
    const fn = tool.function;
    if (!isRecord(fn)) throw invalidValue(`${path}.function`, 'must be an object', fn);
    if (typeof fn.name !== 'string' || fn.name.length === 0) {
      throw invalidValue(`${path}.function.name`, 'must be a non-empty string', fn.name);
    }
    const out1: FunctionTool = { kind: 'function', name: fn.name, inputSchema: emptySchema() };
    if (fn.parameters !== undefined && fn.parameters !== null) {
      if (!isRecord(fn.parameters)) throw invalidValue(`${path}.function.parameters`, 'must be a JSON Schema object', fn.parameters);
      out1.inputSchema = fn.parameters;
    }
    if (fn.description !== undefined && fn.description !== null) {
      if (typeof fn.description !== 'string') {
        throw invalidValue(`${path}.function.description`, 'must be a string', fn.description);
      }
      out1.description = fn.description;
    }
    if (fn.strict !== undefined && fn.strict !== null) {
      if (typeof fn.strict !== 'boolean') throw invalidValue(`${path}.function.strict`, 'must be a boolean', fn.strict);
      out1.strict = fn.strict;
    }
    out.push(out1);
  }
  return out.length > 0 ? out : undefined;
}

export function decodeOpenAIToolChoice(raw: unknown): ToolChoice | undefined {
  switch (raw) {
    case undefined:
    case null:
      return undefined;
    case 'auto':
      return { type: 'auto' };
    case 'none':
      return { type: 'none' };
    case 'required':
      return { type: 'any' };
  }
  if (isRecord(raw) && raw.type === 'function') {
    const name = isRecord(raw.function) ? raw.function.name : undefined;
    if (typeof name !== 'string' || name.length === 0) {
      throw invalidValue('tool_choice.function.name', 'must be a non-empty string', name);
    }
    return { type: 'tool', name };
  }
  throw invalidValue('tool_choice', 'must be "auto", "none", "required" or {type:"function", function:{name}}', raw);
}

/**
 * Function tools only: provider-hosted (server) tools exist on one vendor
 * and mean nothing to an OpenAI-compatible upstream.
 */
export function encodeOpenAITools(tools: readonly Tool[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const tool of tools) {
    if (tool.kind !== 'function') continue;
    const fn: Record<string, unknown> = { name: openAIToolName(tool.name) };
    if (tool.description !== undefined) fn.description = tool.description;
    fn.parameters = tool.inputSchema;
    if (tool.strict !== undefined) fn.strict = tool.strict;
    out.push({ type: 'function', function: fn });
  }
  return out;
}

/** undefined when the choice can't be expressed against the tools actually sent. */
export function encodeOpenAIToolChoice(
  choice: ToolChoice,
  sent: ReadonlyArray<Record<string, unknown>>,
): string | Record<string, unknown> | undefined {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'none':
      return 'none';
    case 'any':
      return 'required';
    case 'tool': {
      // Forcing a dropped server tool would be a 400 upstream.
      const name = openAIToolName(choice.name);
      const known = sent.some((t) => (t.function as { name: string }).name === name);
      return known ? { type: 'function', function: { name } } : undefined;
    }
  }
}
