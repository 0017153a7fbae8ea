/**
 * The database side of one Tenant, after its Azure step: its contained users exist with exactly
 * the rights database-principals.ts decides (`DatabaseAccessReady`), and no Entra principal holds
 * more than that, or it is reported, and revoked when `azure.sqlDataPlane.reduceExcessPrivileges`
 * says so (`DatabaseLeastPrivilege`). Checked once the database is Ready, then trusted for
 * `azure.driftCheckIntervalSeconds` unless the desired principals change; repaired when removed.
 */
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import {
  classifySqlError,
  type GeoReplicationLink,
  readCatalogue,
  readGeoReplicationLink,
  readNewestBackup,
  type SqlDataPlaneOptions,
  SqlStatementError,
  withSqlSession,
} from '../azure/sql-data-plane.ts';
import type { AzureFacts, OperatorContext } from '../context.ts';
import { hashOf } from '../runtime/compare.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import { type RetryableError, TerminalError } from '../runtime/errors.ts';
import { tenantAzureNames } from './azure-names.ts';
import { describeExcess, desiredDatabasePrincipals, planDatabaseAccess } from './database-principals.ts';
import { sharedServerEndpoint } from './placement.ts';

export const DATABASE_ACCESS_READY = 'DatabaseAccessReady';
export const DATABASE_LEAST_PRIVILEGE = 'DatabaseLeastPrivilege';

export type DatabaseAccessStatus = NonNullable<TenantStatus['database']>;

export interface DatabaseAccessResult {
  conditions: ConditionInput[];
  status: DatabaseAccessStatus | undefined;
  /** Statements that changed the database (for the audit trail and an Event). */
  changes: string[];
  /**
   * The newest backup, read over the same session (`sys.dm_database_backups`) when one was opened,
   * so the backup check needs no second login; absent when no session ran.
   */
  newestBackup?: { at: Date | undefined } | undefined;
  /**
   * The geo-replication link, read over the same session (`sys.dm_geo_replication_link_status`)
   * when the database is geo-replicated; absent when no session ran or it is not.
   */
  geoLink?: { link: GeoReplicationLink | undefined } | undefined;
  requeueAfterMs?: number | undefined;
}

export interface DatabaseAccessOptions {
  fence?: (() => AbortSignal) | undefined;
}

export class TenantDatabaseAccess {
  readonly ctx: OperatorContext;
  readonly plane: SqlDataPlaneOptions;
  readonly options: DatabaseAccessOptions;

  constructor(ctx: OperatorContext, plane: SqlDataPlaneOptions, options: DatabaseAccessOptions = {}) {
    this.ctx = ctx;
    this.plane = plane;
    this.options = options;
  }

