/**
 * The MaintenanceWindow kind: when disruptive changes to the tenants that reference it may run,
 * as weekly recurrences in an IANA time zone, with blackout dates and one-off extra windows.
 */
import { z } from 'zod';
import { type CustomObject, conditionsField, goDuration } from './common.ts';

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

const HH_MM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const DATE = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

export const maintenanceWindowSpecSchema = z
  .object({
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/)
      .describe(
        'IANA time zone the times are local to, for example "Europe/Amsterdam". UTC offsets are refused: daylight saving time breaks them.',
      )
      .meta({
        'x-kubernetes-validations': [
          {
            rule: "!self.matches('^(UTC|GMT|Etc/GMT)[+-]')",
            message: 'use an IANA zone name such as Europe/London, not a UTC offset',
          },
        ],
      }),
    recurrences: z
      .array(
        z.object({
          days: z
            .array(z.enum(WEEKDAYS))
            .min(1)
            .max(7)
            .describe('Days of the week the window opens on (local time).')
            .meta({ 'x-kubernetes-list-type': 'set' }),
          start: z.string().max(5).regex(HH_MM).describe('Local wall-clock opening time, "HH:MM" (24 h).'),
          duration: goDuration('How long the window stays open, at most 168h.', { max: '168h' }),
        }),
      )
      .min(1)
      .max(16)
      .describe('Weekly recurring windows, for example Wednesdays 02:00 for 3h.'),
    blackouts: z
      .array(
        z
          .object({
            start: z.string().max(10).regex(DATE).describe('First local date of the freeze, "YYYY-MM-DD".'),
            end: z.string().max(10).regex(DATE).describe('Last local date of the freeze (inclusive), "YYYY-MM-DD".'),
            reason: z.string().max(256).optional().describe('Why changes are frozen.'),
          })
          .meta({
            'x-kubernetes-validations': [
              { rule: 'self.end >= self.start', message: 'blackout end must not be before its start' },
            ],
          }),
      )
      .max(64)
      .optional()
      .describe('Change freezes: recurring windows that open on these dates are skipped.'),
    extraWindows: z
      .array(
        z.object({
          start: z
            .string()
            .max(64)
            .describe('Opening instant, RFC 3339 with offset, for example "2026-12-02T22:00:00Z".')
            .meta({
              'x-kubernetes-validations': [{ rule: 'self == string(timestamp(self))', message: 'must be an RFC 3339 timestamp' }],
            }),
          duration: goDuration('How long the extra window stays open, at most 168h.', { max: '168h' }),
        }),
      )
      .max(64)
      .optional()
      .describe('One-off windows in addition to the recurring ones.'),
  })
  .describe('When disruptive changes (version upgrades, tier scaling, key rotation) may run.');

export const maintenanceWindowStatusSchema = z.object({
  observedGeneration: z.number().int().optional().describe('The metadata.generation the status reflects.'),
  conditions: conditionsField,
  open: z.boolean().optional().describe('Whether a window is open now.'),
  nextOpening: z.string().optional().describe('When the next window opens (RFC 3339).'),
  nextClosing: z.string().optional().describe('When that window closes (RFC 3339).'),
  tenants: z.number().int().optional().describe('How many tenants use this window.'),
  tenantsWithPendingChanges: z.number().int().optional().describe('How many of them have changes waiting.'),
});

export type MaintenanceWindowSpec = z.infer<typeof maintenanceWindowSpecSchema>;
export type MaintenanceWindowStatus = z.infer<typeof maintenanceWindowStatusSchema>;
export type MaintenanceWindow = CustomObject<MaintenanceWindowSpec, MaintenanceWindowStatus>;
