// The ENI lifecycle of one (NodeENI, node) pair, as an entity: state and handlers in one class, one ENI per
// resolved subnet. A pass converges every subnet concurrently (EC2 and the node agent gate progress; the status
// and Events follow through PairReporter), then the pair rests without timers until a signal. A release
// interrupts a pass between steps; an ENI a pass created and could not attach is compensated (deleted).
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CarriedState, DesiredPair, EniRecord, LifecycleInput } from '../common/lifecycle-contract.js';
import type { ResolvedNetwork } from '../common/ec2-contract.js';
import { addressLimitProblem, addressesMatch, primaryAddressProblem, wantsAddresses, type AddressLimit } from '../common/eni-addresses.js';
import { ERROR_TYPES } from '../common/error-types.js';
import { noFreeSlotMessage } from '../common/device-slots.js';
import { nodeTaskQueue } from '../common/names.js';
import { dpdkEnabled, subnetRefs } from '../common/spec-fields.js';
import { SA_ENI_IDS, SA_ENI_PHASE, SA_INSTANCE_ID } from '../common/search-attributes.js';
import { Compensation } from './compensation.js';
import { describeFailure, failureType, isScheduleToStartTimeout, retriesExhausted } from './failures.js';
import { CONVERGE_ATTEMPTS, agentActivities, agentOptions, ec2, ec2Options, ec2Waits, kubeActivities, kubeOptions, releaseOptions, waitOptions } from './pair-activities.js';
import { PairReporter } from './pair-report.js';
import { releaseSignal, repairSignal, specSignal, stateQuery } from './pair-signals.js';
import { attachedAsRequested, attachmentStatuses, configureKey, configureRequest, configuredFields, configuredMessage, desiredChanged, nextFreeIndex, nextStep, pairPhase, planPair, securityGroupsDiffer } from './plan.js';

/** Raised at a checkpoint when a release arrives mid-pass: the pass stops between steps. */
class ReleaseInterrupt extends Error {}

const MAX_INDEX_CONFLICTS = 8;
/** Failures that mean "no slot on the instance now": capacity that frees up, not a fault. */
const SLOT_SHORTAGE: readonly string[] = [ERROR_TYPES.noFreeDeviceIndex, ERROR_TYPES.deviceIndexConflict];

/** The failure for the user: EC2's code and message, and that it persisted when retries ran out. */
function failureMessage(err: unknown): string {
  const message = describeFailure(err);
  return retriesExhausted(err) ? `${message} (still failing after ${CONVERGE_ATTEMPTS} attempts over about a minute; the pair retries later)` : message;
}
const DEFAULT_HISTORY_LIMIT = 8000;

export class PairLifecycle {
  private desired: DesiredPair;
  private readonly st: CarriedState;
  private readonly historyLimit: number;
  private converging = false;
  private lastError: string | undefined;
  private releaseReason = 'released';
  private agentRetries = 0;
  private failedRetries = 0;
  private slotRetries = 0;
  /** Node agent calls in flight: a release cancels them rather than wait for their schedule-to-start timeout. */
  private readonly agentScopes = new Set<CancellationScope>();
  /** Every ENI the run held, so `EniIds="eni-…"` still finds a lifecycle after its release. */
  private readonly heldIds = new Set<string>();
  private lastSearchKey = '';
  private readonly report: PairReporter;
  private readonly kube = kubeActivities(workflowInfo().taskQueue);
  private readonly agent: ReturnType<typeof agentActivities>;

