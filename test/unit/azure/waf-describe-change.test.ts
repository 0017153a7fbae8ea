/**
 * A WAF policy update says what changed, old -> new, so the Event and the audit line tell a person
 * more than "customRules" (issue #19, item 8).
 */
import { describe, expect, test } from '@jest/globals';
import {
  describeCustomRuleChanges,
  type WafCustomRuleSpec,
  type WafPolicyParams,
  wafPolicyKind,
} from '../../../src/azure/kinds/network.ts';

const ipRule = (values: string[], priority = 10): WafCustomRuleSpec => ({
  name: 'BlockOutsideAllowedRanges',
  priority,
  ruleType: 'MatchRule',
  action: 'Block',
  matchConditions: [
    { matchVariables: [{ variableName: 'RemoteAddr' }], operator: 'IPMatch', negationConditon: true, matchValues: values },
  ],
});
const geoRule = (values: string[]): WafCustomRuleSpec => ({
  name: 'BlockOutsideAllowedCountries',
  priority: 20,
  ruleType: 'MatchRule',
  action: 'Block',
  matchConditions: [
    { matchVariables: [{ variableName: 'RemoteAddr' }], operator: 'GeoMatch', negationConditon: true, matchValues: values },
  ],
});

describe('describeCustomRuleChanges', () => {
  test.each([
    ['no change', [ipRule(['203.0.113.0/24'])], [ipRule(['203.0.113.0/24'])], []],
    [
      'a range added to a rule',
      [ipRule(['203.0.113.0/24'])],
      [ipRule(['203.0.113.0/24', '198.51.100.0/24'])],
      [
        'custom rule BlockOutsideAllowedRanges (priority 10, Block IPMatch not [203.0.113.0/24]) -> BlockOutsideAllowedRanges (priority 10, Block IPMatch not [203.0.113.0/24, 198.51.100.0/24])',
      ],
    ],
    [
      'a rule added',
      [],
      [geoRule(['CH'])],
      ['custom rule added: BlockOutsideAllowedCountries (priority 20, Block GeoMatch not [CH])'],
    ],
    [
      'a rule removed',
      [geoRule(['CH', 'DE'])],
      [],
      ['custom rule removed: BlockOutsideAllowedCountries (priority 20, Block GeoMatch not [CH, DE])'],
    ],
  ] as [string, WafCustomRuleSpec[], WafCustomRuleSpec[], string[]][])('%s', (_name, observed, desired, lines) => {
    expect(describeCustomRuleChanges(observed, desired)).toEqual(lines);
  });
});

test('the WAF kind describes a mode change and rule changes for the Event', () => {
  const params = { mode: 'Prevention', customRules: [geoRule(['CH'])] } as unknown as WafPolicyParams;
  const observed = { properties: { policySettings: { mode: 'Detection' }, customRules: [] } };
  expect(wafPolicyKind.describeChange?.(params, observed, ['mode', 'customRules', 'tags'])).toEqual([
    'mode Detection -> Prevention',
    'custom rule added: BlockOutsideAllowedCountries (priority 20, Block GeoMatch not [CH])',
    'tags',
  ]);
});
