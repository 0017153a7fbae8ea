import { describe, expect, test } from '@jest/globals';
import type { DisruptiveSettings } from '../../../src/maintenance/gate.ts';
import {
  APPLIED_DATABASE_ANNOTATION,
  databaseConnection,
  desiredDatabase,
  desiredSettings,
  runningSettings,
} from '../../../src/maintenance/tenant-settings.ts';
import { buildNamespace } from '../../../src/tenant/namespace.ts';
import { aConfig, aTenant } from '../../fixtures/tenant.ts';

const HOST = 'fog-acme-prod-1a2b.database.windows.net';
const running: DisruptiveSettings = { image: 'repo/app', version: '1.0.0', tier: 'Small' };

describe('desiredDatabase', () => {
  test.each([
    ['Kubernetes-only mode: nothing', false, { host: HOST, name: 'db' }, running, undefined],
    ['known host and name', true, { host: HOST, name: 'db' }, running, `${HOST}/db`],
    ['unknown, never provisioned: none yet', true, {}, undefined, ''],
    ['unknown, provisioned with none yet: still none', true, { host: HOST }, { ...running, database: '' }, ''],
    ['unknown, running one: it stays', true, {}, { ...running, database: 'old/db' }, 'old/db'],
    ['unknown, pods from before database settings: nothing recorded, nothing changed', true, {}, running, undefined],
  ] as const)('%s', (_name, managed, known, runningNow, expected) => {
    expect(desiredDatabase(managed, known, runningNow)).toBe(expected);
  });
});

describe('databaseConnection', () => {
  test.each([
    ['host and name', `${HOST}/sqldb-acme-prod`, { host: HOST, name: 'sqldb-acme-prod' }],
    ['none yet', '', undefined],
    ['not recorded', undefined, undefined],
    ['no name', `${HOST}/`, undefined],
    ['no host', '/db', undefined],
  ] as const)('%s', (_name, setting, expected) => {
    expect(databaseConnection(setting)).toEqual(expected);
  });
});

describe('the namespace records the database the application is given', () => {
  const tenant = aTenant('acme');
  test.each([
    ['a connection', `${HOST}/db`, `${HOST}/db`],
    ['none yet', '', ''],
    ['not recorded (Kubernetes-only mode, or held for pods from before)', undefined, undefined],
  ] as const)('%s', (_name, database, annotation) => {
    const ns = buildNamespace(tenant, aConfig(), { database });
    expect(ns.metadata.annotations?.[APPLIED_DATABASE_ANNOTATION]).toBe(annotation);
    expect(runningSettings(ns)?.database).toBe(annotation);
  });

  test('desired settings carry it', () => {
    expect(desiredSettings(tenant, undefined, `${HOST}/db`)).toMatchObject({ database: `${HOST}/db` });
    expect(desiredSettings(tenant)).not.toHaveProperty('database');
  });
});
