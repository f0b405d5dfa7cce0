import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhookSignature } from './webhook-signature';

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: 'a', status: 'completed' });
  const now = 1_800_000_000;

  it('is HMAC-SHA256 over "<timestamp>.<body>", hex, in t=…,v1=…', () => {
    const expected = createHmac('sha256', 's3cret').update(`${now}.${body}`).digest('hex');
    expect(signWebhook('s3cret', now, body)).toBe(`t=${now},v1=${expected}`);
  });

  it('verifies its own signatures within the tolerance', () => {
    expect(verifyWebhookSignature('s3cret', signWebhook('s3cret', now, body), body, 300, now + 299)).toBe(true);
  });

  it.each([
    ['another secret', () => signWebhook('other', now, body), body, now],
    ['a changed body', () => signWebhook('s3cret', now, body), `${body} `, now],
    ['an old timestamp', () => signWebhook('s3cret', now, body), body, now + 301],
    ['a forged timestamp', () => signWebhook('s3cret', now, body).replace(`t=${now}`, `t=${now + 10}`), body, now],
    ['no header', () => undefined, body, now],
    ['garbage', () => 't=x,v1=zz', body, now],
  ])('refuses %s', (_, header, payload, at) => {
    expect(verifyWebhookSignature('s3cret', header(), payload, 300, at)).toBe(false);
  });
});
