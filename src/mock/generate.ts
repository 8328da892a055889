/**
 * Answers one generation request (chat completions or messages) once it is
 * parsed and its fault decided: a normal reply, streamed or not, or the
 * misbehaviour the fault asks for.
 */
import type { ErrorKind } from '../model/types.ts';
import { kindForStatus } from '../errors.ts';
import type { Exchange } from './exchange.ts';
import { sseHeaders } from './exchange.ts';
import type { Fault, StreamFaultKind } from './faults.ts';
import type { FixtureStore } from './fixtures.ts';
import type { RequestSettings } from './options.ts';
import { StreamPlayer } from './player.ts';
import type { StreamEnding } from './player.ts';
import { buildReply } from './reply.ts';
import type { Reply } from './reply.ts';
import type { MockRequest } from './request.ts';
import type { Frame, StreamScript, WireEncoder } from './wire.ts';

export interface GenerateContext {
  ex: Exchange;
  wire: WireEncoder;
  request: MockRequest;
  settings: RequestSettings;
  fault: Fault;
  fixtures: FixtureStore;
}

/** Answers after the configured latency; `hang` never answers (the exchange is cleaned up on close). */
export function generate(ctx: GenerateContext): void {
  const { ex, wire, fault, settings } = ctx;
  if (fault.kind === 'hang') return;
  if (fault.kind === 'status' || fault.kind === 'rate_limit' || fault.kind === 'reset' || fault.kind === 'fixture') {
    ex.later(settings.latencyMs, () => transportFault(ctx));
    return;
  }
  const reply = buildReply(ctx.request, settings, ex.seq);
  if (typeof reply === 'string') {
    ex.sendError(wire, 400, 'invalid_request', reply);
    return;
  }
  const streamFault = fault.kind === 'none' || fault.kind === 'fail-first' ? undefined : fault.kind;
  // `json-for-stream`: a server that ignores `stream` and answers with the whole JSON body.
  if (ctx.request.stream && streamFault !== 'json-for-stream') {
    ex.later(settings.latencyMs, () => stream(ctx, reply, streamFault));
    return;
  }
  // A non-streaming answer arrives when the whole reply would have been generated.
  const { ttftMs, tokensPerSecond } = settings;
  const generation = ttftMs + (tokensPerSecond > 0 ? (reply.usage.outputTokens * 1000) / tokensPerSecond : 0);
  ex.later(settings.latencyMs + generation, () => whole(ctx, reply, streamFault));
}

function transportFault(ctx: GenerateContext): void {
  const { ex, wire, fault } = ctx;
  switch (fault.kind) {
    case 'status':
      ex.sendError(
        wire,
        fault.status,
        kindForStatus(fault.status),
        `mock fault: status ${fault.status}`,
        fault.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(fault.retryAfterSeconds) },
      );
      return;
    case 'rate_limit': {
      const seconds = fault.retryAfterSeconds;
      const headers: Record<string, string> = { 'retry-after': String(seconds) };
      if (wire.protocol === 'anthropic') {
        headers['anthropic-ratelimit-requests-reset'] = new Date(Date.now() + seconds * 1000).toISOString();
      } else {
        headers['x-ratelimit-reset-requests'] = `${seconds}s`;
      }
      ex.sendError(wire, 429, 'rate_limit', 'mock fault: rate limited', headers);
      return;
    }
    case 'reset':
      ex.destroy();
      return;
    case 'fixture': {
      const frames = ctx.fixtures.frames(wire.protocol, fault.name);
      if (frames === undefined) {
        ex.sendError(wire, 500, 'api_error', `mock fixture not found: ${ctx.fixtures.pathOf(wire.protocol, fault.name)}`);
        return;
      }
      play(ctx, frames, 0, 'end');
      return;
    }
    default:
      return;
  }
}

