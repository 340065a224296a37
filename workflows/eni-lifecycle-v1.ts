// The first version of the ENI lifecycle, kept unchanged for the runs that started with it: they replay here
// (eni-lifecycle.ts sends a run without the pair-lifecycle patch marker to this function) until they release or
// continue as new, which moves them to the current code. Remove once no such run remains (deprecatePatch first).
import {
  CancellationScope,
  isCancellation,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Ec2Activities, EniInfo } from '../activities/ec2.js';
import type { KubeActivities } from '../activities/kube.js';
import type { NodeAgentActivities } from '../common/node-agent-contract.js';
import type { CarriedState, EniRecord, LifecycleInput } from '../common/lifecycle-contract.js';
import { NODE_AGENT_ERRORS } from '../common/node-agent-contract.js';
import { kubeTaskQueue, nodeTaskQueue } from '../common/names.js';
import { releaseSignal, repairSignal, specSignal, stateQuery } from './pair-signals.js';
import { describeFailure, failureType, isScheduleToStartTimeout } from './failures.js';
import { SA_ENI_IDS, SA_ENI_PHASE, SA_INSTANCE_ID } from '../common/search-attributes.js';
import { subnetRefs, dpdkEnabled } from '../common/spec-fields.js';
import { AGENT_BACKOFF_MS, FAILED_BACKOFF_MS, attachmentStatuses, configureKey, configureRequest, configuredFields, configuredMessage, desiredChanged, pairPhase, planDeviceIndexes, statusKey } from './plan.js';

const EC2_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } as const;
// EC2 calls are short: a worker that died mid-call is noticed within 30 s and the call retried elsewhere.
const ec2Options: ActivityOptions = { startToCloseTimeout: '30s', retry: EC2_RETRY };
const waitOptions: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout: '30s', retry: EC2_RETRY };
const kubeRetry = { ...EC2_RETRY, maximumInterval: '30s' } as const;

const ec2 = proxyActivities<Ec2Activities>(ec2Options);
const ec2Waits = proxyActivities<Pick<Ec2Activities, 'waitAttached' | 'waitDetached'>>(waitOptions);

/** Raised at a checkpoint when a release arrives mid-converge: the converge stops between steps. */
class ReleaseInterrupt extends Error {}

const MAX_INDEX_CONFLICTS = 8;
/** EniIds keeps every ENI the run held, so `EniIds="eni-…"` still finds a lifecycle after its release. */
const PATCH_ENI_IDS_HISTORY = 'eni-ids-history';
/** A finished lifecycle says EniPhase="Released". */
const PATCH_RELEASED_PHASE = 'released-phase';
/** A pair with a failed ENI retries on a growing backoff (limits and free addresses change without a spec edit). */
const PATCH_RETRY_FAILED = 'retry-failed';
const HISTORY_LIMIT = 8000;

