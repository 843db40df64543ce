import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatLoss, formatRatio } from './format.js';

describe('formatting', () => {
  it('losses', () => {
    expect(formatLoss(2.34567)).toBe('2.346');
    expect(formatLoss(null)).toBe('—');
    expect(formatLoss(Number.NaN)).toBe('—');
  });

  it('durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
  });

  it('counts and bytes', () => {
    expect(formatCount(950)).toBe('950');
    expect(formatCount(1234)).toBe('1.23 k');
    expect(formatCount(812_000)).toBe('812.0 k');
    expect(formatCount(1_204_997)).toBe('1.20 M');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 2)).toBe('3.0 MiB');
  });

  it('ratios', () => {
    expect(formatRatio(1.64)).toBe('1.6×');
    expect(formatRatio(12.2)).toBe('12×');
  });
});
