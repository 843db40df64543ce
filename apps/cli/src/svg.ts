/**
 * A line of a chart: points `[x, y]`, drawn dashed or solid, coloured by `group`; a faint line
 * (e.g. one seed behind the mean) is thin and pale, and has no legend entry.
 */
export interface Series {
  name: string;
  points: [number, number][];
  dashed: boolean;
  group: string;
  faint?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    out.push(Number(t.toPrecision(12)));
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A self-contained SVG line chart of loss curves, with axes, ticks, grid and a legend. */
export function lossChart(
  series: Series[],
  { title, xLabel, yLabel }: { title: string; xLabel: string; yLabel: string },
): string {
  const [w, h] = [820, 480];
  const m = { left: 70, right: 210, top: 40, bottom: 55 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.05 || 0.1;
  const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad];
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (w - m.left - m.right);
  const sy = (y: number) => h - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (h - m.top - m.bottom);
  const groups = [...new Set(series.map((s) => s.group))];
  const color = (g: string) => COLORS[groups.indexOf(g) % COLORS.length]!;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${m.left}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of ticks(x0, x1)) {
    parts.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${m.top}" y2="${h - m.bottom}" stroke="#e5e5e5"/>`,
    );
    parts.push(`<text x="${sx(t)}" y="${h - m.bottom + 18}" text-anchor="middle">${t}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line x1="${m.left}" x2="${w - m.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`,
    );
    parts.push(`<text x="${m.left - 8}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${w - m.left - m.right}" height="${h - m.top - m.bottom}" fill="none" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${(m.left + w - m.right) / 2}" y="${h - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${(m.top + h - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  let legendRow = 0;
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join('');
    if (s.faint) {
      parts.push(
        `<path d="${d}" fill="none" stroke="${color(s.group)}" stroke-width="1" stroke-opacity="0.3"><title>${esc(s.name)}</title></path>`,
      );
      continue;
    }
    parts.push(
      `<path d="${d}" fill="none" stroke="${color(s.group)}" stroke-width="${s.dashed ? 2.5 : 1.5}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    const ly = m.top + 16 + legendRow++ * 20;
    parts.push(
      `<line x1="${w - m.right + 14}" x2="${w - m.right + 40}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color(s.group)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(`<text x="${w - m.right + 46}" y="${ly}">${esc(s.name)}</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
