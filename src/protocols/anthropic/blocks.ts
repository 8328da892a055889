/**
 * Anthropic content blocks <-> internal parts, shared by requests and responses
 * (https://docs.anthropic.com/en/api/messages, "content").
 *
 * Block types with no internal equivalent (documents but text ones, search_result,
 * server_tool_use, web_search_tool_result, container_upload, …) are dropped on
 * purpose: this codec only runs when translating to another protocol, which
 * could not carry them anyway. Same-protocol traffic never reaches it.
 */
import type { ErrorCode } from '../../errors.ts';
import type { ImagePart, ImageSource, Part, TextPart } from '../../model/types.ts';
import { at, decodeCacheControl, encodeCacheControl, fail, isObject, optBoolean, optString, reqString } from './shape.ts';
import type { JsonObject } from './shape.ts';

/** Decodes `content` (a string or an array of blocks) of a message. */
export function decodeContent(code: ErrorCode, content: unknown, path: string): Part[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) fail(code, path, 'must be a string or an array of content blocks');
  const parts: Part[] = [];
  for (let i = 0; i < content.length; i++) {
    const part = decodeBlock(code, content[i], `${path}.${i}`);
    if (part !== undefined) parts.push(part);
  }
  return parts;
}

/** One block, or undefined when its type is deliberately dropped. */
export function decodeBlock(code: ErrorCode, block: unknown, path: string): Part | undefined {
  if (!isObject(block)) fail(code, path, 'must be an object');
  const type = block.type;
  if (typeof type !== 'string') fail(code, at(path, 'type'), 'must be a string');
  switch (type) {
    case 'text':
      return decodeText(code, block, path);
    case 'image':
      return decodeImage(code, block, path);
    case 'tool_use': {
      const input = block.input;
      if (!isObject(input)) fail(code, at(path, 'input'), 'must be an object');
      const cacheControl = decodeCacheControl(code, block, path);
      return {
        type: 'tool_call',
        id: reqString(code, block, 'id', path),
        name: reqString(code, block, 'name', path),
        input,
        ...(cacheControl && { cacheControl }),
      };
    }
    case 'tool_result': {
      const raw = block.content;
      const content = raw === undefined || raw === null ? [] : decodeToolResultContent(code, raw, at(path, 'content'));
      const isError = optBoolean(code, block, 'is_error', path);
      const cacheControl = decodeCacheControl(code, block, path);
      return {
        type: 'tool_result',
        toolCallId: reqString(code, block, 'tool_use_id', path),
        content,
        ...(isError !== undefined && { isError }),
        ...(cacheControl && { cacheControl }),
      };
    }
    case 'thinking': {
      const text = reqString(code, block, 'thinking', path);
      // An empty signature is no signature: it could never be verified upstream.
      const signature = optString(code, block, 'signature', path);
      return signature ? { type: 'thinking', text, signature } : { type: 'thinking', text };
    }
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: reqString(code, block, 'data', path) };
    case 'document':
      return documentText(block);
    default:
      return undefined;
  }
}

/**
 * A document whose source is text (plain text, or content blocks of text) reaches
 * another protocol as text, titled, so the model still reads it. Other sources
 * (a PDF, a file id, a URL) have no equivalent here and are dropped like other
 * unknown blocks.
 */
function documentText(block: JsonObject): TextPart | undefined {
  const source = block.source;
  if (!isObject(source)) return undefined;
  let body: string | undefined;
  if (source.type === 'text' && typeof source.data === 'string') body = source.data;
  else if (source.type === 'content') {
    const blocks = typeof source.content === 'string' ? [{ type: 'text', text: source.content }] : source.content;
    if (Array.isArray(blocks)) {
      const texts = blocks.filter((b): b is { text: string } => isObject(b) && b.type === 'text' && typeof b.text === 'string').map((b) => b.text);
      if (texts.length > 0) body = texts.join('\n\n');
    }
  }
  if (body === undefined || body.length === 0) return undefined;
  const title = typeof block.title === 'string' && block.title.length > 0 ? ` title=${JSON.stringify(block.title)}` : '';
  return { type: 'text', text: `<document${title}>\n${body}\n</document>` };
}

