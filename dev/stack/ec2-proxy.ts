// A small HTTP proxy between @aws-sdk/client-ec2 and moto that makes the emulator as strict as EC2 (test
// infrastructure). moto is more lenient than EC2 (see /work/shared/reference/local-stack.md); this proxy puts back,
// by default, the rules the code under test must live by: EC2's per-API token buckets (dev/stack/ec2-buckets.ts),
// ClientToken idempotency, the `attaching` and `detaching` windows, device-index conflicts, attachments only within
// the instance's availability zone and up to its instance type's interface limit, security groups only from the
// subnet's VPC, in-use refusals, IPv4 prefix delegation (which moto lacks; allocation in ./ec2-addresses.ts) and
// the instance type's IPv4 addresses per interface. Latency, coin-toss throttling and 5xx are faults a test turns on. A test that
// needs leniency turns a rule off by name (`PUT /_proxy/semantics`, `PUT /_proxy/buckets`). Tests drive it through
// `/_proxy/*`.
//
// This file is the entry: it wires the parts under ./ec2-proxy/ into a server and exports the public API. The
// state is one object (state.ts); the control API (control.ts); faults and holds (faults.ts); the token buckets
// (buckets.ts); one EC2 call's path (ec2-call.ts) through the rules of its action (rules/, one module an action).
import http from 'node:http';
import { requestId } from './ec2-proxy/answers.js';
import { CONTROL_PREFIX, handleControl } from './ec2-proxy/control.js';
import type { ProxyContext } from './ec2-proxy/context.js';
import { handleEc2 } from './ec2-proxy/ec2-call.js';
import { holdAnswer } from './ec2-proxy/faults.js';
import { dropDetaches } from './ec2-proxy/rules/detach.js';
import { createState } from './ec2-proxy/state.js';
import { motoUpstream, readBody } from './ec2-proxy/upstream.js';
import { ec2ErrorXml } from './ec2-proxy/xml.js';

export { BucketsSchema, DEFAULT_BUCKETS, DEFAULT_FAULTS, DEFAULT_SEMANTICS, FaultsSchema, SemanticsSchema, drawWindow, mergeConfig } from './ec2-proxy/config.js';
export type { Buckets, Faults, Semantics, WindowSpec } from './ec2-proxy/config.js';
export { decideFault, seededRandom } from './ec2-proxy/faults.js';
export type { FaultDecision } from './ec2-proxy/faults.js';
export { keyParams, parseForm } from './ec2-proxy/query.js';
export {
  ec2ErrorXml,
  errorCodeOf,
  mapNetworkInterfaceItems,
  mapTopLevelItems,
  parseInstance,
  parseNetworkInterfaces,
  parseSecurityGroups,
  rewriteAttachmentStatus,
  summarizeEniItem,
} from './ec2-proxy/xml.js';
export type { EniSummary } from './ec2-proxy/xml.js';
export { outcomeOf } from './ec2-proxy/calls.js';
export type { ActionCounts, BucketCounts, CallRecord, CallsReport, Outcome } from './ec2-proxy/calls.js';

export interface Ec2ProxyOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** moto's base URL, e.g. http://127.0.0.1:5000 */
  target: string;
  log?: (line: string) => void;
}

export interface Ec2Proxy {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** One request: a control call, or an EC2 call answered (or held) and counted. */
async function handleRequest(ctx: ProxyContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const t0 = Date.now();
  try {
    const body = await readBody(req);
    if ((req.url ?? '').startsWith(`${CONTROL_PREFIX}/`)) return await handleControl(ctx, req, res, body);
    const { answer, rec } = await handleEc2(ctx, req, body);
    if (rec) ctx.state.calls.add({ at: new Date(t0).toISOString(), ...rec, ms: Date.now() - t0 });
    const send = () => {
      if (res.destroyed) return; // the caller is gone (killed): nothing to answer
      res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
      res.end(answer.body);
    };
    if (rec && holdAnswer(ctx.state, { action: rec.action, params: rec.params, body: answer.body.toString(), status: answer.status }, send)) return;
    send();
  } catch (e) {
    // The request itself broke (a control-route bug, a client gone): answer what we still can.
    ctx.log(`ec2-proxy: ${req.method} ${req.url}: ${String(e)}`);
    if (res.headersSent) return void res.end();
    const b = Buffer.from(ec2ErrorXml('InternalError', `ec2-proxy: ${String(e)}`, requestId()));
    res.writeHead(502, { 'content-type': 'text/xml', 'content-length': b.length });
    res.end(b);
  }
}

export async function startEc2Proxy(opts: Ec2ProxyOptions): Promise<Ec2Proxy> {
  const target = new URL(opts.target);
  const ctx: ProxyContext = { state: createState(), upstream: motoUpstream(target), target, log: opts.log ?? (() => undefined) };
  const server = http.createServer((req, res) => void handleRequest(ctx, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    port,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    /** Pending deferred detaches are dropped, not flushed: closing is for the end of a run, when moto goes too. */
    async close() {
      dropDetaches(ctx.state);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