export async function eniLifecycleV1(input: LifecycleInput): Promise<{ released: string[] }> {
  let desired = input.desired;
  const st: CarriedState = input.carried ?? { enis: [], createSeq: {}, releaseRequested: false, dirty: true, eventSeq: 0 };
  const wfId = workflowInfo().workflowId;
  let converging = false;
  let lastError: string | undefined;
  let releaseReason = 'released';
  let agentRetries = 0;
  let failedRetries = 0;
  /** The node-agent call in flight: a release cancels it rather than wait for its schedule-to-start timeout. */
  let agentScope: CancellationScope | undefined;

  const agentOptions: ActivityOptions = {
    taskQueue: nodeTaskQueue(desired.nodeName),
    // Only that node polls its queue: without a bound the task would wait forever for a node that is gone.
    scheduleToStartTimeout: '1m',
    startToCloseTimeout: '3m',
    heartbeatTimeout: '30s',
    retry: { ...EC2_RETRY, maximumAttempts: 5, nonRetryableErrorTypes: Object.values(NODE_AGENT_ERRORS) },
  };
  const agent = proxyActivities<NodeAgentActivities>(agentOptions);
  // Kubernetes writes have their own queue next to the controller's: its rate limit is the EC2 budget.
  const kubeOptions: ActivityOptions = { taskQueue: kubeTaskQueue(workflowInfo().taskQueue), startToCloseTimeout: '30s', retry: kubeRetry };
  const kube = proxyActivities<KubeActivities>(kubeOptions);

  setHandler(specSignal, (d) => {
    if (st.releaseRequested) {
      // Wanted again while releasing (e.g. relabelled): finish the release, then start over with this spec.
      st.revive = d;
      return;
    }
    if (desiredChanged(desired, d)) st.dirty = true;
    desired = d;
  });
  setHandler(releaseSignal, (r) => {
    st.releaseRequested = true;
    st.revive = undefined;
    releaseReason = r.reason;
    agentScope?.cancel();
  });
  setHandler(repairSignal, (r) => {
    log.info('repair requested', { reason: r.reason, eniIds: r.eniIds });
    st.dirty = true;
  });
  setHandler(stateQuery, () => ({ desired, enis: st.enis, phase: pairPhase(st.enis), releasing: st.releaseRequested, converging, lastError }));

  const checkpoint = () => {
    if (st.releaseRequested) throw new ReleaseInterrupt();
  };

  let lastSa = '';
  const heldIds = new Set<string>();
  const publishSearchAttributes = () => {
    const current = st.enis.map((e) => e.eniId).filter((x): x is string => !!x);
    for (const id of current) heldIds.add(id);
    const eniIds = patched(PATCH_ENI_IDS_HISTORY) ? [...heldIds] : current;
    const phase = st.releaseRequested ? 'Releasing' : pairPhase(st.enis);
    const key = JSON.stringify([eniIds, phase, desired.instanceId]);
    if (key === lastSa) return;
    lastSa = key;
    upsertSearchAttributes([
      { key: SA_ENI_IDS, value: eniIds },
      { key: SA_ENI_PHASE, value: phase },
      { key: SA_INSTANCE_ID, value: desired.instanceId },
    ]);
  };

  /** Writes this pair's status entries, only when they changed. */
  const publish = async () => {
    publishSearchAttributes();
    const entries = attachmentStatuses(desired, st.enis);
    const key = statusKey(entries);
    if (key === st.lastStatusKey) return;
    const stamp = new Date().toISOString();
    const what = st.enis.length ? pairPhase(st.enis) : 'entries removed';
    await kube.applyPairStatus.executeWithOptions({ ...kubeOptions, summary: `status of ${desired.nodeName}: ${what}` }, [
      { nodeENI: desired.nodeENI, nodeName: desired.nodeName, attachments: entries.map((e) => ({ ...e, lastUpdated: stamp })) },
    ]);
    st.lastStatusKey = key;
  };

  const event = async (type: 'Normal' | 'Warning', reason: string, message: string) => {
    st.eventSeq++;
    await kube.emitEvent.executeWithOptions({ ...kubeOptions, summary: `event ${reason}` }, [
      { nodeENI: desired.nodeENI, uid: desired.uid, type, reason, message, key: `${wfId}/${workflowInfo().runId}/${st.eventSeq}` },
    ]);
  };

  const where = (r: EniRecord) => `${r.eniId ?? 'ENI'} (subnet ${r.subnetId}) on ${desired.nodeName}`;

  /** Detach (if attached) and wait until it is free. */
  const detach = async (r: EniRecord, force: boolean) => {
    if (!r.eniId || !r.attachmentId) return;
    await ec2.detachEni.executeWithOptions({ ...ec2Options, summary: `detach ${r.eniId} on ${desired.nodeName} (${r.instanceId ?? desired.instanceId})` }, [
      { eniId: r.eniId, attachmentId: r.attachmentId, force },
    ]);
    await ec2Waits.waitDetached.executeWithOptions({ ...waitOptions, summary: `wait until ${r.eniId} is detached` }, [{ eniId: r.eniId }]);
    r.attachmentId = undefined;
    r.instanceId = undefined;
    r.requestedIndex = undefined;
    r.configuredKey = undefined;
  };

  /** Node agent release; a node that does not answer (gone, or agent down) does not block the release. */
  const agentRelease = async (r: EniRecord): Promise<boolean> => {
    if (!r.eniId || !r.macAddress || (!r.configuredKey && !r.dpdkBound)) return true;
    try {
      await agent.releaseInterface.executeWithOptions({ ...agentOptions, summary: `release ${r.interfaceName ?? r.macAddress} on ${desired.nodeName} (node agent)` }, [
        {
          nodeENI: desired.nodeENI,
          eniId: r.eniId,
          macAddress: r.macAddress,
          pciAddress: r.pciAddress,
          ...(r.dpdkBound ? { dpdk: { driver: r.dpdkDriver ?? desired.spec.dpdkDriver, pciAddress: r.pciAddress } } : {}),
          resourceName: desired.spec.dpdkResourceName,
        },
      ]);
      r.dpdkBound = false;
      return true;
    } catch (err) {
      log.warn('node agent did not release the interface', { eni: r.eniId, error: describeFailure(err) });
      return false;
    }
  };

  /** Everything to free one ENI: node agent, detach, wait, delete. */
  const releaseEni = async (r: EniRecord) => {
    r.phase = 'Releasing';
    await publish();
    const agentOk = await agentRelease(r);
    await detach(r, !agentOk);
    if (r.eniId) {
      await ec2.deleteEni.executeWithOptions({ ...ec2Options, summary: `delete ${r.eniId} (${desired.nodeName}, ${r.subnetId})` }, [{ eniId: r.eniId }]);
      await event('Normal', 'ENIDeleted', `Detached and deleted ${where(r)}`);
    }
  };

  /** Asks the node agent to configure the interface; false while no agent answers. */
  const configure = async (r: EniRecord): Promise<boolean> => {
    const spec = desired.spec;
    const key = configureKey(spec, r.macAddress!);
    if (r.configuredKey === key) return true;
    r.phase = 'WaitingForNodeAgent';
    r.message = `waiting for the node agent on ${nodeTaskQueue(desired.nodeName)}`;
    await publish();
    const dpdk = dpdkEnabled(spec);
    // DPDK turned off on a bound device: give it back to its kernel driver first.
    if (!dpdk && r.dpdkBound) await agentRelease(r);
    const req = configureRequest(desired, r);
    const scope = new CancellationScope();
    agentScope = scope;
    try {
      const res = await scope.run(() =>
        agent.configureInterface.executeWithOptions(
          { ...agentOptions, summary: `configure ${r.eniId}${spec.mtu ? ` MTU ${spec.mtu}` : ''}${dpdk ? ` DPDK ${spec.dpdkDriver}` : ''} on ${desired.nodeName} (MAC ${r.macAddress})` },
          [req],
        ),
      );
      Object.assign(r, configuredFields(res, key));
      await event('Normal', 'ENIConfigured', configuredMessage(where(r), res));
      return true;
    } catch (err) {
      if (isScheduleToStartTimeout(err)) return false;
      if (isCancellation(err) && st.releaseRequested) throw new ReleaseInterrupt();
      throw err;
    } finally {
      agentScope = undefined;
    }
  };

  /** Converges one subnet's ENI: find or create, tag, attach at the right index, DeleteOnTermination, configure. */
  const ensureEni = async (r: EniRecord, position: number, plannedIndex: number, used: Set<number>, securityGroupIds: string[]): Promise<boolean> => {
    const spec = desired.spec;
    let createdNow = false;
    if (!r.eniId) {
      r.phase = 'Creating';
      r.message = undefined;
      await publish();
      const seq = st.createSeq[r.subnetId] ?? 0;
      const eni = await ec2.createEni.executeWithOptions({ ...ec2Options, summary: `create ENI in ${r.subnetId} (index ${spec.deviceIndex + position}) for ${desired.nodeName}` }, [
        {
          nodeENI: desired.nodeENI,
          nodeName: desired.nodeName,
          subnetId: r.subnetId,
          securityGroupIds,
          description: spec.description,
          // Same token on every retry of this create (EC2 returns the same ENI); a new one for each fresh ENI,
          // and per run chain, since a pair's workflow ID is reused when a node is matched again later.
          tokenKey: `${wfId}/${workflowInfo().firstExecutionRunId}/${r.subnetId}/${seq}`,
        },
      ]);
      st.createSeq[r.subnetId] = seq + 1;
      Object.assign(r, { eniId: eni.eniId, macAddress: eni.macAddress, securityGroupIds: eni.securityGroupIds, createdHere: true });
      createdNow = true;
      await event('Normal', 'ENICreated', `Created ${where(r)}`);
      checkpoint();
    } else if (securityGroupIds.join(',') !== [...(r.securityGroupIds ?? [])].sort().join(',') && JSON.stringify([...securityGroupIds].sort()) !== JSON.stringify([...(r.securityGroupIds ?? [])].sort())) {
      await ec2.setSecurityGroups.executeWithOptions({ ...ec2Options, summary: `set security groups of ${r.eniId}` }, [{ eniId: r.eniId, securityGroupIds }]);
      r.securityGroupIds = securityGroupIds;
    }

    const requested = spec.deviceIndex + position;
    // An adopted ENI (the Go controller's, or found by tags) already attached to this instance at or past the
    // index asked for stays where it is: that is where a bump past taken indexes would have put it.
    if (r.requestedIndex === undefined && r.attachmentId && r.instanceId === desired.instanceId && (r.deviceIndex ?? -1) >= requested) {
      r.requestedIndex = requested;
    }
    const attachedHere = r.attachmentId && r.instanceId === desired.instanceId && r.requestedIndex === requested;
    if (!attachedHere) {
      // Attached elsewhere (node replaced) or at an index the spec no longer asks for: detach first.
      if (r.attachmentId) {
        await agentRelease(r);
        await detach(r, false);
        checkpoint();
      }
      r.phase = 'Attaching';
      await publish();
      let index = plannedIndex;
      try {
        for (let conflicts = 0; ; conflicts++) {
          try {
            const a = await ec2.attachEni.executeWithOptions({ ...ec2Options, summary: `attach ${r.eniId} at index ${index} to ${desired.nodeName} (${desired.instanceId})` }, [
              { eniId: r.eniId!, instanceId: desired.instanceId, deviceIndex: index },
            ]);
            r.attachmentId = a.attachmentId;
            r.deviceIndex = a.deviceIndex;
            break;
          } catch (err) {
            if (failureType(err) !== 'DeviceIndexConflict' || conflicts >= MAX_INDEX_CONFLICTS) throw err;
            // Someone else holds that index: move to the next free one, as EC2 leaves the choice to us.
            used.add(index);
            while (used.has(index)) index++;
            used.add(index);
            log.info('device index taken, moving on', { eni: r.eniId, next: index });
          }
        }
        const eni: EniInfo = await ec2Waits.waitAttached.executeWithOptions({ ...waitOptions, summary: `wait until ${r.eniId} is attached` }, [
          { eniId: r.eniId!, attachmentId: r.attachmentId! },
        ]);
        r.instanceId = desired.instanceId;
        r.requestedIndex = requested;
        r.macAddress = eni.macAddress ?? r.macAddress;
        r.deleteOnTermination = eni.attachment?.deleteOnTermination;
      } catch (err) {
        // Compensation: an ENI this converge created and could not attach is deleted, not leaked.
        if (createdNow && !(err instanceof ReleaseInterrupt)) {
          await detach(r, true);
          await ec2.deleteEni.executeWithOptions({ ...ec2Options, summary: `compensate: delete ${r.eniId}` }, [{ eniId: r.eniId! }]);
          r.eniId = undefined;
          r.macAddress = undefined;
          r.createdHere = undefined;
        }
        throw err;
      }
      await event('Normal', 'ENIAttached', `Attached ${where(r)} to ${desired.instanceId} at device index ${r.deviceIndex}`);
      checkpoint();
    }

    if (r.deleteOnTermination !== spec.deleteOnTermination) {
      await ec2.setDeleteOnTermination.executeWithOptions(
        { ...ec2Options, summary: `DeleteOnTermination=${spec.deleteOnTermination} on ${r.eniId}` },
        [{ eniId: r.eniId!, attachmentId: r.attachmentId!, value: spec.deleteOnTermination }],
      );
      r.deleteOnTermination = spec.deleteOnTermination;
    }
    checkpoint();
    if (!(await configure(r))) return false;
    r.phase = 'Ready';
    r.message = undefined;
    return true;
  };

  /** One full convergence of the pair. Returns false when the node agent has not answered yet. */
  const converge = async (): Promise<boolean> => {
    const spec = desired.spec;
    const refs = subnetRefs(spec);
    setCurrentDetails(`converging ${desired.nodeENI} on ${desired.nodeName} (${desired.instanceId})`);
    let net;
    try {
      net = await ec2.resolveNetwork.executeWithOptions({ ...ec2Options, summary: `resolve subnets and security groups of ${desired.nodeENI}` }, [
        // The instance: names resolve in its VPC. A new field of the activity's input, not a new command: replay-safe.
        { subnetIds: refs.ids, subnetNames: refs.names, securityGroupIds: spec.securityGroupIDs ?? [], securityGroupNames: spec.securityGroupNames ?? [], instanceId: desired.instanceId },
      ]);
    } catch (err) {
      const message = describeFailure(err);
      lastError = message;
      const subnets = refs.ids.length + refs.names.length ? [...refs.ids, ...refs.names] : ['-'];
      // Nothing is created: ENIs already attached for subnets that still resolve stay as they are.
      for (const s of subnets) {
        const r = st.enis.find((e) => e.subnetId === s) ?? (st.enis.push({ subnetId: s, phase: 'Failed' }), st.enis[st.enis.length - 1]!);
        if (!r.eniId) Object.assign(r, { phase: 'Failed', message });
      }
      await publish();
      await event('Warning', 'ENICreationFailed', `${desired.nodeName}: ${message}`);
      return true;
    }
    checkpoint();
    // Placeholders from a failed resolve are replaced by the real subnets.
    st.enis = st.enis.filter((e) => e.eniId || net.subnets.some((s) => s.id === e.subnetId));

    const pair = await ec2.describePair.executeWithOptions({ ...ec2Options, summary: `find ENIs of ${desired.nodeENI} on ${desired.nodeName}` }, [
      { nodeENI: desired.nodeENI, nodeName: desired.nodeName, instanceId: desired.instanceId },
    ]);
    checkpoint();

    // What EC2 says wins over what we remember: ENIs deleted or detached behind our back are redone.
    for (const r of st.enis) {
      if (!r.eniId) continue;
      const found = pair.owned.find((e) => e.eniId === r.eniId);
      if (!found) {
        Object.assign(r, { eniId: undefined, attachmentId: undefined, instanceId: undefined, macAddress: undefined, configuredKey: undefined, createdHere: undefined, phase: 'Pending' });
        continue;
      }
      const a = found.attachment;
      if (!a || a.status === 'detaching' || a.status === 'detached') {
        Object.assign(r, { attachmentId: undefined, instanceId: undefined, requestedIndex: undefined, configuredKey: undefined });
      } else {
        Object.assign(r, { attachmentId: a.attachmentId, instanceId: a.instanceId, deviceIndex: a.deviceIndex });
      }
      r.macAddress = found.macAddress ?? r.macAddress;
    }
    // Adopt ENIs found by tags (an earlier run's, or the Go controller's) for subnets without one.
    const extra: EniRecord[] = [];
    for (const found of pair.owned) {
      if (st.enis.some((r) => r.eniId === found.eniId)) continue;
      const slot = net.subnets.some((s) => s.id === found.subnetId) ? st.enis.find((r) => r.subnetId === found.subnetId && !r.eniId) ?? (st.enis.some((r) => r.subnetId === found.subnetId) ? undefined : { subnetId: found.subnetId, phase: 'Pending' as const }) : undefined;
      const rec: EniRecord = slot ?? { subnetId: found.subnetId, phase: 'Pending' };
      Object.assign(rec, {
        eniId: found.eniId,
        macAddress: found.macAddress,
        securityGroupIds: found.securityGroupIds,
        createdHere: false,
        ...(found.attachment && found.attachment.status !== 'detaching' && found.attachment.status !== 'detached'
          ? { attachmentId: found.attachment.attachmentId, instanceId: found.attachment.instanceId, deviceIndex: found.attachment.deviceIndex }
          : {}),
      });
      // Our tags first, also on an ENI about to be released: the IAM policy lets the controller detach and
      // delete only ENIs carrying its cluster tag, and an ENI the Go controller left has none yet.
      const written = await ec2.ensureTags.executeWithOptions({ ...ec2Options, summary: `adopt ${found.eniId}: ensure tags` }, [
        { eniId: found.eniId, current: found.tags, nodeENI: desired.nodeENI, nodeName: desired.nodeName, subnetId: found.subnetId },
      ]);
      if (slot) {
        if (!st.enis.includes(slot)) st.enis.push(slot);
        await event('Normal', 'ENIAdopted', `Adopted existing ${where(rec)}${Object.keys(written).length ? `, tagged ${Object.keys(written).join(', ')}` : ''}`);
      } else {
        extra.push(rec); // a subnet no longer asked for, or a duplicate: released below
      }
    }

    // ENIs for subnets the spec no longer names (or duplicates) are released.
    const unwanted = [...extra, ...st.enis.filter((r) => !net.subnets.some((s) => s.id === r.subnetId))];
    const freed = new Set<number>();
    for (const r of unwanted) {
      checkpoint();
      if (r.attachmentId && r.instanceId === desired.instanceId && r.deviceIndex !== undefined) freed.add(r.deviceIndex);
      await releaseEni(r);
      st.enis = st.enis.filter((e) => e !== r);
    }

    // Order records like the spec's subnets; device indexes follow that order.
    const records = net.subnets.map((s) => {
      let r = st.enis.find((e) => e.subnetId === s.id);
      if (!r) {
        r = { subnetId: s.id, phase: 'Pending' };
        st.enis.push(r);
      }
      r.subnetCidr = s.cidr;
      return r;
    });
    st.enis = records;
    const mine = new Set(records.filter((r) => r.attachmentId && r.instanceId === desired.instanceId).map((r) => r.deviceIndex));
    // Indexes held by our kept ENIs are theirs to keep; those of ENIs released above are free again.
    const used = new Set(pair.usedDeviceIndexes.filter((i) => !mine.has(i) && !freed.has(i)));
    const planned = planDeviceIndexes(spec.deviceIndex, records.length, used);
    for (const i of planned) used.add(i);

    let agentAnswered = true;
    for (const [pos, r] of records.entries()) {
      checkpoint();
      try {
        if (!(await ensureEni(r, pos, planned[pos]!, used, net.securityGroupIds))) agentAnswered = false;
      } catch (err) {
        if (err instanceof ReleaseInterrupt) throw err;
        const message = describeFailure(err);
        lastError = message;
        r.phase = 'Failed';
        r.message = message;
        await publish();
        await event('Warning', r.eniId ? 'ENIAttachmentFailed' : 'ENICreationFailed', `${where(r)}: ${message}`);
      }
    }
    await publish();
    if (agentAnswered && records.every((r) => r.phase === 'Ready')) lastError = undefined;
    return agentAnswered;
  };

  /** Releases every ENI of the pair and removes its status entries. */
  const releaseAll = async () => {
    setCurrentDetails(`releasing ${desired.nodeENI} on ${desired.nodeName}: ${releaseReason}`);
    publishSearchAttributes();
    for (const r of [...st.enis]) {
      await releaseEni(r);
      st.enis = st.enis.filter((e) => e !== r);
    }
    await publish();
  };

  publishSearchAttributes();
  for (;;) {
    if (st.releaseRequested) {
      const released = st.enis.map((e) => e.eniId).filter((x): x is string => !!x);
      await releaseAll();
      if (st.revive) {
        // Wanted again: start over with a fresh history and the newest spec.
        await condition(allHandlersFinished);
        await continueAsNew<typeof eniLifecycleV1>({
          desired: st.revive,
          carried: { enis: [], createSeq: st.createSeq, releaseRequested: false, dirty: true, eventSeq: st.eventSeq },
        });
      }
      setCurrentDetails(`released (${releaseReason})`);
      if (patched(PATCH_RELEASED_PHASE)) upsertSearchAttributes([{ key: SA_ENI_PHASE, value: 'Released' }]);
      return { released };
    }
    if (st.dirty) {
      st.dirty = false;
      converging = true;
      try {
        const answered = await converge();
        agentRetries = answered ? 0 : agentRetries + 1;
      } catch (err) {
        if (!(err instanceof ReleaseInterrupt)) throw err;
      } finally {
        converging = false;
      }
      continue;
    }
    if (st.enis.some((e) => e.phase === 'Failed') && patched(PATCH_RETRY_FAILED)) {
      // Not at rest either: something failed that time may fix (an address freed, a limit raised). A spec
      // change or a release still acts at once.
      const delay = FAILED_BACKOFF_MS[Math.min(failedRetries, FAILED_BACKOFF_MS.length - 1)]!;
      failedRetries++;
      setCurrentDetails(`failed: ${lastError ?? 'see the attachments'}; retrying in ${delay / 60_000} min unless the spec changes`);
      if (!(await condition(() => st.dirty || st.releaseRequested, delay))) st.dirty = true;
      continue;
    }
    failedRetries = 0;
    if (agentRetries > 0) {
      // Not at rest: the node agent has not answered yet. Retry after a growing delay.
      const delay = AGENT_BACKOFF_MS[Math.min(agentRetries - 1, AGENT_BACKOFF_MS.length - 1)]!;
      setCurrentDetails(`waiting for the node agent on ${nodeTaskQueue(desired.nodeName)}`);
      if (!(await condition(() => st.dirty || st.releaseRequested, delay))) st.dirty = true;
      continue;
    }
    setCurrentDetails(`at rest: ${pairPhase(st.enis)}`);
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_LIMIT) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof eniLifecycleV1>({ desired, carried: st });
    }
    // At rest: no timer, nothing runs until a signal arrives.
    await condition(() => st.dirty || st.releaseRequested);
  }
}
