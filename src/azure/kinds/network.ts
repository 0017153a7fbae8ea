/**
 * `Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies`: Microsoft's Default Rule
 * Set in the chosen mode plus custom rules. The API has no PATCH: every write is a whole PUT.
 */
import { stableStringify } from '../../runtime/compare.ts';
import type { ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import { mergeTags, type Placement, props, provisioningState, putBackWithTags, type Tags } from './common.ts';
import { placementDiff } from './compare.ts';
import { armId, inResourceGroup } from './ids.ts';

export const NETWORK_API_VERSION = '2026-01-01';

/** Microsoft's Default Rule Set (OWASP CRS based), the managed rule set Azure recommends. */
export const MANAGED_RULE_SET = { ruleSetType: 'Microsoft_DefaultRuleSet', ruleSetVersion: '2.1' } as const;

export interface WafCustomRuleSpec {
  name: string;
  priority: number;
  ruleType: 'MatchRule';
  action: 'Block';
  matchConditions: {
    matchVariables: { variableName: 'RemoteAddr' }[];
    operator: 'IPMatch' | 'GeoMatch';
    negationConditon: boolean;
    matchValues: string[];
  }[];
}

export interface WafPolicyParams extends Placement {
  resourceGroupId: string;
  name: string;
  mode: 'Prevention' | 'Detection';
  customRules: readonly WafCustomRuleSpec[];
}

function body(p: WafPolicyParams, tags: Tags): ArmBody {
  return {
    location: p.location,
    tags,
    properties: {
      policySettings: { state: 'Enabled', mode: p.mode, requestBodyCheck: true },
      managedRules: { managedRuleSets: [{ ...MANAGED_RULE_SET }] },
      customRules: p.customRules.map((r) => ({ ...r, state: 'Enabled' })),
    },
  };
}

/** Custom rules as we compare them: the fields we set, in order (priority order is meaning). */
function comparableRules(rules: unknown): unknown[] {
  if (!Array.isArray(rules)) return [];
  return rules.map((r: Record<string, unknown>) => ({
    name: r.name,
    priority: r.priority,
    ruleType: r.ruleType,
    action: r.action,
    matchConditions: ((r.matchConditions as Record<string, unknown>[] | undefined) ?? []).map((m) => ({
      matchVariables: ((m.matchVariables as { variableName: unknown }[] | undefined) ?? []).map((v) => ({
        variableName: v.variableName,
      })),
      operator: m.operator,
      negationConditon: m.negationConditon ?? false,
      matchValues: m.matchValues,
    })),
  }));
}

type ComparableRule = {
  name: unknown;
  priority: unknown;
  action: unknown;
  matchConditions: { operator: unknown; negationConditon: unknown; matchValues: unknown }[];
};

/** `name: IPMatch not [a, b]` for people: what a rule matches, in one line. */
function ruleSummary(rule: ComparableRule): string {
  const matches = rule.matchConditions.map(
    (m) => `${m.operator}${m.negationConditon ? ' not' : ''} [${(Array.isArray(m.matchValues) ? m.matchValues : []).join(', ')}]`,
  );
  return `${String(rule.name)} (priority ${String(rule.priority)}, ${String(rule.action)} ${matches.join(' and ')})`;
}

/** What a custom-rule update changes, rule by rule: added, removed, or old -> new. */
export function describeCustomRuleChanges(observed: unknown, desired: unknown): string[] {
  const before = new Map((comparableRules(observed) as ComparableRule[]).map((r) => [String(r.name), r]));
  const after = new Map((comparableRules(desired) as ComparableRule[]).map((r) => [String(r.name), r]));
  const lines: string[] = [];
  for (const [name, rule] of after) {
    const old = before.get(name);
    if (!old) lines.push(`custom rule added: ${ruleSummary(rule)}`);
    else if (stableStringify(old) !== stableStringify(rule))
      lines.push(`custom rule ${ruleSummary(old)} -> ${ruleSummary(rule)}`);
  }
  for (const [name, rule] of before) if (!after.has(name)) lines.push(`custom rule removed: ${ruleSummary(rule)}`);
  return lines;
}

export const wafPolicyKind: ResourceKind<WafPolicyParams> = {
  ...inResourceGroup<WafPolicyParams>(
    'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies',
    NETWORK_API_VERSION,
    'WAF policy',
  ),
  create: (p) => body(p, p.tags),
  diff: (p, observed) => {
    const o = props(observed);
    const settings = (o.policySettings ?? {}) as { mode?: unknown; state?: unknown };
    const sets = (
      (o.managedRules as { managedRuleSets?: { ruleSetType: unknown; ruleSetVersion: unknown }[] } | undefined)
        ?.managedRuleSets ?? []
    ).map((r) => ({ ruleSetType: r.ruleSetType, ruleSetVersion: r.ruleSetVersion }));
    const fields = placementDiff(p, observed);
    if (settings.mode !== p.mode) fields.push('mode');
    if (settings.state !== 'Enabled') fields.push('state');
    if (stableStringify(sets) !== stableStringify([MANAGED_RULE_SET])) fields.push('managedRules');
    if (stableStringify(comparableRules(o.customRules)) !== stableStringify(comparableRules(p.customRules)))
      fields.push('customRules');
    return fields;
  },
  describeChange: (p, observed, fields) =>
    fields.flatMap((field) => {
      const o = props(observed);
      if (field === 'mode') return [`mode ${String((o.policySettings as { mode?: unknown } | undefined)?.mode)} -> ${p.mode}`];
      if (field === 'customRules') return describeCustomRuleChanges(o.customRules, p.customRules);
      return [field];
    }),
  update: (p, observed, fields) =>
    fields.includes('location')
      ? undefined
      : { method: 'PUT', body: body(p, mergeTags(p.tags, observed.tags as Tags | undefined)) },
  state: provisioningState,
  tag: (observed, tags) =>
    putBackWithTags(observed, tags, {
      policySettings: props(observed).policySettings,
      managedRules: props(observed).managedRules,
      customRules: props(observed).customRules ?? [],
    }),
};

export function wafPolicyId(resourceGroupId: string, name: string): string {
  return armId(wafPolicyKind.type, resourceGroupId, name);
}
