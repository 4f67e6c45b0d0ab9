import { describe, expect, it } from 'vitest';
import { latestReads } from './latest';

describe('latestReads', () => {
  it('keeps only the newest ticket current', () => {
    const reads = latestReads();
    const a = reads.take();
    expect(a.current()).toBe(true);
    const b = reads.take();
    expect(a.current()).toBe(false);
    expect(b.current()).toBe(true);
  });

  it('drops an answer that arrives after a newer one', async () => {
    const reads = latestReads();
    const drawn: string[] = [];
    const read = async (name: string, ms: number) => {
      const ticket = reads.take();
      await new Promise((r) => setTimeout(r, ms));
      if (ticket.current()) drawn.push(name);
    };
    await Promise.all([read('slow, older', 30), read('fast, newer', 1)]);
    expect(drawn).toEqual(['fast, newer']);
  });

  it('keeps separate views apart', () => {
    const one = latestReads();
    const two = latestReads();
    const a = one.take();
    two.take();
    expect(a.current()).toBe(true);
  });
});
