// IMDSv2 against a local HTTP server that behaves like IMDS with IMDSv1 disabled: every GET needs a token.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ImdsClient, ImdsError } from './imds.js';
import { startFakeImds, type FakeImds } from '../test/node-agent/support/fake-imds.js';

describe('IMDSv2 client', () => {
  let imds: FakeImds;
  beforeEach(async () => {
    imds = await startFakeImds();
  });
  afterEach(async () => {
    await imds.close();
  });

  const client = (extra: Partial<ConstructorParameters<typeof ImdsClient>[0]> = {}) =>
    new ImdsClient({ endpoint: imds.url, timeoutMs: 1000, attempts: 3, backoffMs: 10, ...extra });

  test('gets a token with PUT and the TTL header, then reads with it; the token is reused', async () => {
    const c = client({ tokenTtlSeconds: 300 });
    expect(await c.instanceId()).toBe('i-0123456789abcdef0');
    expect(await c.region()).toBe('us-east-1');
    expect(imds.seen).toEqual([
      { method: 'PUT', url: '/latest/api/token', ttl: '300' },
      { method: 'GET', url: '/latest/meta-data/instance-id', token: 'token-1' },
      { method: 'GET', url: '/latest/meta-data/placement/region', token: 'token-1' },
    ]);
  });

  test('maps MACs to ENIs; an unknown MAC is undefined', async () => {
    const c = client();
    expect(await c.eniIdForMac('0E:00:00:00:00:02')).toBe('eni-0bbbbbbbbbbbbbbb2');
    expect(await c.eniIdForMac('0e:00:00:00:00:99')).toBeUndefined();
    expect([...(await c.macToEni()).entries()]).toEqual([
      ['0e:00:00:00:00:01', 'eni-0aaaaaaaaaaaaaaa1'],
      ['0e:00:00:00:00:02', 'eni-0bbbbbbbbbbbbbbb2'],
    ]);
  });

  test('never falls back to IMDSv1: when no token can be had, no GET is sent', async () => {
    imds.mode.putStatus = 403;
    const c = client();
    await expect(c.instanceId()).rejects.toThrow(/IMDSv2 token request refused: HTTP 403/);
    expect(imds.seen.every((s) => s.method === 'PUT')).toBe(true);
    expect(imds.seen.length).toBeGreaterThan(0);
  });

  test('a revoked token is replaced once, and every GET carries a token', async () => {
    const c = client();
    await c.instanceId();
    imds.tokens.clear();
    expect(await c.region()).toBe('us-east-1');
    expect(imds.seen.map((s) => `${s.method} ${s.token ?? '-'}`)).toEqual(['PUT -', 'GET token-1', 'GET token-1', 'PUT -', 'GET token-2']);
    expect(imds.seen.filter((s) => s.method === 'GET' && !s.token)).toEqual([]);
  });

  test('5xx is retried with backoff', async () => {
    imds.mode.failNext5xx = 2;
    expect(await client().instanceId()).toBe('i-0123456789abcdef0');
    expect(imds.seen.slice(0, 3).map((s) => s.method)).toEqual(['PUT', 'PUT', 'PUT']);
  });

  test('gives up after the attempts with a clear error', async () => {
    imds.mode.failNext5xx = 10;
    await expect(client().instanceId()).rejects.toThrow(/PUT \/latest\/api\/token failed after 3 attempts: IMDS PUT \/latest\/api\/token: HTTP 503/);
  });

  test('times out on a server that never answers', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as AddressInfo;
    const c = new ImdsClient({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 200, attempts: 2, backoffMs: 10 });
    const started = Date.now();
    await expect(c.instanceId()).rejects.toBeInstanceOf(ImdsError);
    expect(Date.now() - started).toBeLessThan(3000);
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  });
});
