import { untilWritten } from './durable-write';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('untilWritten', () => {
  it('waits out an outage and returns what the write returned once it lands', async () => {
    let calls = 0;
    const outages: Error[] = [];
    const result = await untilWritten(
      async () => {
        calls++;
        if (calls < 3) throw refused();
        return 'landed';
      },
      new AbortController().signal,
      (error) => outages.push(error),
    );
    expect(result).toBe('landed');
    expect(calls).toBe(3);
    // Reported once per outage, not once per retry.
    expect(outages).toHaveLength(1);
  });

  it('throws an error that is not an outage at once', async () => {
    let calls = 0;
    const write = async () => {
      calls++;
      throw new Error('invalid input syntax for type json');
    };
    await expect(untilWritten(write, new AbortController().signal)).rejects.toThrow('invalid input syntax');
    expect(calls).toBe(1);
  });

  it('stops waiting with the hold’s reason once the hold ends', async () => {
    const hold = new AbortController();
    const reason = new Error('grace period over');
    let calls = 0;
    const pending = untilWritten(async () => {
      calls++;
      if (calls === 2) hold.abort(reason);
      throw refused();
    }, hold.signal);
    await expect(pending).rejects.toBe(reason);
    expect(calls).toBe(2);
  });
});