function decodeText(code: ErrorCode, block: JsonObject, path: string): TextPart {
  const text = reqString(code, block, 'text', path);
  const cacheControl = decodeCacheControl(code, block, path);
  return cacheControl ? { type: 'text', text, cacheControl } : { type: 'text', text };
}

function decodeImage(code: ErrorCode, block: JsonObject, path: string): ImagePart | undefined {
  const src = block.source;
  const srcPath = at(path, 'source');
  if (!isObject(src)) fail(code, srcPath, 'must be an object');
  let source: ImageSource;
  if (src.type === 'base64') {
    source = { type: 'base64', mediaType: reqString(code, src, 'media_type', srcPath), data: reqString(code, src, 'data', srcPath) };
  } else if (src.type === 'url') {
    source = { type: 'url', url: reqString(code, src, 'url', srcPath) };
  } else {
    // `file` sources point into Anthropic's Files API: no other provider can read them.
    return undefined;
  }
  const cacheControl = decodeCacheControl(code, block, path);
  return cacheControl ? { type: 'image', source, cacheControl } : { type: 'image', source };
}

/** A tool result's content: a string, or text and image blocks (others dropped). */
function decodeToolResultContent(code: ErrorCode, content: unknown, path: string): Array<TextPart | ImagePart> {
  if (typeof content === 'string') return content.length === 0 ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) fail(code, path, 'must be a string or an array of content blocks');
  const parts: Array<TextPart | ImagePart> = [];
  for (let i = 0; i < content.length; i++) {
    const block: unknown = content[i];
    const blockPath = `${path}.${i}`;
    if (!isObject(block)) fail(code, blockPath, 'must be an object');
    if (block.type === 'text') parts.push(decodeText(code, block, blockPath));
    else if (block.type === 'image') {
      const image = decodeImage(code, block, blockPath);
      if (image !== undefined) parts.push(image);
    } else if (block.type === 'document') {
      const text = documentText(block);
      if (text !== undefined) parts.push(text);
    } else if (typeof block.type !== 'string') fail(code, at(blockPath, 'type'), 'must be a string');
  }
  return parts;
}

export function encodeText(part: TextPart): JsonObject {
  return part.cacheControl
    ? { type: 'text', text: part.text, cache_control: encodeCacheControl(part.cacheControl) }
    : { type: 'text', text: part.text };
}

export function encodeImage(part: ImagePart): JsonObject {
  const s = part.source;
  const source = s.type === 'base64' ? { type: 'base64', media_type: s.mediaType, data: s.data } : { type: 'url', url: s.url };
  return part.cacheControl
    ? { type: 'image', source, cache_control: encodeCacheControl(part.cacheControl) }
    : { type: 'image', source };
}

/**
 * Encodes one part. `toolId` rewrites tool call ids (requests toward Anthropic
 * must match its id pattern); a thinking part without signature gets `''`
 * (responses always carry the field; request encoding drops such parts first).
 */
export function encodePart(part: Part, toolId: (id: string) => string = (id) => id): JsonObject {
  switch (part.type) {
    case 'text':
      return encodeText(part);
    case 'image':
      return encodeImage(part);
    case 'tool_call': {
      const out: JsonObject = { type: 'tool_use', id: toolId(part.id), name: part.name, input: part.input };
      if (part.cacheControl) out.cache_control = encodeCacheControl(part.cacheControl);
      return out;
    }
    case 'tool_result': {
      const out: JsonObject = { type: 'tool_result', tool_use_id: toolId(part.toolCallId) };
      // Empty text blocks are rejected by Anthropic; an absent `content` is fine.
      const content: JsonObject[] = [];
      for (const c of part.content) {
        if (c.type === 'image') content.push(encodeImage(c));
        else if (c.text.length > 0) content.push(encodeText(c));
      }
      if (content.length > 0) out.content = content;
      if (part.isError !== undefined) out.is_error = part.isError;
      if (part.cacheControl) out.cache_control = encodeCacheControl(part.cacheControl);
      return out;
    }
    case 'thinking':
      return { type: 'thinking', thinking: part.text, signature: part.signature ?? '' };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: part.data };
  }
}
