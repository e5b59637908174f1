import { allocatePlaces, placesHeld, type SlotHolder } from '../../domain/task-slots';

const holder = (operationId: string, held: number, waiting: number, dueMs = 0): SlotHolder => ({
  operationId,
  held,
  waiting,
  dueMs,
});

describe('allocatePlaces', () => {
  it('grants nothing when the limit is reached', () => {
    expect(allocatePlaces({ a: holder('1', 4, 3) }, 4)).toEqual({});
  });
  it('grants no more than a runner waits for, and no more than is free', () => {
    expect(allocatePlaces({ a: holder('1', 0, 3) }, 10)).toEqual({ a: 3 });
    expect(allocatePlaces({ a: holder('1', 2, 30) }, 10)).toEqual({ a: 8 });
  });
  it('gives each free place to the operation holding fewest, so none starves', () => {
    // Operation 1 holds 6 of 8; the 2 freed places go to operation 2, not back to 1.
    expect(allocatePlaces({ a: holder('1', 6, 100, 0), b: holder('2', 0, 100, 5) }, 8)).toEqual({ b: 2 });
    // From nothing, two operations end up with equal shares.
    expect(allocatePlaces({ a: holder('1', 0, 100, 0), b: holder('2', 0, 100, 5) }, 10)).toEqual({ a: 5, b: 5 });
  });
  it('counts an operation across its runners (batches), and among equals the earliest due goes first', () => {
    const holders = {
      'op1-batch-1': holder('1', 2, 10, 100),
      'op1-batch-2': holder('1', 2, 10, 50),
      op2: holder('2', 3, 10, 10),
    };
    // Operation 1 holds 4, operation 2 holds 3: the first place to 2; at 4 each, 2 is due earlier;
    // then 1, whose batch due earlier gets it.
    expect(allocatePlaces(holders, 10)).toEqual({ op2: 2, 'op1-batch-2': 1 });
  });
  it('leaves the holders as they are', () => {
    const holders = { a: holder('1', 0, 3) };
    allocatePlaces(holders, 10);
    expect(holders.a).toEqual(holder('1', 0, 3));
    expect(placesHeld({ a: holder('1', 2, 0), b: holder('2', 5, 1) })).toBe(7);
  });
});
