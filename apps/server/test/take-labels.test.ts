import { describe, expect, it } from 'vitest';
import { takeLabels } from '../src/training/takes.ts';

describe('takeLabels (what training notes call a recording)', () => {
  it('uses the take number the user saw, the recording id when there is none or two takes share it', () => {
    const labels = takeLabels([
      { id: 41, take_number: 3 },
      { id: '42', take_number: 9 },
      { id: 43, take_number: null },
      { id: 50, take_number: 5 },
      { id: 51, take_number: 5 },
    ]);
    expect([...labels.entries()]).toEqual([
      [41, 'take 3'],
      [42, 'take 9'],
      [43, 'recording 43'],
      [50, 'take 5 (recording 50)'],
      [51, 'take 5 (recording 51)'],
    ]);
    for (const l of labels.values()) expect(l).not.toMatch(/\.wav/);
  });
});
