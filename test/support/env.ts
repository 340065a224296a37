// What integration tests share: the running stack's endpoints and clients bound to it.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { KubeConfig, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { readState, type StackState } from '../../dev/stack/stack.js';
import { emulatorClient } from '../../dev/stack/seed.js';

export function stack(): StackState {
  const s = readState();
  if (!s) throw new Error('no local stack: the integration project global setup starts it (npm test), or run `npm run stack:up`');
  return s;
}

/** A short random suffix so tests sharing one stack never collide on names. */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export function adminKubeConfig(s = stack()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(s.kube.kubeconfig);
  return kc;
}

export function kubeClients(s = stack()) {
  const kc = adminKubeConfig(s);
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

export async function temporalClient(s = stack()): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: s.temporal.address });
  return { client: new Client({ connection, namespace: s.temporal.namespace }), connection };
}

/** EC2 client straight to the emulator (for checks that must not count as the controller's calls). */
export function motoEc2(s = stack()) {
  return emulatorClient(s.ec2.motoEndpoint, s.ec2.region);
}

/** Polls until `fn` returns a value other than undefined/false; fails with the last observation. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A free TCP port p on loopback with p + 1 free too (the controller serves the SDK's metrics on METRICS_PORT + 1). */
export async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<net.Server | undefined>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  for (let i = 0; i < 20; i++) {
    const a = await listen(0);
    if (!a) continue;
    const port = (a.address() as net.AddressInfo).port;
    const b = await listen(port + 1);
    await new Promise((r) => a.close(r));
    if (b) {
      await new Promise((r) => b.close(r));
      return port;
    }
  }
  throw new Error('no free port pair');
}
