/** Formats milliseconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 3600)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One progress line: bar, step, loss, lr, tokens/s and ETA. */
export function progressLine(p: {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  etaMs: number;
  width?: number;
}): string {
  const width = p.width ?? 24;
  const done = Math.min(width, Math.round((width * p.step) / p.totalSteps));
  const bar = `${'█'.repeat(done)}${'░'.repeat(width - done)}`;
  return (
    `${bar} step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  ` +
    `${Math.round(p.tokensPerSecond).toLocaleString('en')} tok/s  ETA ${formatDuration(p.etaMs)}`
  );
}

/**
 * A progress bar on stderr: redrawn in place on a terminal, one line every `every` steps otherwise
 * (logs and CI keep a readable record).
 */
export class ProgressBar {
  private drawn = false;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly every = 10,
  ) {}

  update(p: Parameters<typeof progressLine>[0]): void {
    const line = progressLine(p);
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (p.step === 1 || p.step % this.every === 0 || p.step === p.totalSteps) {
      this.stream.write(`${line}\n`);
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  log(message: string): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${message}\n`);
    this.drawn = false;
  }

  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
