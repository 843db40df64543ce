// The race chart (uPlot): both models' smoothed training loss (solid) and validation loss (dashed,
// with points), against steps or against training time. Redrawn at most once per frame.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ROLE_LABEL } from '../shared/protocol.js';
import { type Axis, chartData, type HistoryData, SERIES } from '../shared/race-history.js';

/** Primer EZ orange, vanilla blue: told apart with any colour vision, ≥ 4.5:1 on white. */
export const COLORS = { primer: '#c2410c', vanilla: '#1d4ed8' } as const;

const INK = '#1f2937';

/** Tick spacings of the step axis: whole steps only (1, 2, 5, 10, 20, 50, …). */
const STEP_INCREMENTS = Array.from({ length: 8 }, (_, e) =>
  [1, 2, 5].map((m) => m * 10 ** e),
).flat();
const GRID = '#e5e7eb';

function size(container: HTMLElement): { width: number; height: number } {
  const width = Math.max(240, Math.floor(container.clientWidth));
  return { width, height: Math.round(Math.min(340, Math.max(220, width * 0.5))) };
}

export class RaceChart {
  private plot: uPlot | undefined;
  private pending: HistoryData | undefined;
  private frame = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly axis: Axis,
  ) {
    new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(size(this.container));
    }).observe(container);
  }

  /** Schedules a redraw with the history's current numbers. */
  update(history: HistoryData): void {
    this.pending = history;
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.pending) this.draw(this.pending);
    });
  }

  /** Draws now (for restoring, and before a screenshot). */
  draw(history: HistoryData): void {
    const data = chartData(history, this.axis) as uPlot.AlignedData;
    if (this.plot === undefined) this.plot = new uPlot(this.options(), data, this.container);
    else this.plot.setData(data);
  }

  private options(): uPlot.Options {
    const xLabel = this.axis === 'step' ? 'optimiser step' : 'training time (s)';
    const axisStyle = {
      stroke: INK,
      grid: { stroke: GRID, width: 1 },
      ticks: { stroke: GRID, width: 1 },
      font: '12px system-ui, sans-serif',
      labelFont: '13px system-ui, sans-serif',
    };
    return {
      ...size(this.container),
      scales: { x: { time: false } },
      axes: [
        {
          ...axisStyle,
          label: xLabel,
          ...(this.axis === 'step' ? { incrs: STEP_INCREMENTS } : {}),
        },
        { ...axisStyle, label: 'loss (nats per character)', size: 56 },
      ],
      series: [
        {
          label: this.axis === 'step' ? 'step' : 'time (s)',
          value: (_u, v) => (v == null ? '—' : this.axis === 'step' ? String(v) : v.toFixed(1)),
        },
        ...SERIES.map(({ role, kind }) => ({
          label: `${ROLE_LABEL[role]} ${kind === 'train' ? 'training' : 'validation'}`,
          stroke: COLORS[role],
          width: kind === 'train' ? 2 : 2.5,
          spanGaps: true,
          ...(kind === 'validation' ? { dash: [7, 5] } : {}),
          points: { show: kind === 'validation', size: 7, fill: COLORS[role] },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : v.toFixed(3)),
        })),
      ],
      legend: {
        live: true,
        markers: {
          width: 2,
          dash: (_u, i) => (SERIES[i - 1]?.kind === 'validation' ? 'dashed' : 'solid'),
        },
      },
      cursor: { drag: { x: true, y: false } },
    };
  }
}
