// The way to moto: forwarding a caller's request, and the proxy's own internal calls.
import http from 'node:http';
import type { Answer } from './answers.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'proxy-connection', 'upgrade']);

export interface Upstream {
  /** A request to the target as given (hop-by-hop headers dropped); rejects when the target does not answer. */
  forward(method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer): Promise<Answer>;
  /** An internal call against moto. It reuses the caller's Authorization header: moto routes to EC2 (and picks
   * the region) from its credential scope. Not counted as a call, takes no token. */
  internal(headers: http.IncomingHttpHeaders, params: Record<string, string>): Promise<Answer | undefined>;
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The upstream at `target`, moto's base URL. */
export function motoUpstream(target: URL): Upstream {
  function forward(method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer): Promise<Answer> {
    const out: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
    out['content-length'] = body.length;
    return new Promise((resolve, reject) => {
      const req = http.request({ hostname: target.hostname, port: target.port, method, path, headers: out }, (res) => {
        readBody(res).then((b) => {
          const h: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(res.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) h[k] = v;
          resolve({ status: res.statusCode ?? 502, headers: h, body: b });
        }, reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async function internal(headers: http.IncomingHttpHeaders, params: Record<string, string>): Promise<Answer | undefined> {
    const body = new URLSearchParams({ Version: '2016-11-15', ...params });
    const h = { authorization: headers.authorization, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    return forward('POST', '/', h, Buffer.from(body.toString())).catch(() => undefined);
  }

  return { forward, internal };
}
