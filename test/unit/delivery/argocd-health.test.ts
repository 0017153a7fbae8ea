/**
 * The Argo CD health checks of config/argocd run in Lua 5.1 (the language of Argo CD's gopher-lua)
 * over every case of each kind's health_test.yaml, the file format Argo CD's own tests use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { run } from './tools.ts';

const DIR = join(REPO_ROOT, 'config', 'argocd', 'resource_customizations', 'tenancy.dev');
const KINDS = ['BackupPolicy', 'MaintenanceWindow', 'Tenant'];

interface HealthTests {
  tests: { healthStatus: { status: string; message: string }; inputPath: string }[];
}

/** A Lua 5.1 string literal: printable ASCII as is, everything else as decimal byte escapes. */
function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (byte >= 0x20 && byte < 0x7f) out += ch;
    else out += `\\${byte}`;
  }
  return `${out}"`;
}

/** A YAML/JSON value as a Lua table constructor, the shape Argo CD hands a health script as `obj`. */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  const fields = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
  return `{${fields.map(([k, v]) => `[${luaString(k)}] = ${toLua(v)}`).join(', ')}}`;
}

/** Runs health.lua on one object in a fresh interpreter and returns what it reports. */
function health(script: string, object: unknown): { status: string; message: string } {
  const harness = `obj = ${toLua(object)}\nlocal hs = dofile(${luaString(script)})\nio.write(hs.status, "\\n", hs.message or "", "\\n")\n`;
  const [status = '', message = ''] = run('lua5.1', ['-'], {}, harness).split('\n');
  return { status, message };
}

describe('toLua', () => {
  test('writes nested tables, arrays, numbers and escaped strings', () => {
    expect(toLua({ a: [1, true, 'x"y\\'], b: null, 'c-d': { e: 'é\n' } })).toBe(
      '{["a"] = {1, true, "x\\"y\\\\"}, ["c-d"] = {["e"] = "\\195\\169\\10"}}',
    );
  });
});

test('the three kinds share one health script', () => {
  const scripts = KINDS.map((k) => readFileSync(join(DIR, k, 'health.lua'), 'utf8'));
  expect(new Set(scripts).size).toBe(1);
});

describe.each(KINDS)('%s health.lua', (kind) => {
  const { tests } = parseYaml(readFileSync(join(DIR, kind, 'health_test.yaml'), 'utf8')) as HealthTests;

  test('has a case for every file in testdata/, and Healthy, Progressing and Degraded among them', () => {
    expect(tests.map((t) => t.inputPath).sort()).toEqual(readdirSync(join(DIR, kind, 'testdata')).map((f) => `testdata/${f}`));
    expect(new Set(tests.map((t) => t.healthStatus.status))).toEqual(new Set(['Healthy', 'Progressing', 'Degraded']));
  });

  test.each(tests.map((t) => [t.inputPath, t.healthStatus] as const))('%s', (inputPath, expected) => {
    const object = parseYaml(readFileSync(join(DIR, kind, inputPath), 'utf8')) as unknown;
    expect(health(join(DIR, kind, 'health.lua'), object)).toEqual(expected);
  });
});
