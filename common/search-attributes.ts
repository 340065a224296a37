// Typed search attribute keys (registered on the server under the names in names.ts).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_NODEENI = defineSearchAttributeKey('NodeENI', SearchAttributeType.KEYWORD);
export const SA_NODE_NAME = defineSearchAttributeKey('NodeName', SearchAttributeType.KEYWORD);
export const SA_INSTANCE_ID = defineSearchAttributeKey('InstanceId', SearchAttributeType.KEYWORD);
export const SA_ENI_IDS = defineSearchAttributeKey('EniIds', SearchAttributeType.KEYWORD_LIST);
export const SA_ENI_PHASE = defineSearchAttributeKey('EniPhase', SearchAttributeType.KEYWORD);
