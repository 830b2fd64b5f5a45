import { describe, expect, it } from 'vitest';
import { touchGenerationRecords, TouchClock } from './touch-clock.js';

describe('the touch clock a leader validates relayed reads with', () => {
  it('tells whether an entity or a value changed after a position', () => {
    const clock = new TouchClock(10);
    clock.entity('vm', 'a', 12);
    clock.value('vm', 'hostId', 'h1', 12);
    clock.value('vm', 'hostId', undefined, 13);
    expect(clock.entityChangedAfter('vm', 'a', 11)).toBe(true);
    expect(clock.entityChangedAfter('vm', 'a', 12)).toBe(false);
    expect(clock.entityChangedAfter('vm', 'b', 11)).toBe(false);
    expect(clock.valueChangedAfter('vm', 'hostId', 'h1', 11)).toBe(true);
    expect(clock.valueChangedAfter('vm', 'hostId', 'h2', 11)).toBe(false);
    // Undefined, null, 1 and '1' are different values.
    expect(clock.valueChangedAfter('vm', 'hostId', undefined, 12)).toBe(true);
    expect(clock.valueChangedAfter('vm', 'hostId', null, 12)).toBe(false);
    clock.value('vm', 'slot', 1, 14);
    expect(clock.valueChangedAfter('vm', 'slot', '1', 13)).toBe(false);
    expect(clock.valueChangedAfter('vm', 'slot', 1, 13)).toBe(true);
  });

  it('answers "changed" for positions before its floor, which moves up as generations are dropped', () => {
    const clock = new TouchClock(0);
    expect(clock.entityChangedAfter('vm', 'x', -1)).toBe(true);
    clock.entity('vm', 'a', 5);
    const second = touchGenerationRecords + 10;
    clock.entity('vm', 'b', second);
    // 'a' is in the previous generation: still known.
    expect(clock.floor).toBe(0);
    expect(clock.entityChangedAfter('vm', 'a', 4)).toBe(true);
    const third = second + touchGenerationRecords + 10;
    clock.entity('vm', 'c', third);
    // The generation with 'a' is gone: reads from before the floor cannot be checked.
    expect(clock.floor).toBe(second - 1);
    expect(clock.entityChangedAfter('vm', 'a', 4)).toBe(true);
    expect(clock.entityChangedAfter('vm', 'a', second)).toBe(false);
    expect(clock.entityChangedAfter('vm', 'b', second - 1)).toBe(true);
    expect(clock.entityChangedAfter('vm', 'c', third - 1)).toBe(true);
  });
});
