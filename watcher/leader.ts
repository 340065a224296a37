// Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it: the holder renews every few
// seconds; a candidate takes over only after the lease went unrenewed for its whole duration, measured on the
// candidate's own clock from when it last saw the lease change (so clock skew between pods does not matter).
// Writes carry the resourceVersion they read, so two candidates cannot both win.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

export interface LeaseRecord {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  renewTime?: Date | string | null;
  acquireTime?: Date | string | null;
  leaseTransitions?: number | null;
}

export type LeaseDecision =
  | { action: 'renew' }
  | { action: 'acquire'; takeover: boolean }
  | { action: 'wait'; holder: string; expiresInMs: number };

/**
 * Pure: what a candidate may do with the lease it just read.
 * `observedAtMs` is when this candidate first saw the lease's current holder/renewTime (its own clock).
 */
export function decideLease(lease: LeaseRecord | undefined, identity: string, nowMs: number, observedAtMs: number, defaultDurationMs = 15000): LeaseDecision {
  const holder = lease?.holderIdentity ?? '';
  if (!lease || holder === '') return { action: 'acquire', takeover: false };
  if (holder === identity) return { action: 'renew' };
  const durationMs = lease.leaseDurationSeconds ? lease.leaseDurationSeconds * 1000 : defaultDurationMs;
  const expiresInMs = observedAtMs + durationMs - nowMs;
  if (expiresInMs <= 0) return { action: 'acquire', takeover: true };
  return { action: 'wait', holder, expiresInMs };
}

/** Pure: a leader that has not renewed within the deadline must stop acting as one (another may take over soon). */
export function leadershipExpired(lastRenewMs: number, nowMs: number, renewDeadlineMs: number): boolean {
  return nowMs - lastRenewMs > renewDeadlineMs;
}

/** Identifies what a candidate saw, to restart its expiry clock whenever the holder renews. */
export function leaseObservationKey(lease: LeaseRecord | undefined): string {
  if (!lease) return '';
  const t = lease.renewTime ? new Date(lease.renewTime).getTime() : 0;
  return `${lease.holderIdentity ?? ''}@${t}`;
}

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  /** How often the leader renews. */
  renewIntervalMs?: number;
  /** A leader that could not renew for this long steps down; must be below leaseDurationMs. */
  renewDeadlineMs?: number;
  /** How often a candidate retries. */
  retryIntervalMs?: number;
  onStartedLeading: () => Promise<void> | void;
  onStoppedLeading: () => Promise<void> | void;
  log?: (msg: string) => void;
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly durationMs: number;
  private readonly renewMs: number;
  private readonly deadlineMs: number;
  private readonly retryMs: number;
  private leading = false;
  private stopped = false;
  private lastRenewMs = 0;
  private observed = { key: '', atMs: 0 };
  private loop?: Promise<void>;
  private wake?: AbortController;

  constructor(private readonly o: LeaderElectorOptions) {
    this.api = o.kubeConfig.makeApiClient(CoordinationV1Api);
    this.durationMs = o.leaseDurationMs ?? 15000;
    this.renewMs = o.renewIntervalMs ?? 5000;
    this.deadlineMs = o.renewDeadlineMs ?? Math.min(10000, this.durationMs - 1000);
    this.retryMs = o.retryIntervalMs ?? 2000;
    if (this.deadlineMs >= this.durationMs) throw new Error('renewDeadlineMs must be below leaseDurationMs');
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Steps down (stopping the leader's work first), then gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.abort();
    await this.loop;
    if (this.leading) {
      await this.stepDown();
      await this.release();
    }
  }

  private log(msg: string): void {
    (this.o.log ?? ((m) => console.log(m)))(`[leader ${this.o.namespace}/${this.o.name} ${this.o.identity}] ${msg}`);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.tryAcquireOrRenew();
      } catch (err) {
        this.log(`lease check failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (this.leading && leadershipExpired(this.lastRenewMs, Date.now(), this.deadlineMs)) {
        this.log('could not renew the lease in time: stepping down');
        await this.stepDown();
      }
      if (this.stopped) break;
      this.wake = new AbortController();
      await sleep(this.leading ? this.renewMs : this.retryMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }

  private async stepDown(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    try {
      await this.o.onStoppedLeading();
    } catch (err) {
      this.log(`stopping the leader's work failed: ${String(err)}`);
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const lease = await this.read();
    const now = Date.now();
    const key = leaseObservationKey(lease?.spec);
    if (key !== this.observed.key) this.observed = { key, atMs: now };
    const decision = decideLease(lease?.spec, this.o.identity, now, this.observed.atMs, this.durationMs);
    if (decision.action === 'wait') {
      if (this.leading) {
        this.log(`lease now held by ${decision.holder}: stepping down`);
        await this.stepDown();
      }
      return;
    }
    const stamp = new V1MicroTime(now);
    const spec = lease?.spec ?? {};
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.o.name, namespace: this.o.namespace, ...(lease?.metadata?.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}) },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
        renewTime: stamp,
        acquireTime: decision.action === 'renew' && spec.acquireTime ? new V1MicroTime(new Date(spec.acquireTime).getTime()) : stamp,
        // As client-go counts them: every acquisition of an existing lease is a transition.
        leaseTransitions: (spec.leaseTransitions ?? 0) + (decision.action === 'acquire' && lease ? 1 : 0),
      },
    };
    try {
      if (lease) await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body });
      else await this.api.createNamespacedLease({ namespace: this.o.namespace, body });
    } catch (err) {
      // Someone else wrote first (409 on replace, or on create when it appeared meanwhile): they hold it.
      if (isStatus(err, 409)) return;
      throw err;
    }
    this.lastRenewMs = now;
    this.observed = { key: leaseObservationKey(body.spec), atMs: now };
    if (!this.leading && !this.stopped) {
      this.leading = true;
      this.log(decision.action === 'acquire' && decision.takeover ? 'took over an expired lease' : 'acquired the lease');
      try {
        await this.o.onStartedLeading();
      } catch (err) {
        this.log(`starting the leader's work failed: ${String(err)}; stepping down`);
        await this.stepDown();
        await this.release();
      }
    }
  }

  /** Clears the holder (as client-go's ReleaseOnCancel does) if this process still holds the lease. */
  private async release(): Promise<void> {
    try {
      const lease = await this.read();
      if (!lease || lease.spec?.holderIdentity !== this.o.identity) return;
      await this.api.replaceNamespacedLease({
        name: this.o.name,
        namespace: this.o.namespace,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now()) },
        },
      });
      this.log('released the lease');
    } catch (err) {
      this.log(`could not release the lease (it expires by itself): ${String(err)}`);
    }
  }
}
