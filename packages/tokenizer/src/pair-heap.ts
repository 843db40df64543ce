/**
 * Max-heap of `(count, key)` entries for BPE training: the highest count first, and among equal
 * counts the smallest key (so training is deterministic). Entries are never updated in place;
 * the trainer pushes a fresh entry and skips stale ones when they surface.
 */
export class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  /** Number of entries. */
  get size(): number {
    return this.keys.length;
  }

  /** Count of the top entry (undefined when empty). */
  get topCount(): number | undefined {
    return this.counts[0];
  }

  /** Key of the top entry (undefined when empty). */
  get topKey(): number | undefined {
    return this.keys[0];
  }

  push(count: number, key: number): void {
    const counts = this.counts;
    const keys = this.keys;
    let i = keys.length;
    counts.push(count);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pc = counts[parent] as number;
      if (pc > count || (pc === count && (keys[parent] as number) < key)) break;
      counts[i] = pc;
      keys[i] = keys[parent] as number;
      i = parent;
    }
    counts[i] = count;
    keys[i] = key;
  }

  /** Removes the top entry. */
  pop(): void {
    const counts = this.counts;
    const keys = this.keys;
    const count = counts.pop() as number;
    const key = keys.pop() as number;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n) {
        const cc = counts[child] as number;
        const rc = counts[right] as number;
        if (rc > cc || (rc === cc && (keys[right] as number) < (keys[child] as number)))
          child = right;
      }
      const cc = counts[child] as number;
      if (cc < count || (cc === count && (keys[child] as number) > key)) break;
      counts[i] = cc;
      keys[i] = keys[child] as number;
      i = child;
    }
    counts[i] = count;
    keys[i] = key;
  }
}
