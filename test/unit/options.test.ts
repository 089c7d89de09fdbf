import { resolveOptions } from '../../src/client/options.js';
import { Client } from '../../src/index.js';

describe('client options', () => {
  test('defaults', () => {
    const o = resolveOptions({ endpoints: ['127.0.0.1:2379', 'http://h:1/'] });
    expect(o.endpoints).toEqual(['127.0.0.1:2379', 'http://h:1']);
    expect(o.timeoutMs).toBe(10_000);
    expect(o.maxAttempts).toBe(10);
  });
  test('a comma-separated string is accepted', () => {
    expect(resolveOptions({ endpoints: 'a:1,b:2' }).endpoints).toEqual(['a:1', 'b:2']);
  });
  test.each([
    [{ endpoints: [] }, /non-empty list/],
    [{ endpoints: ['nope'] }, /invalid endpoint "nope"/],
    [{ endpoints: ['a:1'], timeoutMs: -1 }, /timeoutMs must be a non-negative number, got -1/],
    [{ endpoints: ['a:1'], maxAttempts: 0 }, /maxAttempts must be a positive integer, got 0/],
    [
      { endpoints: ['http://a:1'], tls: {} },
      /endpoint "http:\/\/a:1" is plain http but tls is set: use https:\/\//,
    ],
    [{ endpoints: ['a:1'], tls: { cert: 'x' } }, /tls.cert and tls.key must be given together/],
    [{ endpoints: ['a:1'], tls: { ca: 42 } }, /tls.ca must be PEM text or bytes, got number/],
    [{ endpoints: ['a:1'], tls: 'yes' }, /tls must be an object \{ ca\?, cert\?, key\? \}, got yes/],
  ])('rejects %j', (opts, msg) => {
    expect(() => new Client(opts as never)).toThrow(msg);
  });
  test('construction does no I/O and close() is idempotent', () => {
    // An endpoint nobody listens on: constructing and closing must not try to connect.
    const c = new Client({ endpoints: ['127.0.0.1:1'] });
    c.close();
    c.close();
    return expect(c.get('k')).rejects.toMatchObject({ code: 'client-closed' });
  });
});
