/**
 * `${PORT}` interpolates to a string: numbers and booleans written through an
 * environment variable are accepted wherever a number or boolean is, when the
 * whole value is one. Every section builds its fields from these.
 */
import { z } from 'zod';

export function coerceNumber(value: unknown): unknown {
  return typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
}

export function coerceBoolean(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

export function int(min: number, max: number) {
  return z.preprocess(coerceNumber, z.int().min(min).max(max));
}

export function num(min: number, max: number) {
  return z.preprocess(coerceNumber, z.number().min(min).max(max));
}

export function bool() {
  return z.preprocess(coerceBoolean, z.boolean());
}