  /**
   * Logs in to a paused serverless database, which resumes it (Azure resumes on a login, as on the
   * updates it lists as auto-resume triggers). For an update Azure refused with
   * UpdateNotAllowedOnPausedDatabase: without a login a sleeping database would refuse the change,
   * or the release of a deleted tenant, for as long as nobody uses it. The refused write is retried
   * by the caller's requeue; nothing waits here beyond the login. Never throws: whether the login
   * worked comes back.
   */
  async wake(
    tenant: Tenant,
    facts: Pick<AzureFacts, 'sqlServerFqdn' | 'databaseName' | 'sqlResourceGroup' | 'privateEndpoints'>,
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (!facts.sqlServerFqdn || !facts.databaseName) return false;
    const target = { serverFqdn: facts.sqlServerFqdn, database: facts.databaseName, address: sharedServerEndpoint(facts)?.ip };
    const signals = [signal, this.options.fence?.()].filter((s): s is AbortSignal => s !== undefined);
    const subject = { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation };
    try {
      await withSqlSession(this.plane, target, signals.length === 0 ? undefined : AbortSignal.any(signals), async () => {});
      this.ctx.recorder.audit({ subject, action: `sql login to resume paused database ${facts.databaseName}`, result: 'ok' });
      return true;
    } catch (err) {
      // Azure answers the login that wakes a paused database with 40613 (not currently available)
      // while it resumes: the resume has begun, and the refused write is retried after it.
      if ((err as { loginErrorNumber?: number }).loginErrorNumber === 40613) {
        this.ctx.recorder.audit({
          subject,
          action: `sql login to resume paused database ${facts.databaseName}: resuming`,
          result: 'ok',
        });
        return true;
      }
      this.ctx.logger.warn('could not log in to resume a paused database', {
        tenant: tenant.metadata.name,
        database: facts.databaseName,
        error: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
  }

  /**
   * One pass. Level-based: depends on the tenant, its Azure facts, what the catalogue shows and the
   * previous `status.database` (for the drift interval). Never throws for a SQL failure: it comes
   * back as the conditions' reason, with a requeue.
   */
  async reconcile(
    tenant: Tenant,
    facts: AzureFacts,
    previous: DatabaseAccessStatus | undefined,
    /** The reconcile's own signal (shutdown); the leadership term's is added. */
    signal?: AbortSignal,
  ): Promise<DatabaseAccessResult> {
    const azure = this.ctx.config.azure;
    const now = this.ctx.clock.now();
    const names = tenantAzureNames(
      tenant.metadata.name,
      tenant.spec.environment.toLowerCase(),
      azure?.nameSalt ? { salt: azure.nameSalt } : {},
    );
    const pending = (message: string): DatabaseAccessResult => ({
      conditions: [
        { type: DATABASE_ACCESS_READY, status: 'Unknown', reason: 'DatabaseNotReady', message },
        { type: DATABASE_LEAST_PRIVILEGE, status: 'Unknown', reason: 'DatabaseNotReady', message },
      ],
      status: previous,
      changes: [],
    });
    if (!azure) return pending('Azure is not configured.');
    if (!facts.sqlServerFqdn || !facts.databaseName || !facts.identityClientId) {
      return pending('The database and the workload identity must exist first.');
    }
    const settings = azure.sqlDataPlane;
    const desired = desiredDatabasePrincipals(
      { name: names.identity, clientId: facts.identityClientId },
      settings.migrationGroup,
    );
    const fingerprint = hashOf({
      desired,
      reduce: settings.reduceExcessPrivileges,
      server: facts.sqlServerFqdn,
      db: facts.databaseName,
    });
    const verifiedAt = previous?.verified?.fingerprint === fingerprint ? Date.parse(previous.verified.at) : Number.NaN;
    const intervalMs = azure.driftCheckIntervalSeconds * 1000;
    const previousConditions = (tenant.status?.conditions ?? []).filter(
      (c) => c.type === DATABASE_ACCESS_READY || c.type === DATABASE_LEAST_PRIVILEGE,
    );
    // A paused serverless database is not woken (a login resumes it, and bills it) to check users
    // nobody can change while it is paused: what was last found stands.
    const paused = facts.databaseStatus?.toLowerCase() === 'paused' && previousConditions.length === 2;
    if ((now.getTime() - verifiedAt < intervalMs || paused) && previousConditions.length === 2) {
      // Verified recently for exactly this desired state: trust it (a resync reads nothing).
      return {
        conditions: previousConditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
        status: previous,
        changes: [],
        requeueAfterMs: paused ? undefined : Math.max(1000, verifiedAt + intervalMs - now.getTime()),
      };
    }

    const application = desired[0];
    const target = { serverFqdn: facts.sqlServerFqdn, database: facts.databaseName, address: sharedServerEndpoint(facts)?.ip };
    const changes: string[] = [];
    let newestBackup: { at: Date | undefined } | undefined;
    let geoLink: { link: GeoReplicationLink | undefined } | undefined;
    try {
      const signals = [signal, this.options.fence?.()].filter((s): s is AbortSignal => s !== undefined);
      const abort = signals.length === 0 ? undefined : AbortSignal.any(signals);
      const outcome = await withSqlSession(this.plane, target, abort, async (session) => {
        newestBackup = { at: await readNewestBackup(session) };
        // The lag ARM does not report; the home database shows it while it is the primary.
        if (facts.geoReplication !== undefined) geoLink = { link: await readGeoReplicationLink(session) };
        let catalogue = await readCatalogue(session);
        const plan = planDatabaseAccess(desired, catalogue);
        for (const statement of plan.grants) {
          await session.query(statement);
          changes.push(statement);
        }
        const revoked: string[] = [];
        if (settings.reduceExcessPrivileges) {
          for (const e of plan.excess) {
            await session.query(e.revoke);
            changes.push(e.revoke);
            revoked.push(`${e.member}: ${e.right}`);
          }
        }
        if (changes.length > 0) catalogue = await readCatalogue(session);
        return { catalogue, excess: settings.reduceExcessPrivileges ? [] : describeExcess(plan.excess), revoked };
      });
      const roles = outcome.catalogue.roleMembers
        .filter((m) => m.member.toLowerCase() === application?.name.toLowerCase())
        .map((m) => m.role)
        .sort();
      const permissions = outcome.catalogue.permissions
        .filter((p) => p.member.toLowerCase() === application?.name.toLowerCase() && p.state === 'GRANT')
        .map((p) => p.permission)
        .sort();
      const migration = desired.find((p) => p.purpose === 'migration');
      const status: DatabaseAccessStatus = {
        user: application?.name,
        roles,
        permissions,
        ...(migration ? { migrationPrincipal: migration.name } : {}),
        ...(outcome.excess.length > 0 ? { excessPrivileges: outcome.excess } : {}),
        // Recorded only when the trust is worth something (a drift-check interval), and re-stamped
        // only when it ran out: one status write per tenant per interval, never one per pass.
        ...(intervalMs > 0
          ? {
              verified:
                now.getTime() - verifiedAt < intervalMs && previous?.verified
                  ? previous.verified
                  : { fingerprint, at: now.toISOString().replace(/\.\d{3}Z$/, 'Z') },
            }
          : {}),
      };
      const leastPrivilege: ConditionInput =
        outcome.excess.length > 0
          ? {
              type: DATABASE_LEAST_PRIVILEGE,
              status: 'False',
              reason: 'ExcessPrivileges',
              message: `Principals of database ${facts.databaseName} hold rights beyond what the operator grants: ${outcome.excess.join('; ')}. Revoke them, or set azure.sqlDataPlane.reduceExcessPrivileges.`,
            }
          : outcome.revoked.length > 0
            ? {
                type: DATABASE_LEAST_PRIVILEGE,
                status: 'True',
                reason: 'ExcessPrivilegesRevoked',
                message: `Revoked rights beyond what the operator grants: ${outcome.revoked.join('; ')}.`,
              }
            : {
                type: DATABASE_LEAST_PRIVILEGE,
                status: 'True',
                reason: 'NoExcessPrivileges',
                message: 'No Entra principal of the database holds db_owner, DDL or security rights it was not given.',
              };
      return {
        conditions: [
          {
            type: DATABASE_ACCESS_READY,
            status: 'True',
            reason: 'DatabaseUserReady',
            message: `User ${application?.name} has ${[...roles, ...permissions].join(', ')} on database ${facts.databaseName}${migration ? `; schema changes run as ${migration.name} (db_ddladmin)` : ''}.`,
          },
          leastPrivilege,
        ],
        status,
        changes,
        newestBackup,
        geoLink,
        requeueAfterMs: intervalMs > 0 ? intervalMs : undefined,
      };
    } catch (err) {
      const e: RetryableError | TerminalError =
        err instanceof TerminalError ? err : classifySqlError(err, `database ${facts.databaseName}`);
      const failedStatement = err instanceof SqlStatementError ? ` (statement: ${err.statement})` : '';
      return {
        conditions: [
          { type: DATABASE_ACCESS_READY, status: 'False', reason: e.reason, message: `${e.message}${failedStatement}` },
          { type: DATABASE_LEAST_PRIVILEGE, status: 'Unknown', reason: e.reason, message: e.message },
        ],
        status: previous === undefined ? undefined : { ...previous, verified: undefined },
        changes,
        newestBackup,
        geoLink,
        requeueAfterMs: 'retryAfterMs' in e ? (e.retryAfterMs ?? 60_000) : undefined,
      };
    }
  }
}
