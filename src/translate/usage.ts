import type { Usage } from '../model/types.ts';

/**
 * Copies the counts present in `update` onto `target`. Stream counts are
 * cumulative in both protocols (Anthropic's message_delta, OpenAI's final
 * usage chunk), so the latest value wins; nothing is summed.
 */
export function observeUsage(target: Usage, update: Partial<Usage> | undefined): void {
  if (update === undefined) return;
  if (update.inputTokens !== undefined) target.inputTokens = update.inputTokens;
  if (update.outputTokens !== undefined) target.outputTokens = update.outputTokens;
  if (update.cacheReadTokens !== undefined) target.cacheReadTokens = update.cacheReadTokens;
  if (update.cacheWriteTokens !== undefined) target.cacheWriteTokens = update.cacheWriteTokens;
  if (update.reasoningTokens !== undefined) target.reasoningTokens = update.reasoningTokens;
}
