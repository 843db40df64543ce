/**
 * BPE merge rules in an open-addressing hash table keyed by the pair of token ids, so that the
 * merge loop looks pairs up without allocating strings.
 *
 * NOTE: the hash is seeded at random per table. With a fixed hash function a hostile
 * `tokenizer.json` could choose token ids whose pairs all land in one probe sequence and make
 * loading quadratic (hash flooding); the seed makes the slots unpredictable. Results never
 * depend on the seed.
 */

/** Rank returned by {@link MergeTable.rank} for a pair that has no merge rule. */
export const NO_MERGE = 0x7fffffff;

/** An ordered list of merge rules: rule `r` joins `left` and `right` into `result`. */
export class MergeTable {
  /** Number of merge rules. */
  get size(): number {
    return this.count;
  }

  private count = 0;
  private probes = 0;
  private readonly mask: number;
  private readonly seed: number;
  // slot -> left id (-1 = empty), right id, rank
  private slotLeft: Int32Array;
  private slotRight: Int32Array;
  private slotRank: Int32Array;
  // rank -> ids
  private ruleLeft: Int32Array;
  private ruleRight: Int32Array;
  private ruleResult: Int32Array;

  /**
   * @param capacity - Maximum number of rules that will be added.
   * @param seed - Hash seed; random by default (set it only to reproduce a layout in tests).
   */
  constructor(capacity: number, seed = (Math.random() * 0x1_0000_0000) | 0) {
    this.seed = seed;
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.slotLeft = new Int32Array(slots).fill(-1);
    this.slotRight = new Int32Array(slots);
    this.slotRank = new Int32Array(slots);
    this.ruleLeft = new Int32Array(capacity);
    this.ruleRight = new Int32Array(capacity);
    this.ruleResult = new Int32Array(capacity);
  }

  private slotOf(left: number, right: number): number {
    let h = Math.imul(left ^ this.seed, 0x9e3779b1) ^ right;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
    h ^= h >>> 13;
    return h & this.mask;
  }

  /**
   * Appends a rule with the next rank. Returns `false` (and adds nothing) when the pair already
   * has a rule: the earlier rule wins, as in Hugging Face tokenizers.
   */
  add(left: number, right: number, result: number): boolean {
    if (this.count >= this.ruleLeft.length) {
      throw new RangeError(`MergeTable is full (capacity ${this.ruleLeft.length})`);
    }
    let slot = this.slotOf(left, right);
    for (let probe = 0; ; probe++) {
      const l = this.slotLeft[slot] as number;
      if (l === -1) {
        this.probes = Math.max(this.probes, probe);
        break;
      }
      if (l === left && this.slotRight[slot] === right) return false;
      slot = (slot + 1) & this.mask;
    }
    const rank = this.count++;
    this.slotLeft[slot] = left;
    this.slotRight[slot] = right;
    this.slotRank[slot] = rank;
    this.ruleLeft[rank] = left;
    this.ruleRight[rank] = right;
    this.ruleResult[rank] = result;
    return true;
  }

  /** The longest run of occupied slots that an `add` had to step over (a measure of clustering). */
  get longestProbe(): number {
    return this.probes;
  }

  /** Rank (priority; lower merges first) of the rule for `left`+`right`, or {@link NO_MERGE}. */
  rank(left: number, right: number): number {
    let slot = this.slotOf(left, right);
    for (;;) {
      const l = this.slotLeft[slot] as number;
      if (l === -1) return NO_MERGE;
      if (l === left && this.slotRight[slot] === right) return this.slotRank[slot] as number;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Token id produced by the rule of rank `rank`. */
  result(rank: number): number {
    return this.ruleResult[rank] as number;
  }

  /** Left token id of the rule of rank `rank`. */
  left(rank: number): number {
    return this.ruleLeft[rank] as number;
  }

  /** Right token id of the rule of rank `rank`. */
  right(rank: number): number {
    return this.ruleRight[rank] as number;
  }
}
