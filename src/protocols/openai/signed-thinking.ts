/**
 * The thinking text of each signature this process streamed to an OpenAI
 * client, so that a signature sent back alone gets the text it signed.
 *
 * Why: the OpenAI SDK's stream helper (`chat.completions.stream()`) keeps only
 * the last chunk's value of fields it does not know. Its final message carries
 * the last `reasoning_details` entry (the signature, no text) and the last
 * fragment of `reasoning_content`. An Anthropic upstream verifies a signature
 * against the whole text and refuses the request when they differ. Bounded by
 * size; a miss (another instance streamed it, or it was evicted) falls back to
 * `reasoning_content`.
 */
import { LRUCache } from 'lru-cache';

/** Characters of thinking text kept in all (~32 MB as UTF-16). */
const MAX_CHARS = 16 * 1024 * 1024;

const texts = new LRUCache<string, string>({
  maxSize: MAX_CHARS,
  maxEntrySize: MAX_CHARS / 8,
  sizeCalculation: (text, signature) => text.length + signature.length,
});

export function rememberSignedThinking(signature: string, text: string): void {
  if (signature.length > 0 && text.length > 0) texts.set(signature, text);
}

export function signedThinkingText(signature: string): string | undefined {
  return texts.get(signature);
}
