/**
 * Custom search attributes: how operations and appliance tasks are found in the Temporal Web UI
 * and through visibility queries. The dev server registers every one of them at start.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  operationId: defineSearchAttributeKey('FleetOperationId', SearchAttributeType.KEYWORD),
  operationKind: defineSearchAttributeKey('FleetOperationKind', SearchAttributeType.KEYWORD),
  operationStatus: defineSearchAttributeKey('FleetOperationStatus', SearchAttributeType.KEYWORD),
  productCode: defineSearchAttributeKey('FleetProductCode', SearchAttributeType.KEYWORD),
  username: defineSearchAttributeKey('FleetUsername', SearchAttributeType.KEYWORD),
  serial: defineSearchAttributeKey('FleetSerial', SearchAttributeType.KEYWORD),
  taskStatus: defineSearchAttributeKey('FleetTaskStatus', SearchAttributeType.KEYWORD),
  taskStage: defineSearchAttributeKey('FleetTaskStage', SearchAttributeType.KEYWORD),
  /** Why an operation's rollout holds: `awaiting_approval`, `paused`, or `none` (domain/rollout.ts RolloutHold). */
  rolloutHold: defineSearchAttributeKey('FleetRolloutHold', SearchAttributeType.KEYWORD),
} as const;

/** name → type, the form `temporal server start-dev --search-attribute` and the operator API take. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword'> = Object.fromEntries(
  Object.values(SA).map((key) => [key.name, 'Keyword' as const]),
);
