// Signals and the query of the lifecycle workflow, shared by its current and its first version.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DesiredPair, PairState, ReleaseRequest, RepairRequest } from '../common/lifecycle-contract.js';
import { QUERY_STATE, SIGNAL_RELEASE, SIGNAL_REPAIR, SIGNAL_SPEC } from '../common/names.js';

export const specSignal = defineSignal<[DesiredPair]>(SIGNAL_SPEC);
export const releaseSignal = defineSignal<[ReleaseRequest]>(SIGNAL_RELEASE);
export const repairSignal = defineSignal<[RepairRequest]>(SIGNAL_REPAIR);
export const stateQuery = defineQuery<PairState>(QUERY_STATE);
