/** Scalar request parameters of the Chat Completions API, validated with their field path. */
import type { Reasoning } from '../../model/types.ts';
import { invalidValue } from './shared.ts';

export function decodeStop(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return [raw];
  if (!Array.isArray(raw)) throw invalidValue('stop', 'must be a string or an array of strings', raw);
  for (let i = 0; i < raw.length; i++) {
    if (typeof raw[i] !== 'string') throw invalidValue(`stop[${i}]`, 'must be a string', raw[i]);
  }
  return raw.length > 0 ? (raw as string[]) : undefined;
}

const efforts: Record<string, Reasoning> = {
  none: { mode: 'disabled' },
  minimal: { mode: 'enabled', effort: 'minimal' },
  low: { mode: 'enabled', effort: 'low' },
  medium: { mode: 'enabled', effort: 'medium' },
  high: { mode: 'enabled', effort: 'high' },
  xhigh: { mode: 'enabled', effort: 'max' },
};

export function decodeReasoningEffort(raw: unknown): Reasoning | undefined {
  if (raw === undefined || raw === null) return undefined;
  const reasoning = typeof raw === 'string' && Object.hasOwn(efforts, raw) ? efforts[raw] : undefined;
  if (reasoning === undefined) {
    throw invalidValue('reasoning_effort', 'must be one of none, minimal, low, medium, high, xhigh', raw);
  }
  return { ...reasoning };
}

export function optionalNumber(obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidValue(key, 'must be a number', v);
  return v;
}

export function optionalCount(obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidValue(key, 'must be a non-negative integer', v);
  return v;
}

export function optionalBoolean(obj: Record<string, unknown>, key: string, prefix = ''): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidValue(`${prefix}${key}`, 'must be a boolean', v);
  return v;
}
