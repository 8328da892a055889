/**
 * The chat requests in flight, so that a shutdown past its deadline can end
 * them well-formed (`interruptOpenRequests` in gateway.ts).
 *
 * A linked list rather than a Set, for the garbage collector's sake. Every
 * request enters and leaves, so a long-lived Set outgrows and replaces its
 * hash table every few dozen requests, in the old generation where the Set
 * lives. A replaced table is garbage only a full GC recognises: until then,
 * the requests it still lists survive every young-generation GC and are
 * promoted, whole (parsed body, request and response objects). Measured
 * under load (openai-json passthrough, 32 connections): young-generation GC
 * fell from 10.5 to 3.6 µs per request with the Set gone
 * (docs/performance.md). Here a request leaving drops its entry's links and
 * value, so nothing old points at a finished request. The mock provider keeps
 * its open exchanges the same way.
 */
export interface OpenEntry<T> {
  value: T | undefined;
  prev: OpenEntry<T> | undefined;
  next: OpenEntry<T> | undefined;
}

export class OpenRequests<T> {
  #head: OpenEntry<T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds `value` (never undefined: an entry without a value counts as removed); `remove` takes the entry returned. */
  add(value: T): OpenEntry<T> {
    const entry: OpenEntry<T> = { value, prev: undefined, next: this.#head };
    if (this.#head !== undefined) this.#head.prev = entry;
    this.#head = entry;
    this.#size++;
    return entry;
  }

  /** Removes an entry `add` returned; a second removal does nothing. */
  remove(entry: OpenEntry<T>): void {
    if (entry.value === undefined) return;
    const { prev, next } = entry;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next !== undefined) next.prev = prev;
    entry.value = undefined;
    entry.prev = undefined;
    entry.next = undefined;
    this.#size--;
  }

  /** The values in the list now, newest first. */
  values(): T[] {
    const out: T[] = [];
    for (let entry = this.#head; entry !== undefined; entry = entry.next) out.push(entry.value as T);
    return out;
  }
}
