/**
 * The BPE merge loop: repeatedly joins the adjacent pair with the lowest-ranked merge rule (the
 * leftmost one among equal ranks) until no rule applies. This is the semantics of GPT-2's
 * `encoder.py` and of Hugging Face's BPE model.
 */
import { type MergeTable, NO_MERGE } from './merge-table.js';

/** Words at most this long use the quadratic loop, longer ones the heap-based one. */
export const SMALL_WORD_LIMIT = 48;

let rankScratch = new Int32Array(SMALL_WORD_LIMIT);

/**
 * Applies the merge rules of `table` to `symbols[0..length)` in place and returns the new length.
 */
export function applyMerges(symbols: Int32Array, length: number, table: MergeTable): number {
  if (length < 2) return length;
  return length <= SMALL_WORD_LIMIT
    ? mergeSmall(symbols, length, table)
    : mergeLarge(symbols, length, table);
}

/** O(n²) loop over an array of pair ranks: fastest for the short words of natural text. */
export function mergeSmall(symbols: Int32Array, length: number, table: MergeTable): number {
  if (rankScratch.length < length) rankScratch = new Int32Array(length);
  const ranks = rankScratch;
  let n = length;
  for (let i = 0; i < n - 1; i++)
    ranks[i] = table.rank(symbols[i] as number, symbols[i + 1] as number);
  while (n > 1) {
    let best = NO_MERGE;
    let at = -1;
    for (let i = 0; i < n - 1; i++) {
      const r = ranks[i] as number;
      if (r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    const merged = table.result(best);
    symbols[at] = merged;
    for (let i = at + 1; i < n - 1; i++) {
      symbols[i] = symbols[i + 1] as number;
      ranks[i] = ranks[i + 1] as number;
    }
    n--;
    if (at > 0) ranks[at - 1] = table.rank(symbols[at - 1] as number, merged);
    if (at < n - 1) ranks[at] = table.rank(merged, symbols[at + 1] as number);
  }
  return n;
}

/**
 * O(n log n) loop for long words: a doubly linked list of symbols and a binary min-heap of
 * candidate merges keyed by `rank * 2^32 + position`; stale heap entries are skipped.
 */
export function mergeLarge(symbols: Int32Array, length: number, table: MergeTable): number {
  const next = new Int32Array(length);
  const prev = new Int32Array(length);
  const alive = new Uint8Array(length).fill(1);
  for (let i = 0; i < length; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  next[length - 1] = -1;
  const heap = new MinHeap(length);
  const POS = 4294967296;
  for (let i = 0; i < length - 1; i++) {
    const r = table.rank(symbols[i] as number, symbols[i + 1] as number);
    if (r !== NO_MERGE) heap.push(r * POS + i);
  }
  while (heap.size > 0) {
    const key = heap.pop();
    const rank = Math.floor(key / POS);
    const i = key - rank * POS;
    if (alive[i] === 0) continue;
    const j = next[i] as number;
    if (j < 0 || table.rank(symbols[i] as number, symbols[j] as number) !== rank) continue;
    const merged = table.result(rank);
    symbols[i] = merged;
    alive[j] = 0;
    const k = next[j] as number;
    next[i] = k;
    if (k >= 0) {
      prev[k] = i;
      const r = table.rank(merged, symbols[k] as number);
      if (r !== NO_MERGE) heap.push(r * POS + i);
    }
    const p = prev[i] as number;
    if (p >= 0) {
      const r = table.rank(symbols[p] as number, merged);
      if (r !== NO_MERGE) heap.push(r * POS + p);
    }
  }
  let n = 0;
  for (let i = 0; i >= 0; i = next[i] as number) symbols[n++] = symbols[i] as number;
  return n;
}

/** Binary min-heap of non-negative safe integers. */
class MinHeap {
  size = 0;
  private items: Float64Array;

  constructor(capacity: number) {
    this.items = new Float64Array(Math.max(16, capacity));
  }

  push(value: number): void {
    if (this.size === this.items.length) {
      const grown = new Float64Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if (p <= value) break;
      items[i] = p;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0] as number;
    const last = items[--this.size] as number;
    let i = 0;
    const n = this.size;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (items[right] as number) < (items[child] as number)) child = right;
      if ((items[child] as number) >= last) break;
      items[i] = items[child] as number;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
