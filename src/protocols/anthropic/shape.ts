/**
 * Small readers for outside JSON. Each failure names the JSON path
 * (`messages.3.content.0.type`) so a client can find its mistake; the error
 * code says whose mistake it is (client request vs upstream response).
 */
import { GatewayError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';
import type { CacheControl } from '../../model/types.ts';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function fail(code: ErrorCode, path: string, problem: string): never {
  throw new GatewayError(code, `${path}: ${problem}`);
}

/** `path.key`, or just `key` at the top level. */
export function at(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

export function reqString(code: ErrorCode, obj: JsonObject, key: string, path: string): string {
  const value = obj[key];
  if (typeof value !== 'string') fail(code, at(path, key), 'must be a string');
  return value;
}

/** An optional string: absent and null both mean "not given". */
export function optString(code: ErrorCode, obj: JsonObject, key: string, path: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(code, at(path, key), 'must be a string');
  return value;
}

export function optBoolean(code: ErrorCode, obj: JsonObject, key: string, path: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') fail(code, at(path, key), 'must be a boolean');
  return value;
}

export function optNumber(code: ErrorCode, obj: JsonObject, key: string, path: string): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(code, at(path, key), 'must be a number');
  return value;
}

export function optPositiveInt(code: ErrorCode, obj: JsonObject, key: string, path: string): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(code, at(path, key), 'must be a positive integer');
  }
  return value;
}

/** A token count from an upstream: anything but a non-negative number reads as absent. */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && value >= 0 ? value : undefined;
}

export function decodeCacheControl(code: ErrorCode, obj: JsonObject, path: string): CacheControl | undefined {
  const value = obj.cache_control;
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || value.type !== 'ephemeral') {
    fail(code, at(path, 'cache_control'), 'must be {"type":"ephemeral"}');
  }
  const ttl = optString(code, value, 'ttl', at(path, 'cache_control'));
  return ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl };
}

export function encodeCacheControl(cc: CacheControl): JsonObject {
  return cc.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: cc.ttl };
}
