import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyControlCall } from './ec2-proxy-control.js';

/** A server that drops the first `drops` requests' connections without an answer, then answers `{n}`. */
async function flakyServer(drops: number): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    if (n <= drops) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ n }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/_proxy`,
    requests: () => n,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('proxyControlCall', () => {
  it('sends a call again when the connection closes before any answer', async () => {
    const s = await flakyServer(1);
    try {
      await expect(proxyControlCall(s.url, 'POST', '/reset')).resolves.toEqual({ n: 2 });
      expect(s.requests()).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('gives up after one more try', async () => {
    const s = await flakyServer(5);
    try {
      await expect(proxyControlCall(s.url, 'GET', '/calls')).rejects.toThrow('fetch failed');
      expect(s.requests()).toBe(2);
    } finally {
      await s.close();
    }
  });
});
