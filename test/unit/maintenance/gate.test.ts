import { describe, expect, test } from '@jest/globals';
import {
  type DisruptiveSettings,
  decideDisruptiveChanges,
  emergencyReasonRecord,
  type GateInput,
} from '../../../src/maintenance/gate.ts';
import type { WindowSchedule } from '../../../src/maintenance/window.ts';

// Wednesdays 02:00-05:00 in Amsterdam (CET in winter: 01:00-04:00 UTC).
const wednesdays: WindowSchedule = {
  timeZone: 'Europe/Amsterdam',
  recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }],
};
const running: DisruptiveSettings = { image: 'repo/app', version: '1.0.0', tier: 'Small' };
const sunday = new Date('2026-11-22T12:00:00Z');
const wednesdayInWindow = new Date('2026-11-25T02:30:00Z'); // 03:30 in Amsterdam

function input(overrides: Partial<GateInput>): GateInput {
  return { desired: running, running, schedule: wednesdays, now: sunday, ...overrides };
}

describe('decideDisruptiveChanges', () => {
  test.each([
    ['nothing changed', {}, 'NoPendingChanges', '1.0.0', []],
    [
      'a first provisioning applies at once',
      { running: undefined, desired: { ...running, version: '2.0.0' } },
      'FirstProvisioning',
      '2.0.0',
      [],
    ],
    [
      'a version bump outside the window waits',
      { desired: { ...running, version: '1.1.0' } },
      'WaitingForWindow',
      '1.0.0',
      ['version 1.0.0 -> 1.1.0'],
    ],
    [
      'a version bump inside the window applies',
      { desired: { ...running, version: '1.1.0' }, now: wednesdayInWindow },
      'WindowOpen',
      '1.1.0',
      [],
    ],
    [
      'the emergency annotation applies at once',
      { desired: { ...running, version: '1.0.1' }, emergencyReason: 'CVE-2026-1234' },
      'EmergencyOverride',
      '1.0.1',
      [],
    ],
    [
      'an emergency reason already honoured does not override again',
      { desired: { ...running, version: '1.0.2' }, emergencyReason: 'CVE-2026-1234', emergencyConsumed: 'CVE-2026-1234' },
      'WaitingForWindow',
      '1.0.0',
      ['version 1.0.0 -> 1.0.2'],
    ],
    [
      'an emergency reason already honoured, as status records it (a digest), does not override again',
      {
        desired: { ...running, version: '1.0.2' },
        emergencyReason: 'CVE-2026-1234',
        emergencyConsumed: emergencyReasonRecord('CVE-2026-1234'),
      },
      'WaitingForWindow',
      '1.0.0',
      ['version 1.0.0 -> 1.0.2'],
    ],
    [
      'a new emergency reason overrides again',
      {
        desired: { ...running, version: '1.0.2' },
        emergencyReason: 'CVE-2026-9999',
        emergencyConsumed: emergencyReasonRecord('CVE-2026-1234'),
      },
      'EmergencyOverride',
      '1.0.2',
      [],
    ],
    [
      'a missing window holds disruptive changes',
      { desired: { ...running, version: '1.1.0' }, schedule: undefined },
      'MaintenanceWindowNotFound',
      '1.0.0',
      ['version 1.0.0 -> 1.1.0'],
    ],
  ] as const)('%s', (_name, overrides, reason, version, pending) => {
    const decision = decideDisruptiveChanges(input(overrides as Partial<GateInput>));
    expect(decision.reason).toBe(reason);
    expect(decision.effective.version).toBe(version);
    expect(decision.pending).toEqual(pending);
  });

  test('a tier change waits and is listed with the version change', () => {
    const decision = decideDisruptiveChanges(input({ desired: { image: 'repo/app', version: '1.1.0', tier: 'Large' } }));
    expect(decision.pending).toEqual(['version 1.0.0 -> 1.1.0', 'tier Small -> Large']);
    expect(decision.effective).toEqual(running);
  });

  test('while waiting, the next window is the coming Wednesday 02:00 Amsterdam time', () => {
    const decision = decideDisruptiveChanges(input({ desired: { ...running, version: '1.1.0' } }));
    expect(decision.open).toBe(false);
    expect(decision.window?.opensAt.toISOString()).toBe('2026-11-25T01:00:00.000Z');
    expect(decision.window?.closesAt.toISOString()).toBe('2026-11-25T04:00:00.000Z');
  });

  test('inside the window, the decision reports the window open now', () => {
    const decision = decideDisruptiveChanges(input({ desired: { ...running, version: '1.1.0' }, now: wednesdayInWindow }));
    expect(decision.open).toBe(true);
    expect(decision.applying).toEqual(['version 1.0.0 -> 1.1.0']);
  });

  test('a blacked-out week moves the next window to the week after', () => {
    const schedule: WindowSchedule = { ...wednesdays, blackouts: [{ start: '2026-11-23', end: '2026-11-29', reason: 'peak' }] };
    const decision = decideDisruptiveChanges(input({ desired: { ...running, version: '1.1.0' }, schedule }));
    expect(decision.window?.opensAt.toISOString()).toBe('2026-12-02T01:00:00.000Z');
  });
});