  constructor(input: LifecycleInput) {
    this.desired = input.desired;
    this.agent = agentActivities(input.desired.nodeName);
    this.st = input.carried ?? { enis: [], createSeq: {}, releaseRequested: false, dirty: true, eventSeq: 0 };
    this.historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    for (const e of this.st.enis) if (e.eniId) this.heldIds.add(e.eniId);
    this.report = new PairReporter(
      {
        entries: () => attachmentStatuses(this.desired, this.st.enis),
        subject: () => ({ nodeENI: this.desired.nodeENI, nodeName: this.desired.nodeName, uid: this.desired.uid, generation: this.desired.generation }),
        write: (input, summary) => this.kube.reportPair.executeWithOptions({ ...kubeOptions(workflowInfo().taskQueue), summary }, [input]),
        eventKey: () => `${workflowInfo().workflowId}/${workflowInfo().runId}/${++this.st.eventSeq}`,
      },
      this.st.lastStatusKey,
    );
    setHandler(specSignal, (d) => this.onSpec(d));
    setHandler(releaseSignal, (r) => {
      this.st.releaseRequested = true;
      this.st.revive = undefined;
      this.releaseReason = r.reason;
      for (const s of this.agentScopes) s.cancel();
    });
    setHandler(repairSignal, (r) => {
      log.info('repair requested', { reason: r.reason, eniIds: r.eniIds });
      this.st.dirty = true;
    });
    setHandler(stateQuery, () => ({
      desired: this.desired,
      enis: this.st.enis,
      phase: pairPhase(this.st.enis),
      releasing: this.st.releaseRequested,
      converging: this.converging,
      lastError: this.lastError ?? this.report.lastError,
    }));
  }

  private onSpec(d: DesiredPair): void {
    if (this.st.releaseRequested) {
      // Wanted again while releasing (e.g. relabelled): finish the release, then start over with this spec.
      this.st.revive = d;
      return;
    }
    if (desiredChanged(this.desired, d)) this.st.dirty = true;
    this.desired = d;
  }

