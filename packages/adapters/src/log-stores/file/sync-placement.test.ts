import { describe, expect, it } from 'vitest';
import { SyncPlacement } from './sync-placement.js';

describe('sync placement', () => {
  it('syncs inline while the disk is fast, moves to the thread pool when it slows, and comes back', () => {
    const placement = new SyncPlacement(1, 8);
    expect(placement.inline()).toBe(true);
    for (let count = 0; count < 100; count += 1) placement.note(0.2);
    expect(placement.inline()).toBe(true);
    // One slow sync among fast ones is not enough to move...
    placement.note(5);
    expect(placement.inline()).toBe(true);
    // ...a few in a row are.
    placement.note(5);
    placement.note(5);
    expect(placement.inline()).toBe(false);
    const slowAfter = [];
    for (let count = 0; count < 30 && !placement.inline(); count += 1) {
      placement.note(0.2);
      slowAfter.push(count);
    }
    expect(placement.inline()).toBe(true);
    expect(slowAfter.length).toBeGreaterThan(3);
  });
});
