/**
 * Which tools the mock calls, and with what arguments: deterministic values
 * generated from each tool's JSON Schema, so tests can assert them exactly.
 */
import type { ToolCallMode } from './options.ts';
import type { MockRequest, MockTool } from './request.ts';

export interface PlannedToolCall {
  name: string;
  input: Record<string, unknown>;
}

/** Objects nested deeper than this get `{}`, so a huge or hostile schema cannot recurse without end. */
const maxDepth = 8;
const runCommand = /run:[ \t]*([^\r\n]+)/;

/**
 * The tool calls the mock makes instead of replying with text, or an empty
 * list when it replies with text; a string is the message of a 400 error.
 *
 * Order of precedence: `x-mock-parallel-tools`, `x-mock-tool`, a forced
 * `tool_choice`, the `run: <command>` → `Bash` demo rule, then (mode `first`)
 * the first tool, or (mode `on-request`, or `tool_choice` any/required) text.
 * Tools marked `defer_loading` are never called unasked: they are placeholders.
 */
export function planToolCalls(
  request: MockRequest,
  headerTool: string | undefined,
  parallel: number | undefined,
  mode: ToolCallMode = 'first',
): PlannedToolCall[] | string {
  if (request.tools.length === 0 || request.toolResult !== undefined || request.toolChoice.type === 'none') return [];
  // What the mock may call unasked; a tool asked for by name may be a placeholder too.
  const tools = request.tools.filter((tool) => !tool.deferred);
  if (parallel !== undefined) {
    return tools.slice(0, parallel).map((tool) => callFor(tool, request.lastUserText));
  }
  const wanted = headerTool ?? (request.toolChoice.type === 'tool' ? request.toolChoice.name : undefined);
  if (wanted !== undefined) {
    const tool = request.tools.find((candidate) => candidate.name === wanted);
    if (tool === undefined) return `tool "${wanted}" is not among the request's tools`;
    return [callFor(tool, request.lastUserText)];
  }
  if (runCommand.test(request.lastUserText)) {
    const bash = tools.find((candidate) => candidate.name === 'Bash');
    if (bash !== undefined) return [callFor(bash, request.lastUserText)];
  }
  const first = tools[0];
  if (first === undefined || (mode === 'on-request' && request.toolChoice.type !== 'any')) return [];
  return [callFor(first, request.lastUserText)];
}

function callFor(tool: MockTool, userText: string): PlannedToolCall {
  if (tool.name === 'Bash') {
    const command = runCommand.exec(userText)?.[1]?.trim();
    if (command !== undefined && command !== '') {
      return { name: tool.name, input: { command, description: `Run ${command}` } };
    }
  }
  const input = argsFromSchema(tool.schema, 0);
  return { name: tool.name, input: isObject(input) ? input : {} };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A value that satisfies the simple parts of a JSON Schema: required
 * properties only; strings "mock", numbers 1, booleans true, arrays [],
 * enums and consts their first value, objects recursively.
 */
export function argsFromSchema(schema: unknown, depth: number): unknown {
  if (depth > maxDepth) return null;
  if (!isObject(schema)) return 'mock';
  if ('const' in schema) return schema['const'];
  const choices = schema['enum'];
  if (Array.isArray(choices) && choices.length > 0) return choices[0];
  const variants = schema['anyOf'] ?? schema['oneOf'] ?? schema['allOf'];
  if (Array.isArray(variants) && variants.length > 0 && schema['type'] === undefined) {
    return argsFromSchema(variants[0], depth + 1);
  }
  let type = schema['type'];
  if (Array.isArray(type)) type = type.find((item) => item !== 'null') ?? type[0];
  if (type === undefined && isObject(schema['properties'])) type = 'object';
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth >= maxDepth) return out;
      const properties = isObject(schema['properties']) ? schema['properties'] : {};
      const required = schema['required'];
      if (!Array.isArray(required)) return out;
      for (const name of required) {
        if (typeof name === 'string') out[name] = argsFromSchema(properties[name], depth + 1);
      }
      return out;
    }
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'null':
      return null;
    default:
      return 'mock';
  }
}
