// The control API tests drive the proxy through (`/_proxy/*`; the client is ../ec2-proxy-control.ts): health,
// the calls counted, faults and holds, EC2 semantics, token buckets and their clock, and reset.
import type http from 'node:http';
import type { z } from 'zod';
import { bucketsView } from './buckets.js';
import { BucketsSchema, FaultsSchema, SemanticsSchema, mergeConfig } from './config.js';
import type { ProxyContext } from './context.js';
import { releaseHeld, seededRandom } from './faults.js';
import { flushDetaches } from './rules/detach.js';
import { resetState } from './state.js';

export const CONTROL_PREFIX = '/_proxy';

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const b = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length });
  res.end(b);
}

export async function handleControl(ctx: ProxyContext, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
  const state = ctx.state;
  const route = `${req.method} ${(req.url ?? '').split('?')[0]!.slice(CONTROL_PREFIX.length)}`;
  const put = <T extends object>(schema: z.ZodType<T>, current: T, set: (v: T) => void) => {
    let patch: unknown;
    try {
      patch = JSON.parse(body.toString() || '{}');
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    const r = mergeConfig(schema, current, patch);
    if (!r.ok) return json(res, 400, { error: r.error });
    set(r.value);
    json(res, 200, r.value);
  };
  switch (route) {
    case 'GET /health':
      return json(res, 200, { ok: true, target: ctx.target.origin });
    case 'GET /calls':
      return json(res, 200, state.calls.snapshot());
    case 'POST /calls/reset':
      state.calls.reset();
      return json(res, 200, { ok: true });
    case 'GET /faults':
      return json(res, 200, state.faults);
    case 'PUT /faults':
      // Every PUT re-seeds, so the same PUT followed by the same calls gives the same faults.
      return put(FaultsSchema, state.faults, (v) => {
        state.faults = v;
        state.rand = seededRandom(v.seed);
      });
    case 'PUT /hold': {
      const h = JSON.parse(body.toString() || '{}') as { action?: unknown; count?: unknown };
      if (typeof h.action !== 'string' || !(typeof h.count === 'number' && h.count >= 0)) return json(res, 400, { error: 'hold needs { action: string, count: number >= 0 }' });
      state.hold = { action: h.action, count: h.count };
      return json(res, 200, state.hold);
    }
    case 'GET /held':
      return json(res, 200, state.held.map(({ action, params, body: b }) => ({ action, params, body: b })));
    case 'POST /held/release':
      releaseHeld(state);
      return json(res, 200, { ok: true });
    case 'GET /semantics':
      return json(res, 200, state.semantics);
    case 'PUT /semantics':
      return put(SemanticsSchema, state.semantics, (v) => {
        state.semantics = v;
        state.windowRand = seededRandom(v.seed);
      });
    case 'GET /buckets':
      return json(res, 200, bucketsView(state));
    case 'PUT /buckets':
      // Every PUT starts the buckets full, so a test that sets limits starts from a known state.
      return put(BucketsSchema, state.buckets, (v) => {
        state.buckets = v;
        state.bucketState = new Map();
      });
    case 'POST /clock/advance': {
      const ms = (JSON.parse(body.toString() || '{}') as { ms?: unknown }).ms;
      if (typeof ms !== 'number' || !(ms >= 0) || ms > 86_400_000) return json(res, 400, { error: 'clock/advance needs { ms: number from 0 to 86400000 }' });
      state.clockOffsetMs += ms;
      return json(res, 200, bucketsView(state));
    }
    case 'POST /reset':
      await flushDetaches(state);
      releaseHeld(state);
      resetState(state);
      return json(res, 200, { ok: true });
    default:
      return json(res, 404, { error: `no control route ${route}` });
  }
}
