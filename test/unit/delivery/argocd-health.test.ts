/**
 * The Argo CD health checks of config/argocd, run the way Argo CD runs them (bin/status-check:
 * gopher-lua without the standard libraries, the object converted by Argo CD's own rules) over
 * every case of each kind's health_test.yaml, the file format of Argo CD's own tests; and the
 * testdata checked to be statuses the operator really writes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import type { Condition } from '../../../src/api/v1alpha1/common.ts';
import { CONDITION_TYPES, type ConditionKind, isCatalogued, kstatusConditions } from '../../../src/api/v1alpha1/conditions.ts';
import { summarizeReady } from '../../../src/runtime/conditions.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { statusCheck, type Verdict } from './tools.ts';

const DIR = join(REPO_ROOT, 'config', 'argocd', 'resource_customizations', 'tenancy.dev');
const KINDS: ConditionKind[] = ['BackupPolicy', 'MaintenanceWindow', 'Tenant'];

interface HealthTests {
  tests: { healthStatus: { status: string; message: string }; inputPath: string }[];
}
type Fixture = { metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: Condition[] } };

const healthTests = (kind: string) => (parseYaml(readFileSync(join(DIR, kind, 'health_test.yaml'), 'utf8')) as HealthTests).tests;
const fixture = (kind: string, inputPath: string) => parseYaml(readFileSync(join(DIR, kind, inputPath), 'utf8')) as Fixture;
const script = (kind: string) => join(DIR, kind, 'health.lua');
const pick = ({ type, status, reason, message }: { type: string; status: string; reason: string; message: string }) => ({
  type,
  status,
  reason,
  message,
});

test('the three kinds share one health script', () => {
  const scripts = KINDS.map((k) => readFileSync(script(k), 'utf8'));
  expect(new Set(scripts).size).toBe(1);
});

describe('status-check runs a script as Argo CD does', () => {
  const object = { apiVersion: 'tenancy.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'a', generation: 1 } };
  const dir = mkdtempSync(join(tmpdir(), 'tenant-operator-lua-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const evaluate = (lua: string, obj: unknown = object): Verdict => {
    const file = join(dir, 'health.lua');
    writeFileSync(file, lua);
    return statusCheck({ argocdHealth: file }, [obj])[0] as Verdict;
  };

  test.each([
    ['the string library', 'return { status = string.upper("healthy") }'],
    ['the io library', 'io.write("x") return { status = "Healthy" }'],
    ['os.exit', 'os.exit(1) return { status = "Healthy" }'],
  ])('without %s, as an argocd-cm script without useOpenLibs', (_, lua) => {
    const verdict = evaluate(lua);
    expect(verdict.status).toBe('Unknown');
    expect(verdict.error).toMatch(/attempt to (index|call) a non-(table|function) object/);
  });

  test('with base, table and os.time, which Argo CD opens for every script', () => {
    const lua =
      'local t = {} table.insert(t, tostring(obj.metadata.generation)) return { status = "Healthy", message = t[1] .. (os.time() > 0 and "" or "?") }';
    expect(evaluate(lua)).toEqual({ status: 'Healthy', message: '1' });
  });

  test('a status Argo CD does not know is Unknown', () => {
    expect(evaluate('return { status = "Fine" }')).toEqual({
      status: 'Unknown',
      message: 'Lua returned an invalid health status',
    });
  });

  test('an object being deleted is Progressing before any script runs', () => {
    const deleting = { ...object, metadata: { ...object.metadata, deletionTimestamp: '2026-06-03T02:00:00Z' } };
    expect(evaluate('return { status = "Degraded" }', deleting)).toEqual({ status: 'Progressing', message: 'Pending deletion' });
  });
});

describe.each(KINDS)('%s health.lua', (kind) => {
  const tests = healthTests(kind);
  let verdicts: Verdict[] = [];
  beforeAll(() => {
    verdicts = statusCheck(
      { argocdHealth: script(kind) },
      tests.map((t) => fixture(kind, t.inputPath)),
    );
  });

  test('has a case for every file in testdata/, and Healthy, Progressing and Degraded among them', () => {
    expect(tests.map((t) => t.inputPath).sort()).toEqual(readdirSync(join(DIR, kind, 'testdata')).map((f) => `testdata/${f}`));
    expect(new Set(tests.map((t) => t.healthStatus.status))).toEqual(new Set(['Healthy', 'Progressing', 'Degraded']));
  });

  test.each(tests.map((t, i) => [t.inputPath, i, t.healthStatus] as const))('%s', (_, i, expected) => {
    expect(verdicts[i]).toEqual(expected);
  });

  // The cases are only worth their verdicts if the statuses are the operator's: catalogued types
  // and reasons, Ready as the operator summarises, Stalled and Reconciling as the catalogue's rule
  // computes them from the components.
  test.each(tests.map((t) => [t.inputPath] as const))('%s holds a status the operator writes', (inputPath) => {
    const { metadata, status } = fixture(kind, inputPath);
    if (!status?.conditions) {
      expect(status).toEqual({ observedGeneration: 0 }); // a new object, as the API server serves it (the CRD's default)
      return;
    }
    for (const c of status.conditions) {
      expect([c.type, (CONDITION_TYPES as Record<string, { kinds: readonly string[] }>)[c.type]?.kinds]).toEqual([
        c.type,
        expect.arrayContaining([kind]),
      ]);
      expect([c.reason, isCatalogued(c.reason)]).toEqual([c.reason, true]);
      expect(c.observedGeneration).toBe(status.observedGeneration);
    }
    expect(metadata.generation).toBeGreaterThanOrEqual(status.observedGeneration ?? 0);
    const role = (type: string) => (CONDITION_TYPES as Record<string, { role: string }>)[type]?.role;
    const components = status.conditions.filter((c) => role(c.type) === 'component');
    const ready = status.conditions.find((c) => c.type === 'Ready');
    // BackupPolicy and MaintenanceWindow have no component but Ready itself.
    const decisive = components.length > 0 ? components : ready ? [ready] : [];
    const byType = (type: string) => status.conditions?.find((c) => c.type === type);
    expect(pick(ready as Condition)).toEqual(pick(components.length > 0 ? summarizeReady(components) : (ready as Condition)));
    for (const expected of kstatusConditions(decisive)) expect(pick(byType(expected.type) as Condition)).toEqual(expected);
  });
});
