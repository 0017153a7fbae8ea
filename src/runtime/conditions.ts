/**
 * Condition helpers shaped like metav1.Condition: one entry per type, lastTransitionTime moves
 * only when the status flips, every entry carries the generation it was computed from.
 */
import type { Condition } from '../api/v1alpha1/common.ts';
import { redactText } from '../observability/redaction.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Returns a new list with `input` set. The previous lastTransitionTime is kept when the status
 * did not change, so "since when" stays truthful across resyncs. The message is redacted: it often
 * quotes an API error, and an error may echo what someone typed or a header.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: redactText(input.message),
    lastTransitionTime:
      previous && previous.status === input.status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * The Ready condition summarising component conditions: True only when all are True; otherwise
 * the first one that is not, so the printer column shows the most useful reason.
 */
export function summarizeReady(components: readonly ConditionInput[]): ConditionInput {
  const blocking = components.find((c) => c.status !== 'True');
  if (!blocking) return { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'All components are ready.' };
  return {
    type: 'Ready',
    status: blocking.status === 'Unknown' ? 'Unknown' : 'False',
    reason: blocking.reason,
    message: `${blocking.type}: ${blocking.message}`,
  };
}
