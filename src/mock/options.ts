/**
 * Mock provider options, their validation, and the per-request overrides that
 * `x-mock-*` headers apply on top of them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseFault } from './faults.ts';
import type { Fault, FaultSpec } from './faults.ts';

export interface MockOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Delay before the response headers, in ms. */
  latencyMs?: number;
  /** Extra delay before the first content chunk of a stream, in ms. */
  ttftMs?: number;
  /** Output pacing; 0 or undefined sends as fast as possible. */
  tokensPerSecond?: number;
  /** Words in a text reply (default 12). */
  outputTokens?: number;
  /** Content chunks a stream is split into (default one per word). */
  chunkCount?: number;
  /** Default fault for every generation request; the `x-mock-fault` header wins. */
  fault?: FaultSpec;
  /** When set, requests must carry this key (`x-api-key` or `Authorization: Bearer`). */
  requireApiKey?: string;
  /** Where `fixture:<name>` looks: `<dir>/<openai|anthropic>/<name>.sse`. Default: the repo's `test/fixtures`. */
  fixturesDir?: string;
  /** One line per finished request when set. */
  logger?: (line: string) => void;
  /**
   * When the mock calls a tool it was not asked to call: `first` (default) calls
   * the first tool of any request that has tools; `on-request` answers with text
   * unless a tool is asked for (`x-mock-tool`, `x-mock-parallel-tools`, a forced
   * `tool_choice`, the `run: <command>` rule). An agent such as Claude Code runs
   * what it is told to: the built-in example uses `on-request`.
   */
  toolCalls?: ToolCallMode;
}

export type ToolCallMode = 'first' | 'on-request';

/** The validated, defaulted options the server reads on every request. */
export interface ResolvedOptions {
  latencyMs: number;
  ttftMs: number;
  tokensPerSecond: number;
  outputTokens: number;
  chunkCount: number | undefined;
  fault: Fault;
  faultSpec: string;
  requireApiKey: string | undefined;
  fixturesDir: string;
  logger: ((line: string) => void) | undefined;
  toolCalls: ToolCallMode;
}

/** What one request runs with: options plus its `x-mock-*` headers. */
export interface RequestSettings {
  latencyMs: number;
  ttftMs: number;
  tokensPerSecond: number;
  outputTokens: number;
  chunkCount: number | undefined;
  fault: Fault;
  /** Counter key for `fail-first`: the spec text. */
  faultSpec: string;
  /** `x-mock-tool`: the tool to call. */
  tool: string | undefined;
  /** `x-mock-parallel-tools`: call the first N tools at once. */
  parallelTools: number | undefined;
  toolCalls: ToolCallMode;
}

export const defaultFixturesDir = fileURLToPath(new URL('../../test/fixtures', import.meta.url));
const defaultOutputTokens = 12;
/** Keeps a header from asking the mock to build a multi-megabyte reply. */
const maxOutputTokens = 100_000;

export function resolveOptions(options: MockOptions, base?: ResolvedOptions): ResolvedOptions {
  const faultSpec = 'fault' in options ? (options.fault ?? 'none') : (base?.faultSpec ?? 'none');
  return {
    latencyMs: checkNumber('latencyMs', options.latencyMs ?? base?.latencyMs ?? 0, 0),
    ttftMs: checkNumber('ttftMs', options.ttftMs ?? base?.ttftMs ?? 0, 0),
    tokensPerSecond: checkNumber('tokensPerSecond', options.tokensPerSecond ?? base?.tokensPerSecond ?? 0, 0),
    outputTokens: checkInteger('outputTokens', options.outputTokens ?? base?.outputTokens ?? defaultOutputTokens),
    chunkCount:
      'chunkCount' in options
        ? optionalInteger('chunkCount', options.chunkCount)
        : base === undefined
          ? undefined
          : base.chunkCount,
    fault: parseFault(faultSpec),
    faultSpec,
    requireApiKey: 'requireApiKey' in options ? options.requireApiKey : base?.requireApiKey,
    fixturesDir: options.fixturesDir ?? base?.fixturesDir ?? defaultFixturesDir,
    logger: 'logger' in options ? options.logger : base?.logger,
    toolCalls: checkToolCalls(options.toolCalls ?? base?.toolCalls ?? 'first'),
  };
}

function checkToolCalls(value: string): ToolCallMode {
  if (value !== 'first' && value !== 'on-request') throw new RangeError(`mock option toolCalls must be "first" or "on-request", got ${value}`);
  return value;
}

function checkNumber(name: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`mock option ${name} must be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

function checkInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > maxOutputTokens) {
    throw new RangeError(`mock option ${name} must be an integer from 1 to ${maxOutputTokens}, got ${String(value)}`);
  }
  return value;
}

function optionalInteger(name: string, value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : checkInteger(name, value);
}

/** Thrown for a malformed `x-mock-*` header; the server answers 400. */
export class MockHeaderError extends Error {
  override name = 'MockHeaderError';
}

/**
 * Applies `x-mock-*` headers. The common case (no such header) costs a few
 * property reads: nothing is parsed unless a header is present.
 */
export function requestSettings(options: ResolvedOptions, headers: IncomingHttpHeaders): RequestSettings {
  const faultHeader = headers['x-mock-fault'];
  let fault = options.fault;
  let faultSpec = options.faultSpec;
  if (typeof faultHeader === 'string') {
    try {
      fault = parseFault(faultHeader);
    } catch (error) {
      throw new MockHeaderError((error as Error).message);
    }
    faultSpec = faultHeader.trim();
  }
  const tool = headers['x-mock-tool'];
  return {
    latencyMs: headerNumber(headers, 'x-mock-latency-ms', options.latencyMs),
    ttftMs: headerNumber(headers, 'x-mock-ttft-ms', options.ttftMs),
    tokensPerSecond: headerNumber(headers, 'x-mock-tps', options.tokensPerSecond),
    outputTokens: headerInteger(headers, 'x-mock-tokens', options.outputTokens),
    chunkCount: headerInteger(headers, 'x-mock-chunks', options.chunkCount),
    fault,
    faultSpec,
    tool: typeof tool === 'string' && tool !== '' ? tool : undefined,
    parallelTools: headerInteger(headers, 'x-mock-parallel-tools', undefined),
    toolCalls: options.toolCalls,
  };
}

function headerNumber(headers: IncomingHttpHeaders, name: string, fallback: number): number {
  const raw = headers[name];
  if (typeof raw !== 'string') return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new MockHeaderError(`header ${name} must be a number >= 0`);
  }
  return value;
}

function headerInteger<T extends number | undefined>(headers: IncomingHttpHeaders, name: string, fallback: T): number | T {
  const raw = headers[name];
  if (typeof raw !== 'string') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > maxOutputTokens) {
    throw new MockHeaderError(`header ${name} must be an integer from 1 to ${maxOutputTokens}`);
  }
  return value;
}