describe('advance notice', () => {
  const bump = { desired: { ...running, version: '1.1.0' } };
  const notice = 72 * 3600_000;
  test.each([
    // Announced Sunday noon: Wednesday 01:00 UTC is 61 h later, short of 72 h: the next Wednesday.
    [
      'announced too late for this week’s window, which is open now: waits a week',
      sunday,
      wednesdayInWindow,
      'WaitingForNotice',
      '2026-12-02T01:00:00.000Z',
    ],
    [
      'announced too late for the coming window: scheduled for the one after',
      sunday,
      sunday,
      'WaitingForWindow',
      '2026-12-02T01:00:00.000Z',
    ],
    // Announced the Saturday before: 79 h ahead of Wednesday 01:00 UTC.
    [
      'announced early enough: the open window applies it',
      new Date('2026-11-21T18:00:00Z'),
      wednesdayInWindow,
      'WindowOpen',
      '2026-11-25T01:00:00.000Z',
    ],
  ])('%s', (_name, announcedAt, now, reason, windowOpens) => {
    const d = decideDisruptiveChanges(input({ ...bump, now, announcedAt, noticeMs: notice }));
    expect([d.reason, d.window?.opensAt.toISOString(), d.effective.version]).toEqual([
      reason,
      windowOpens,
      reason === 'WindowOpen' ? '1.1.0' : '1.0.0',
    ]);
  });

  test('an emergency override needs no notice', () => {
    const d = decideDisruptiveChanges(input({ ...bump, emergencyReason: 'CVE', announcedAt: sunday, noticeMs: notice }));
    expect(d.reason).toBe('EmergencyOverride');
  });
});

describe('the database the application is given', () => {
  const server = 'sql-acme-prod.database.windows.net/sqldb-acme-prod';
  const listener = 'fog-acme-prod-1a2b.database.windows.net/sqldb-acme-prod';
  test.each([
    [
      'pods from before database settings (nothing recorded) get it only in the window',
      { running: { ...running }, desired: { ...running, database: server } },
      'WaitingForWindow',
      undefined,
      [`database (none) -> ${server}`],
    ],
    [
      'inside the window it is applied',
      { running: { ...running }, desired: { ...running, database: server }, now: wednesdayInWindow },
      'WindowOpen',
      server,
      [],
    ],
    [
      'a tenant provisioned before its database was known gets it at once, outside the window',
      { running: { ...running, database: '' }, desired: { ...running, database: server } },
      'NoPendingChanges',
      server,
      [],
    ],
    [
      'a first connection is not held behind another change that waits',
      { running: { ...running, database: '' }, desired: { ...running, version: '1.1.0', database: server } },
      'WaitingForWindow',
      server,
      ['version 1.0.0 -> 1.1.0'],
    ],
    [
      'geo-replication turned on: the move to the listener waits for the window',
      { running: { ...running, database: server }, desired: { ...running, database: listener } },
      'WaitingForWindow',
      server,
      [`database ${server} -> ${listener}`],
    ],
    [
      'the move to the listener in the window',
      { running: { ...running, database: server }, desired: { ...running, database: listener }, now: wednesdayInWindow },
      'WindowOpen',
      listener,
      [],
    ],
    [
      'a first provisioning records none yet',
      { running: undefined, desired: { ...running, database: '' } },
      'FirstProvisioning',
      '',
      [],
    ],
    [
      'without Azure nothing is recorded or changed',
      { running: { ...running, database: server }, desired: { ...running } },
      'NoPendingChanges',
      undefined,
      [],
    ],
  ] as const)('%s', (_name, overrides, reason, database, pending) => {
    const decision = decideDisruptiveChanges(input(overrides as Partial<GateInput>));
    expect(decision.reason).toBe(reason);
    expect(decision.effective.database).toBe(database);
    expect(decision.pending).toEqual(pending);
  });
});
