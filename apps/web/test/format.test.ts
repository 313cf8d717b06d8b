import { describe, expect, it } from 'vitest';
import { formatThreshold } from '../src/live/format.ts';

describe('formatThreshold', () => {
  it('shows two decimals up to 0.99 and four above, so 0.9995 is not shown as 1.00', () => {
    expect(formatThreshold(0.5)).toBe('0.50');
    expect(formatThreshold(0.99)).toBe('0.99');
    expect(formatThreshold(0.9995)).toBe('0.9995');
    expect(formatThreshold(0.995)).toBe('0.9950');
  });
});
