/**
 * Holds back text that could be the beginning of a stop string, so no part of a stop string is
 * ever released, even one that spans several pieces.
 */
export class StopStrings {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Adds a piece; returns the text now safe to output, and whether a stop string was found. */
  push(piece: string, final: boolean): { release: string; stopped: boolean } {
    const text = this.held + piece;
    // Released text can hold no start of a stop string, so searching `text` is enough.
    let cut = -1;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.held = '';
      return { release: text.slice(0, cut), stopped: true };
    }
    const hold = final ? 0 : this.prefixAtEnd(text);
    this.held = text.slice(text.length - hold);
    return { release: text.slice(0, text.length - hold), stopped: false };
  }

  /** Length of the longest end of `text` that is the beginning of a stop string. */
  private prefixAtEnd(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