function stream(ctx: GenerateContext, reply: Reply, fault: StreamFaultKind | undefined): void {
  const { ex, wire } = ctx;
  if (fault === 'hang-after-headers') {
    ex.res.writeHead(200, ex.headers(sseHeaders));
    ex.res.flushHeaders();
    return;
  }
  const script = wire.script(reply, ctx.request.includeUsage);
  const { frames, contentStart } = script;
  const overloaded: ErrorKind = 'overloaded';
  switch (fault) {
    case undefined:
      play(ctx, frames, contentStart, 'end');
      return;
    case 'error-first':
      play(ctx, [{ data: wire.errorFrame(overloaded, 'mock fault: error-first'), tokens: 0 }], 0, 'end');
      return;
    case 'malformed-sse':
      play(ctx, [frames[0] as Frame, { data: wire.malformedFrame(reply), tokens: 0 }], 1, 'end');
      return;
    case 'error-mid-stream': {
      const partial = frames.slice(0, midStreamCut(script));
      partial.push({ data: wire.errorFrame(overloaded, 'mock fault: error-mid-stream'), tokens: 0 });
      play(ctx, partial, contentStart, 'end');
      return;
    }
    case 'drop-mid-stream':
      play(ctx, frames.slice(0, midStreamCut(script)), contentStart, 'destroy');
      return;
    case 'no-finish':
      play(ctx, [...frames.slice(0, script.tailStart), { data: wire.terminatorFrame, tokens: 0 }], contentStart, 'end');
      return;
    case 'truncate':
      play(ctx, frames.slice(0, script.tailStart), contentStart, 'end');
      return;
    case 'cut-before-content':
      play(ctx, frames.slice(0, contentStart), contentStart, 'end');
      return;
  }
}

/** Just after half of the content frames (at least one), so "some content" got through. */
function midStreamCut(script: StreamScript): number {
  const { frames, contentStart, tailStart } = script;
  let content = 0;
  for (let i = contentStart; i < tailStart; i++) if ((frames[i] as Frame).tokens > 0) content++;
  const wanted = Math.max(1, Math.floor(content / 2));
  let seen = 0;
  for (let i = contentStart; i < tailStart; i++) {
    if ((frames[i] as Frame).tokens > 0 && ++seen === wanted) return i + 1;
  }
  return Math.min(contentStart + 1, tailStart);
}

function play(ctx: GenerateContext, frames: Frame[], contentStart: number, ending: StreamEnding): void {
  const { ex, settings } = ctx;
  ex.res.writeHead(200, ex.headers(sseHeaders));
  if (contentStart === 0 || frames.length === 0) ex.res.flushHeaders();
  const player = new StreamPlayer(ex.res, frames, {
    contentStart,
    ttftMs: settings.ttftMs,
    tokensPerSecond: settings.tokensPerSecond,
    ending,
    onDestroy: () => {
      ex.selfDestroyed = true;
    },
  });
  ex.play(player);
}

/** The non-streaming answer, or its fault-shaped variant. */
function whole(ctx: GenerateContext, reply: Reply, fault: StreamFaultKind | undefined): void {
  const { ex, wire } = ctx;
  switch (fault) {
    case undefined:
    case 'json-for-stream':
      ex.sendJson(200, wire.body(reply, true));
      return;
    case 'no-finish':
    case 'truncate':
      ex.sendJson(200, wire.body(reply, false));
      return;
    case 'malformed-sse': {
      const body = wire.body(reply, true);
      ex.sendJson(200, body.slice(0, Math.floor(body.length / 2)));
      return;
    }
    case 'hang-after-headers':
      ex.res.writeHead(200, ex.headers({ 'content-type': 'application/json' }));
      ex.res.flushHeaders();
      return;
    case 'cut-before-content':
      ex.res.writeHead(200, ex.headers({ 'content-type': 'application/json', 'content-length': 0 }));
      ex.res.end();
      return;
    case 'drop-mid-stream': {
      const body = Buffer.from(wire.body(reply, true));
      const headers = ex.headers({ 'content-type': 'application/json', 'content-length': body.length });
      ex.res.writeHead(200, headers);
      ex.res.write(body.subarray(0, body.length >> 1));
      ex.selfDestroyed = true;
      ex.res.socket?.destroySoon();
      return;
    }
    case 'error-first':
    case 'error-mid-stream':
      // A non-streaming request has no stream to break: the error becomes the response.
      ex.sendError(wire, 500, 'api_error', `mock fault: ${fault}`);
      return;
  }
}
