/**
 * The tenant's Azure web application firewall policy: the OWASP-based Default Rule Set in
 * Prevention mode, plus custom rules that block clients outside the tenant's allowed source
 * ranges and countries. Both front-door modes reference it by resource id; allow-list changes
 * update it in place (no disruption, so they are never held for a maintenance window).
 */
import { stableStringify } from '../runtime/compare.ts';
import { type AzureContext, assertSettled, callOptions, getOrUndefined, mergeTags, placementDiff, type Tags } from './arm.ts';

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

export interface WafPolicyDesired {
  resourceGroup: string;
  name: string;
  location: string;
  tags: Tags;
  mode: 'Prevention' | 'Detection';
  customRules: WafCustomRuleSpec[];
}

export interface WafPolicyObserved {
  id: string;
  location: string;
  tags: Tags;
  provisioningState: string | undefined;
  mode: string | undefined;
  state: string | undefined;
  managedRuleSets: { ruleSetType: string; ruleSetVersion: string }[];
  customRules: WafCustomRuleSpec[];
}

export type WafPolicyField = 'location' | 'tags' | 'mode' | 'state' | 'managedRules' | 'customRules';

type Policy = Awaited<ReturnType<AzureContext['clients']['network']['webApplicationFirewallPolicies']['get']>>;

function toObserved(p: Policy): WafPolicyObserved {
  return {
    id: p.id ?? '',
    location: p.location ?? '',
    tags: p.tags ?? {},
    provisioningState: p.provisioningState,
    mode: p.policySettings?.mode,
    state: p.policySettings?.state,
    managedRuleSets: (p.managedRules?.managedRuleSets ?? []).map((r) => ({
      ruleSetType: r.ruleSetType,
      ruleSetVersion: r.ruleSetVersion,
    })),
    customRules: (p.customRules ?? []).map((r) => ({
      name: r.name ?? '',
      priority: r.priority,
      ruleType: r.ruleType as 'MatchRule',
      action: r.action as 'Block',
      matchConditions: r.matchConditions.map((m) => ({
        matchVariables: m.matchVariables.map((v) => ({ variableName: v.variableName as 'RemoteAddr' })),
        operator: m.operator as 'IPMatch' | 'GeoMatch',
        negationConditon: m.negationConditon ?? false,
        matchValues: m.matchValues,
      })),
    })),
  };
}

export async function observeWafPolicy(
  ctx: AzureContext,
  resourceGroup: string,
  name: string,
): Promise<WafPolicyObserved | undefined> {
  const policy = await getOrUndefined(() =>
    ctx.clients.network.webApplicationFirewallPolicies.get(resourceGroup, name, callOptions(ctx)),
  );
  return policy === undefined ? undefined : toObserved(policy);
}

/** Fields that differ. Pure; rules compare by content, in order (priority order is meaning). */
export function diffWafPolicy(desired: WafPolicyDesired, observed: WafPolicyObserved): WafPolicyField[] {
  const fields: WafPolicyField[] = placementDiff(desired, observed);
  if (observed.mode !== desired.mode) fields.push('mode');
  if (observed.state !== 'Enabled') fields.push('state');
  if (stableStringify(observed.managedRuleSets) !== stableStringify([MANAGED_RULE_SET])) fields.push('managedRules');
  if (stableStringify(observed.customRules) !== stableStringify(desired.customRules)) fields.push('customRules');
  return fields;
}

/** PUT the whole policy when it is missing or differs (the API has no PATCH); no call otherwise. */
export async function applyWafPolicy(
  ctx: AzureContext,
  desired: WafPolicyDesired,
  observed: WafPolicyObserved | undefined,
): Promise<WafPolicyObserved> {
  if (observed) {
    assertSettled(ctx, `WAF policy ${desired.name}`, observed.provisioningState);
    if (diffWafPolicy(desired, observed).length === 0) return observed;
  }
  const policy = await ctx.clients.network.webApplicationFirewallPolicies.createOrUpdate(
    desired.resourceGroup,
    desired.name,
    {
      location: desired.location,
      tags: mergeTags(desired.tags, observed?.tags),
      policySettings: { state: 'Enabled', mode: desired.mode, requestBodyCheck: true },
      managedRules: { managedRuleSets: [{ ...MANAGED_RULE_SET }] },
      customRules: desired.customRules.map((r) => ({ ...r, state: 'Enabled' as const })),
    },
    callOptions(ctx),
  );
  return toObserved(policy);
}

export async function deleteWafPolicy(ctx: AzureContext, resourceGroup: string, name: string): Promise<void> {
  await ctx.clients.network.webApplicationFirewallPolicies.delete(resourceGroup, name, callOptions(ctx)).pollUntilDone();
}
