// A local stand-in for EC2 instance metadata with IMDSv1 disabled: PUT /latest/api/token gives a token,
// and every GET without a valid token gets 401. Records each request so tests can check the headers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  token?: string;
  ttl?: string;
}

export interface FakeImds {
  url: string;
  seen: Seen[];
  /** Tokens the server accepts; clearing it emulates expiry. */
  tokens: Set<string>;
  mode: { putStatus: number; failNext5xx: number };
  close(): Promise<void>;
}

export const DEFAULT_METADATA: Record<string, string> = {
  '/latest/meta-data/instance-id': 'i-0123456789abcdef0',
  '/latest/meta-data/placement/region': 'us-east-1',
  '/latest/meta-data/network/interfaces/macs/': '0e:00:00:00:00:01/\n0e:00:00:00:00:02/',
  '/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:01/interface-id': 'eni-0aaaaaaaaaaaaaaa1',
  '/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:02/interface-id': 'eni-0bbbbbbbbbbbbbbb2',
};

export async function startFakeImds(metadata: Record<string, string> = DEFAULT_METADATA): Promise<FakeImds> {
  const seen: Seen[] = [];
  const tokens = new Set<string>();
  const mode = { putStatus: 200, failNext5xx: 0 };
  let counter = 0;
  const server = http.createServer((req, res) => {
    const token = req.headers['x-aws-ec2-metadata-token'];
    const ttl = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    seen.push({ method: req.method ?? '', url: req.url ?? '', ...(typeof token === 'string' ? { token } : {}), ...(typeof ttl === 'string' ? { ttl } : {}) });
    if (mode.failNext5xx > 0) {
      mode.failNext5xx--;
      res.writeHead(503).end();
      return;
    }
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (mode.putStatus !== 200) return void res.writeHead(mode.putStatus).end();
      if (typeof ttl !== 'string' || !/^\d+$/.test(ttl)) return void res.writeHead(400).end();
      const t = `token-${++counter}`;
      tokens.add(t);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(t);
      return;
    }
    if (req.method !== 'GET') return void res.writeHead(405).end();
    // IMDSv1 is off: a GET without a valid token is refused.
    if (typeof token !== 'string' || !tokens.has(token)) return void res.writeHead(401).end();
    const body = metadata[req.url ?? ''];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, tokens, mode, close: () => new Promise((r) => server.close(() => r())) };
}
