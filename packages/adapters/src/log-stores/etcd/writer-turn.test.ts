import { describe, expect, it } from 'vitest';
import type { StoredHead } from './stored-head.js';
import { WriterTurn } from './writer-turn.js';

const settings = { holdMs: 20, burstMs: 50, waitMaxMs: 250 };

function head(revision: number, turn?: StoredHead['turn']): StoredHead {
  return { position: revision, revision, turn };
}

describe('WriterTurn', () => {
  it('takes a free head at once and keeps the turn while it appends, unasked', () => {
    const turn = new WriterTurn(settings);
    expect(turn.waitMs(head(1), 1_000)).toBe(0);
    const mine = turn.next(head(1), 1_000);
    expect(mine).toEqual({ owner: turn.id, until: 1_020 });
    // Long after, still unasked: the holder never yields to nobody.
    expect(turn.next(head(2, mine), 5_000)).toEqual({ owner: turn.id, until: 5_020 });
  });

  it("waits while another writer's turn runs, at most holdMs at a time, and asks once per holder", () => {
    const turn = new WriterTurn(settings);
    const other = { owner: 'other', until: 1_015 };
    expect(turn.waitMs(head(3, other), 1_000)).toBe(15);
    expect(turn.waitMs(head(3, { owner: 'other', until: 9_000 }), 1_000)).toBe(20);
    expect(turn.waitMs(head(3, other), 1_016)).toBe(0);
    expect(turn.shouldAsk(head(3, other))).toBe(true);
    expect(turn.shouldAsk(head(4, other))).toBe(false);
    expect(turn.shouldAsk(head(5, { owner: 'third', until: 2_000 }))).toBe(true);
  });

  it('yields after burstMs once asked, then lets the waiters go first for holdMs', () => {
    const turn = new WriterTurn(settings);
    const mine = turn.next(head(10), 1_000);
    turn.sawAsk(9, 'other'); // an ask from before this turn does not count
    expect(turn.next(head(11, mine), 1_060)).toEqual({ owner: turn.id, until: 1_080 });
    turn.sawAsk(12, 'other');
    expect(turn.next(head(12, mine), 1_030)).toEqual({ owner: turn.id, until: 1_050 }); // not yet burstMs
    expect(turn.next(head(13, mine), 1_060)).toBeUndefined(); // yields: the head goes out without an owner
    expect(turn.waitMs(head(14), 1_065)).toBe(15);
    expect(turn.waitMs(head(14), 1_081)).toBe(0);
  });

  it('ignores its own asks', () => {
    const turn = new WriterTurn(settings);
    const mine = turn.next(head(1), 0);
    turn.sawAsk(5, turn.id);
    expect(turn.next(head(2, mine), 100)).toEqual({ owner: turn.id, until: 120 });
  });
});