  /** Converges, rests, retries on backoff, and finally releases. */
  async run(): Promise<{ released: string[] }> {
    for (;;) {
      if (this.st.releaseRequested) return this.finishRelease();
      if (this.st.dirty) {
        await this.pass();
        continue;
      }
      const next = nextStep(this.st.enis, this.failedRetries, this.agentRetries, this.slotRetries);
      if (next.kind === 'retry') {
        if (next.why === 'failed') this.failedRetries++;
        if (next.why === 'device slot') this.slotRetries++;
        setCurrentDetails(
          next.why === 'failed'
            ? `failed: ${this.lastError ?? 'see the attachments'}; retrying in ${next.delayMs / 60_000} min unless the spec changes`
            : next.why === 'device slot'
              ? `waiting for a free device index on ${this.desired.instanceId}; looking again in ${next.delayMs / 1000} s`
              : `waiting for the node agent on ${nodeTaskQueue(this.desired.nodeName)}`,
        );
        if (!(await condition(() => this.st.dirty || this.st.releaseRequested, next.delayMs))) this.st.dirty = true;
        continue;
      }
      this.failedRetries = 0;
      this.slotRetries = 0;
      setCurrentDetails(`at rest: ${pairPhase(this.st.enis)}`);
      if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > this.historyLimit) await this.continueWith(this.desired, this.st);
      // At rest: no timer, nothing runs until a signal arrives.
      await condition(() => this.st.dirty || this.st.releaseRequested);
    }
  }

  private async continueWith(desired: DesiredPair, carried: CarriedState): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<(input: LifecycleInput) => Promise<unknown>>({ desired, carried: { ...carried, lastStatusKey: this.report.lastKey }, historyLimit: this.historyLimit });
  }

  private checkpoint(): void {
    if (this.st.releaseRequested) throw new ReleaseInterrupt();
  }

  private where(r: EniRecord): string {
    return `${r.eniId ?? 'ENI'} (subnet ${r.subnetId}) on ${this.desired.nodeName}`;
  }

  /** One converge pass; a release arriving meanwhile ends it at the next checkpoint. */
  private async pass(): Promise<void> {
    this.st.dirty = false;
    this.converging = true;
    try {
      const answered = await this.converge();
      this.agentRetries = answered ? 0 : this.agentRetries + 1;
    } catch (err) {
      if (!(err instanceof ReleaseInterrupt)) this.passFailed(err);
    }
    // The status of the pass, whatever its outcome: never lost, written before the pair rests. The pass counts as
    // converging until it is written, so a reader of the state query sees the status the NodeENI will show.
    this.publishSearchAttributes();
    try {
      // A release waiting: its EC2 work goes first, the status follows it (finishRelease flushes after).
      await this.report.flush(() => this.st.releaseRequested);
    } finally {
      this.converging = false;
    }
  }

  /** Resolves, plans and converges every subnet at once. Returns false when the node agent has not answered. */
  private async converge(): Promise<boolean> {
    const { desired } = this;
    setCurrentDetails(`converging ${desired.nodeENI} on ${desired.nodeName} (${desired.instanceId})`);
    const refs = subnetRefs(desired.spec);
    let view;
    try {
      view = await ec2.inspectPair.executeWithOptions({ ...ec2Options, summary: `resolve the network of ${desired.nodeENI} and find its ENIs on ${desired.nodeName}` }, [
        {
          subnetIds: refs.ids,
          subnetNames: refs.names,
          securityGroupIds: desired.spec.securityGroupIDs ?? [],
          securityGroupNames: desired.spec.securityGroupNames ?? [],
          nodeENI: desired.nodeENI,
          nodeName: desired.nodeName,
          instanceId: desired.instanceId,
        },
      ]);
    } catch (err) {
      this.resolveFailed(failureMessage(err), [...refs.ids, ...refs.names]);
      return true;
    }
    this.checkpoint();
    const plan = planPair(this.st.enis, { subnets: view.network.subnets, owned: view.owned, usedDeviceIndexes: view.usedDeviceIndexes }, desired.instanceId, desired.spec.deviceIndex);
    // Our tags first, also on an ENI about to be released: the IAM policy lets the controller detach and delete
    // only ENIs carrying its cluster tag, and an ENI the Go controller left has none yet.
    await Promise.all(plan.adopt.map((a) => this.adopt(a.record, a.found, a.kept)));
    this.st.enis = plan.records;
    // Unwanted ENIs go first: their device indexes are planned as free.
    await Promise.all(plan.unwanted.map((r) => this.releaseEni(r)));
    const used = new Set(plan.used);
    const branches = plan.records.map((r, pos) => this.ensureEniOrFail(r, pos, plan.planned[pos]!, used, view.network, view.maxInterfaces, view.addressLimit));
    // Each branch has set its first phase by now: the user sees the pass start while EC2 works.
    this.report.kick();
    const outcomes = await Promise.allSettled(branches);
    if (outcomes.some((o) => o.status === 'rejected' && o.reason instanceof ReleaseInterrupt)) throw new ReleaseInterrupt();
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    const answered = outcomes.every((o) => o.status === 'fulfilled' && o.value);
    if (answered && plan.records.every((r) => r.phase === 'Ready')) this.lastError = undefined;
    return answered;
  }

  /** A step outside any one subnet failed for good (e.g. tagging an adopted ENI): the pass retries on its backoff. */
  private passFailed(err: unknown): void {
    const message = failureMessage(err);
    this.lastError = message;
    for (const r of this.st.enis) if (r.phase !== 'Ready') Object.assign(r, { phase: 'Failed', message });
    if (!this.st.enis.some((r) => r.phase === 'Failed')) this.st.enis.push({ subnetId: '-', phase: 'Failed', message });
    this.report.note('Warning', 'ENIAttachmentFailed', `${this.desired.nodeName}: ${message}`);
  }

  /** Nothing is created when the network does not resolve; ENIs held for subnets that still resolve stay. */
  private resolveFailed(message: string, subnets: string[]): void {
    this.lastError = message;
    for (const s of subnets.length ? subnets : ['-']) {
      let r = this.st.enis.find((e) => e.subnetId === s);
      if (!r) this.st.enis.push((r = { subnetId: s, phase: 'Failed' }));
      if (!r.eniId) Object.assign(r, { phase: 'Failed', message });
    }
    this.report.note('Warning', 'ENICreationFailed', `${this.desired.nodeName}: ${message}`);
  }

  private async adopt(record: EniRecord, found: { eniId: string; subnetId: string; tags: Record<string, string> }, kept: boolean): Promise<void> {
    const { desired } = this;
    const written = await ec2.ensureTags.executeWithOptions({ ...ec2Options, summary: `adopt ${found.eniId}: ensure tags` }, [
      { eniId: found.eniId, current: found.tags, nodeENI: desired.nodeENI, nodeName: desired.nodeName, subnetId: found.subnetId },
    ]);
    if (kept) this.report.note('Normal', 'ENIAdopted', `Adopted existing ${this.where(record)}${Object.keys(written).length ? `, tagged ${Object.keys(written).join(', ')}` : ''}`);
  }

  /** Converges one subnet's ENI; a failure marks it Failed with EC2's message (a release passes through). */
  private async ensureEniOrFail(r: EniRecord, pos: number, plannedIndex: number, used: Set<number>, net: ResolvedNetwork, maxInterfaces?: number, addressLimit?: AddressLimit): Promise<boolean> {
    this.checkpoint();
    try {
      return await this.ensureEni(r, pos, plannedIndex, used, net.securityGroupIds, maxInterfaces, addressLimit);
    } catch (err) {
      if (err instanceof ReleaseInterrupt) throw err;
      const message = failureMessage(err);
      this.lastError = message;
      const reason = r.phase === 'Pending' || r.phase === 'Creating' ? 'ENICreationFailed' : 'ENIAttachmentFailed';
      Object.assign(r, { phase: 'Failed', message, waitingForSlot: undefined });
      this.report.note('Warning', reason, `${this.where(r)}: ${message}`);
      return true;
    }
  }

  /** Find or create, attach at the planned index (DeleteOnTermination set with the wait), configure. */
  private async ensureEni(r: EniRecord, pos: number, plannedIndex: number, used: Set<number>, securityGroupIds: string[], maxInterfaces?: number, addressLimit?: AddressLimit): Promise<boolean> {
    const { desired } = this;
    const spec = desired.spec;
    const undo = new Compensation();
    // Addresses the instance type cannot hold (or a static address outside the subnet): said up front, nothing created.
    const addressed = wantsAddresses(spec);
    if (addressed) {
      const problem =
        addressLimitProblem(spec, addressLimit ?? {}) ??
        (!r.eniId && spec.primaryIPv4Address ? primaryAddressProblem(spec.primaryIPv4Address, r.subnetId, r.subnetCidr) : undefined);
      if (problem) return this.refuse(r, 'AddressLimitExceeded', problem);
    }
    // No slot left on the instance (its type's limit, read with the pass): nothing is created until one frees.
    if (!r.eniId && maxInterfaces !== undefined && plannedIndex >= maxInterfaces) {
      this.waitForSlot(r, noFreeSlotMessage({ instanceId: desired.instanceId, maxInterfaces }, [...used].filter((i) => i < maxInterfaces), spec.deviceIndex + pos));
      return true;
    }
    if (!r.eniId) {
      await this.create(r, pos, securityGroupIds, addressed);
      // An ENI this pass created and could not attach is deleted, not leaked.
      undo.add(`delete ${r.eniId}`, () => this.deleteCreated(r));
      this.checkpoint();
    } else if (securityGroupsDiffer(r, securityGroupIds)) {
      await ec2.setSecurityGroups.executeWithOptions({ ...ec2Options, summary: `set security groups of ${r.eniId}` }, [{ eniId: r.eniId, securityGroupIds }]);
      r.securityGroupIds = securityGroupIds;
    }
    if (spec.sourceDestCheck !== undefined && r.sourceDestCheck !== spec.sourceDestCheck) {
      await ec2.setSourceDestCheck.executeWithOptions({ ...ec2Options, summary: `SourceDestCheck=${spec.sourceDestCheck} on ${r.eniId}` }, [{ eniId: r.eniId!, value: spec.sourceDestCheck }]);
      r.sourceDestCheck = spec.sourceDestCheck;
    }
    if (addressed && !addressesMatch(spec, r)) {
      const got = await ec2.ensureAddresses.executeWithOptions(
        { ...ec2Options, summary: `${spec.secondaryIPv4Count ?? 0} secondary addresses, ${spec.ipv4PrefixCount ?? 0} /28 prefixes on ${r.eniId}` },
        [{ eniId: r.eniId!, secondaryIPv4Count: spec.secondaryIPv4Count, ipv4PrefixCount: spec.ipv4PrefixCount }],
      );
      Object.assign(r, got);
    }
    const requested = spec.deviceIndex + pos;
    if (!attachedAsRequested(r, desired.instanceId, requested)) {
      // Attached elsewhere (node replaced) or at an index the spec no longer asks for: detach first.
      if (r.attachmentId) {
        await this.agentRelease(r);
        await this.detach(r, false);
        this.checkpoint();
      }
      try {
        await this.attach(r, plannedIndex, used);
      } catch (err) {
        if (err instanceof ReleaseInterrupt) throw err;
        if (SLOT_SHORTAGE.includes(failureType(err) ?? '')) {
          // The ENI stays (tagged as the pair's): a later pass attaches it when a slot frees. No create/delete churn.
          undo.clear();
          this.waitForSlot(r, `${r.eniId} is created and waits: ${describeFailure(err)}`);
          return true;
        }
        await undo.run();
        throw err;
      }
      undo.clear();
      r.requestedIndex = requested;
      this.checkpoint();
    } else {
      r.requestedIndex ??= requested;
    }
    r.waitingForSlot = undefined;
    if (r.deleteOnTermination !== spec.deleteOnTermination) {
      await ec2.setDeleteOnTermination.executeWithOptions({ ...ec2Options, summary: `DeleteOnTermination=${spec.deleteOnTermination} on ${r.eniId}` }, [
        { eniId: r.eniId!, attachmentId: r.attachmentId!, value: spec.deleteOnTermination },
      ]);
      r.deleteOnTermination = spec.deleteOnTermination;
    }
    this.checkpoint();
    if (!(await this.configure(r))) return false;
    Object.assign(r, { phase: 'Ready', message: undefined });
    return true;
  }

  /** A position that cannot be converged as specified: Failed with why, a Warning, nothing done in EC2. */
  private refuse(r: EniRecord, reason: string, message: string): boolean {
    this.lastError = message;
    if (r.phase !== 'Failed' || r.message !== message) this.report.note('Warning', reason, `${this.where(r)}: ${message}`);
    Object.assign(r, { phase: 'Failed', message, waitingForSlot: undefined });
    return true;
  }

  private async create(r: EniRecord, pos: number, securityGroupIds: string[], addressed: boolean): Promise<void> {
    const { desired } = this;
    Object.assign(r, { phase: 'Creating', message: undefined });
    const seq = this.st.createSeq[r.subnetId] ?? 0;
    const eni = await ec2.createEni.executeWithOptions({ ...ec2Options, summary: `create ENI in ${r.subnetId} (index ${desired.spec.deviceIndex + pos}) for ${desired.nodeName}` }, [
      {
        nodeENI: desired.nodeENI,
        nodeName: desired.nodeName,
        subnetId: r.subnetId,
        securityGroupIds,
        description: desired.spec.description,
        ...(addressed
          ? { addresses: { secondaryIPv4Count: desired.spec.secondaryIPv4Count, ipv4PrefixCount: desired.spec.ipv4PrefixCount, primaryIPv4Address: desired.spec.primaryIPv4Address } }
          : {}),
        // Same token on every retry of this create (EC2 returns the same ENI); a new one for each fresh ENI,
        // and per run chain, since a pair's workflow ID is reused when a node is matched again later.
        tokenKey: `${workflowInfo().workflowId}/${workflowInfo().firstExecutionRunId}/${r.subnetId}/${seq}`,
      },
    ]);
    this.st.createSeq[r.subnetId] = seq + 1;
    Object.assign(r, { eniId: eni.eniId, macAddress: eni.macAddress, securityGroupIds: eni.securityGroupIds, createdHere: true });
    if (eni.sourceDestCheck !== undefined) r.sourceDestCheck = eni.sourceDestCheck;
    if (addressed) Object.assign(r, { privateIp: eni.privateIp, secondaryIps: eni.secondaryIps ?? [], prefixes: eni.prefixes ?? [] });
    this.heldIds.add(eni.eniId);
    this.report.note('Normal', 'ENICreated', `Created ${this.where(r)}`);
  }

  /** Attaches at the planned index, moving past indexes someone else holds, and waits until it is attached. */
  private async attach(r: EniRecord, plannedIndex: number, used: Set<number>): Promise<void> {
    const { desired } = this;
    r.phase = 'Attaching';
    let index = plannedIndex;
    for (let conflicts = 0; ; conflicts++) {
      try {
        const a = await ec2.attachEni.executeWithOptions({ ...ec2Options, summary: `attach ${r.eniId} at index ${index} to ${desired.nodeName} (${desired.instanceId})` }, [
          { eniId: r.eniId!, instanceId: desired.instanceId, deviceIndex: index, nodeName: desired.nodeName },
        ]);
        Object.assign(r, { attachmentId: a.attachmentId, deviceIndex: a.deviceIndex });
        break;
      } catch (err) {
        if (failureType(err) !== ERROR_TYPES.deviceIndexConflict || conflicts >= MAX_INDEX_CONFLICTS) throw err;
        index = nextFreeIndex(index, used);
        log.info('device index taken, moving on', { eni: r.eniId, next: index });
      }
    }
    const eni = await ec2Waits.waitAttached.executeWithOptions({ ...waitOptions, summary: `wait until ${r.eniId} is attached` }, [
      { eniId: r.eniId!, attachmentId: r.attachmentId!, deleteOnTermination: desired.spec.deleteOnTermination },
    ]);
    Object.assign(r, { instanceId: desired.instanceId, macAddress: eni.macAddress ?? r.macAddress, deleteOnTermination: eni.attachment?.deleteOnTermination });
    this.report.note('Normal', 'ENIAttached', `Attached ${this.where(r)} to ${desired.instanceId} at device index ${r.deviceIndex}`);
  }

  /** The instance is full: the position waits (Pending, with why), and the pair looks again soon. Warned once. */
  private waitForSlot(r: EniRecord, message: string): void {
    const first = !r.waitingForSlot;
    Object.assign(r, { phase: 'Pending', message, waitingForSlot: true });
    if (first) this.report.note('Warning', 'NoFreeDeviceIndex', `${this.where(r)}: ${message}`);
  }

  /** Compensation of a create: detach (forced) if it got that far, then delete. */
  private async deleteCreated(r: EniRecord): Promise<void> {
    await this.detach(r, true);
    await ec2.deleteEni.executeWithOptions({ ...releaseOptions, summary: `compensate: delete ${r.eniId}` }, [{ eniId: r.eniId! }]);
    Object.assign(r, { eniId: undefined, macAddress: undefined, createdHere: undefined });
  }

  /** Asks the node agent to configure the interface; false while no agent answers. */
  private async configure(r: EniRecord): Promise<boolean> {
    const { desired } = this;
    const spec = desired.spec;
    const key = configureKey(spec, r.macAddress!);
    if (r.configuredKey === key) return true;
    const dpdk = dpdkEnabled(spec);
    // DPDK turned off on a bound device: give it back to its kernel driver first.
    if (!dpdk && r.dpdkBound) await this.agentRelease(r);
    r.phase = 'Configuring';
    const req = configureRequest(desired, r);
    const scope = new CancellationScope();
    this.agentScopes.add(scope);
    try {
      const res = await scope.run(() =>
        this.agent.configureInterface.executeWithOptions(
          { ...agentOptions(desired.nodeName), summary: `configure ${r.eniId}${spec.mtu ? ` MTU ${spec.mtu}` : ''}${dpdk ? ` DPDK ${spec.dpdkDriver}` : ''} on ${desired.nodeName} (MAC ${r.macAddress})` },
          [req],
        ),
      );
      Object.assign(r, configuredFields(res, key));
      this.report.note('Normal', 'ENIConfigured', configuredMessage(this.where(r), res));
      return true;
    } catch (err) {
      if (isScheduleToStartTimeout(err)) {
        Object.assign(r, { phase: 'WaitingForNodeAgent', message: `waiting for the node agent on ${nodeTaskQueue(desired.nodeName)}` });
        return false;
      }
      if (isCancellation(err) && this.st.releaseRequested) throw new ReleaseInterrupt();
      throw err;
    } finally {
      this.agentScopes.delete(scope);
    }
  }

  /** Node agent release; a node that does not answer (gone, or agent down) does not block the release. */
  private async agentRelease(r: EniRecord): Promise<boolean> {
    if (!r.eniId || !r.macAddress || (!r.configuredKey && !r.dpdkBound)) return true;
    const spec = this.desired.spec;
    try {
      await this.agent.releaseInterface.executeWithOptions(
        { ...agentOptions(this.desired.nodeName), summary: `release ${r.interfaceName ?? r.macAddress} on ${this.desired.nodeName} (node agent)` },
        [
          {
            nodeENI: this.desired.nodeENI,
            eniId: r.eniId,
            macAddress: r.macAddress,
            pciAddress: r.pciAddress,
            ...(r.dpdkBound ? { dpdk: { driver: r.dpdkDriver ?? spec.dpdkDriver, pciAddress: r.pciAddress } } : {}),
            resourceName: spec.dpdkResourceName,
          },
        ],
      );
      r.dpdkBound = false;
      return true;
    } catch (err) {
      log.warn('node agent did not release the interface', { eni: r.eniId, error: describeFailure(err) });
      return false;
    }
  }

  /** Detach (if attached) and wait until it is free. */
  private async detach(r: EniRecord, force: boolean): Promise<void> {
    if (!r.eniId || !r.attachmentId) return;
    await ec2.detachEni.executeWithOptions({ ...releaseOptions, summary: `detach ${r.eniId} on ${this.desired.nodeName} (${r.instanceId ?? this.desired.instanceId})` }, [
      { eniId: r.eniId, attachmentId: r.attachmentId, force },
    ]);
    await ec2Waits.waitDetached.executeWithOptions({ ...waitOptions, summary: `wait until ${r.eniId} is detached` }, [{ eniId: r.eniId }]);
    Object.assign(r, { attachmentId: undefined, instanceId: undefined, requestedIndex: undefined, configuredKey: undefined });
  }

  /** Everything to free one ENI: node agent, detach, wait, delete. */
  private async releaseEni(r: EniRecord): Promise<void> {
    r.phase = 'Releasing';
    const agentOk = await this.agentRelease(r);
    await this.detach(r, !agentOk);
    if (r.eniId) {
      await ec2.deleteEni.executeWithOptions({ ...releaseOptions, summary: `delete ${r.eniId} (${this.desired.nodeName}, ${r.subnetId})` }, [{ eniId: r.eniId }]);
      this.report.note('Normal', 'ENIDeleted', `Detached and deleted ${this.where(r)}`);
    }
    this.st.enis = this.st.enis.filter((e) => e !== r);
  }

  /** Releases every ENI at once, removes the pair's status entries, and ends (or starts over when wanted again). */
  private async finishRelease(): Promise<{ released: string[] }> {
    setCurrentDetails(`releasing ${this.desired.nodeENI} on ${this.desired.nodeName}: ${this.releaseReason}`);
    const released = this.st.enis.map((e) => e.eniId).filter((x): x is string => !!x);
    for (const r of this.st.enis) r.phase = 'Releasing';
    this.publishSearchAttributes();
    this.report.kick();
    await Promise.all([...this.st.enis].map((r) => this.releaseEni(r)));
    await this.report.flush();
    if (this.st.revive) {
      // Wanted again: start over with a fresh history and the newest spec.
      await this.continueWith(this.st.revive, { enis: [], createSeq: this.st.createSeq, releaseRequested: false, dirty: true, eventSeq: this.st.eventSeq });
    }
    setCurrentDetails(`released (${this.releaseReason})`);
    upsertSearchAttributes([{ key: SA_ENI_PHASE, value: 'Released' }]);
    return { released };
  }

  /** EniIds, EniPhase and InstanceId for the Web UI's search, upserted only when they changed. */
  private publishSearchAttributes(): void {
    for (const e of this.st.enis) if (e.eniId) this.heldIds.add(e.eniId);
    const phase = this.st.releaseRequested ? 'Releasing' : pairPhase(this.st.enis);
    const key = JSON.stringify([[...this.heldIds], phase, this.desired.instanceId]);
    if (key === this.lastSearchKey) return;
    this.lastSearchKey = key;
    upsertSearchAttributes([
      { key: SA_ENI_IDS, value: [...this.heldIds] },
      { key: SA_ENI_PHASE, value: phase },
      { key: SA_INSTANCE_ID, value: this.desired.instanceId },
    ]);
  }
}
