/**
 * The operator's own configuration: one zod-validated object, read once at start-up from an
 * optional YAML/JSON file (`--config` or TENANT_OPERATOR_CONFIG) with environment overrides.
 * A bad value stops the operator with a message that names the field.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isValidTimeZone } from './maintenance/zoned-time.ts';
import { isoDurationMs } from './runtime/iso-duration.ts';
import { canonicalQuantity } from './runtime/quantity.ts';

/** A Go-notation duration setting ("8h", "90m"); parsed where used (api/v1alpha1 goDurationMs). */
const goDurationSetting = z
  .string()
  .regex(/^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/, 'a Go duration such as 8h or 90m')
  .refine((v) => v !== '' && /[1-9]/.test(v), 'must be longer than zero');

/** What one access role grants (config `access.roles.<name>`). */
const accessRoleSchema = z.discriminatedUnion('kind', [
  z
    .object({
      /** A RoleBinding in the tenant's namespace to this ClusterRole (the operator needs `bind` on it). */
      kind: z.literal('Namespace'),
      clusterRole: z.string().min(1),
    })
    .strict(),
  z
    .object({
      /** A time-bound Azure role assignment on the tenant's database (needs `azure`). */
      kind: z.literal('Database'),
      azureRoleDefinitionId: z.string().uuid('must be a role definition GUID'),
    })
    .strict(),
]);
export type AccessRole = z.infer<typeof accessRoleSchema>;

const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/[0-9]{1,3}$/, 'must be a CIDR such as 10.1.0.0/16');

/*
 * ARM ids come in either case of their type segments (`resourceGroups`, `resourcegroups`). The
 * patterns spell that out rather than use the `i` flag, which the chart's JSON schema (generated
 * from these) would lose.
 */

/** ARM id of a subnet, e.g. `/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/hub/subnets/pe`. */
const subnetId = z
  .string()
  .regex(
    /^\/subscriptions\/[^/]+\/[rR]esource[gG]roups\/[^/]+\/providers\/[mM]icrosoft\.[nN]etwork\/[vV]irtual[nN]etworks\/[^/]+\/[sS]ubnets\/[^/]+$/,
    'must be the ARM id of a subnet (/subscriptions/…/providers/Microsoft.Network/virtualNetworks/…/subnets/…)',
  );

/** ARM id of a private DNS zone named `privatelink.<service>.…` (Azure registers endpoints only in that zone). */
const privateDnsZoneId = (service: 'database' | 'vaultcore') =>
  z
    .string()
    .regex(
      new RegExp(
        `^/subscriptions/[^/]+/[rR]esource[gG]roups/[^/]+/providers/[mM]icrosoft\\.[nN]etwork/[pP]rivate[dD]ns[zZ]ones/privatelink\\.${service}\\.[a-z0-9.-]+$`,
      ),
      `must be the ARM id of the private DNS zone privatelink.${service}.… (…/providers/Microsoft.Network/privateDnsZones/privatelink.${service}.…)`,
    );

/** A Kubernetes quantity, stored canonically so what the operator writes is what the API server keeps. */
const quantity = z.string().transform((value, ctx) => {
  try {
    return canonicalQuantity(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** An ISO 8601 duration as Azure takes it (`P1Y`, `P18M`, `P30D`). */
const isoDuration = z.string().refine((v) => isoDurationMs(v) !== undefined, 'must be an ISO 8601 duration such as P1Y or P30D');

const DAY_MS = 86_400_000;

/**
 * The tenant key's rotation, as Key Vault's rotation policy: Key Vault refuses a rotation sooner
 * than 7 days after creation or later than 7 days before expiry, and an expiry under 28 days.
 */
const keyRotationSchema = z
  .object({
    /** A new key version this long after the current one was created. */
    rotateAfter: isoDuration.default('P1Y'),
    /** Every version expires this long after its creation (so a rotation always comes first). */
    expireAfter: isoDuration.default('P2Y'),
    /** Key Vault's near-expiry notification (Event Grid `KeyNearExpiry`) this long before expiry. */
    notifyBefore: isoDuration.default('P30D'),
  })
  .strict()
  .superRefine((r, ctx) => {
    const rotate = isoDurationMs(r.rotateAfter) ?? 0;
    const expire = isoDurationMs(r.expireAfter) ?? 0;
    const notify = isoDurationMs(r.notifyBefore) ?? 0;
    if (rotate < 7 * DAY_MS)
      ctx.addIssue({ code: 'custom', path: ['rotateAfter'], message: 'Key Vault rotates at the earliest 7 days after creation' });
    if (expire < 28 * DAY_MS)
      ctx.addIssue({ code: 'custom', path: ['expireAfter'], message: 'Key Vault needs an expiry of at least 28 days' });
    if (rotate > expire - 7 * DAY_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['rotateAfter'],
        message: 'must be at least 7 days shorter than expireAfter: a key must be rotated before it expires',
      });
    }
    if (notify <= 0 || notify >= expire) {
      ctx.addIssue({ code: 'custom', path: ['notifyBefore'], message: 'must be positive and shorter than expireAfter' });
    }
  });

const tierSizingSchema = z.object({
  quota: z
    .object({
      cpu: quantity.describe('requests.cpu and limits.cpu hard limit, e.g. "4"'),
      memory: quantity.describe('requests.memory and limits.memory hard limit, e.g. "8Gi"'),
      pods: z.number().int().positive(),
      services: z.number().int().positive().default(10),
      persistentVolumeClaims: z.number().int().nonnegative().default(0),
    })
    .strict(),
  container: z
    .object({
      defaultCpu: quantity,
      defaultMemory: quantity,
      defaultRequestCpu: quantity,
      defaultRequestMemory: quantity,
      maxCpu: quantity,
      maxMemory: quantity,
    })
    .strict(),
  replicas: z.object({ production: z.number().int().min(2), other: z.number().int().min(1) }).strict(),
  sql: z.object({ skuName: z.string(), tier: z.string(), capacity: z.number().int().positive().optional() }).strict(),
  /** HorizontalPodAutoscaler bounds; tenants of the tier autoscale only when set. */
  autoscaling: z
    .object({
      minReplicas: z.number().int().min(1).optional(),
      maxReplicas: z.number().int().min(1),
      targetCpuUtilizationPercent: z.number().int().min(10).max(100).default(70),
    })
    .strict()
    .optional(),
});

/** A Dedicated tenant's AKS node pool: its VM size and fixed node count (AKS allows 0-1000 for User pools). */
const nodePoolSizingSchema = z
  .object({
    vmSize: z.string().regex(/^[A-Za-z][A-Za-z0-9_]+$/, 'an Azure VM size such as Standard_D4s_v5'),
    count: z.number().int().min(1).max(1000),
  })
  .strict();

/**
 * Two nodes for every tier (a Production tenant's replicas spread over both), bigger nodes for
 * bigger tiers: each holds the tier's namespace quota with room for the system daemons.
 */
export const DEFAULT_NODE_POOLS = {
  Small: { vmSize: 'Standard_D2s_v5', count: 2 },
  Medium: { vmSize: 'Standard_D4s_v5', count: 2 },
  Large: { vmSize: 'Standard_D8s_v5', count: 3 },
} as const satisfies Record<string, z.infer<typeof nodePoolSizingSchema>>;

export const configSchema = z
  .object({
    /** Prefix of every tenant namespace: `<prefix><tenant>-<env>`. */
    namespacePrefix: z
      .string()
      .regex(/^[a-z]([-a-z0-9]*-)?$/, 'must be a lowercase DNS prefix ending in "-"')
      .max(12)
      .default('tenant-'),
    /** Namespace of the ingress / Application Gateway for Containers controller allowed to reach tenant apps. */
    ingressNamespace: z.string().min(1).default('azure-alb-system'),
    /**
     * CIDRs tenant pods may reach. `entraId` (443): Microsoft Entra ID, where workload identity
     * exchanges the pod's token for an Azure one. `sql` (1433) and `keyVault` (443): shared ranges,
     * only for Kubernetes-only mode (a cluster whose Azure is managed elsewhere); with `azure` set
     * every tenant's egress is exactly its own private endpoints' addresses, so they are refused.
     */
    azureEgressCidrs: z
      .object({ sql: z.array(cidr).default([]), keyVault: z.array(cidr).default([]), entraId: z.array(cidr).default([]) })
      .strict()
      .default({ sql: [], keyVault: [], entraId: [] }),
    tiers: z
      .object({ Small: tierSizingSchema, Medium: tierSizingSchema, Large: tierSizingSchema })
      .strict()
      .default(() => DEFAULT_TIERS),
    /**
     * Data-residency zones: which Azure regions a tenant of a zone may live in, and which backup
     * storage redundancies keep its backups inside the zone. A region in no zone is refused.
     */
    residency: z
      .object({
        zones: z.record(
          z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/),
          z
            .object({
              regions: z.array(z.string().regex(/^[a-z][a-z0-9]+$/)).min(1),
              backupRedundancies: z.array(z.enum(['Local', 'Zone', 'Geo', 'GeoZone'])).min(1),
            })
            .strict(),
        ),
      })
      .strict()
      .default(() => DEFAULT_RESIDENCY),
    /** The tenants' front door: Application Gateway for Containers (gateway) or AGIC (ingress). */
    frontDoor: z
      .object({
        mode: z.enum(['gateway', 'ingress']).default('gateway'),
        gateway: z
          .object({
            name: z.string().default('tenant-gateway'),
            namespace: z.string().optional(),
            httpsListener: z.string().default('https'),
            httpListener: z.string().default('http'),
          })
          .strict()
          .default({ name: 'tenant-gateway', httpsListener: 'https', httpListener: 'http' }),
        ingressClassName: z.string().default('azure-application-gateway'),
        certificateSource: z.enum(['cert-manager', 'key-vault']).default('cert-manager'),
        clusterIssuer: z.string().default('letsencrypt'),
        tlsSecretName: z.string().default('tenant-tls'),
        sslProfile: z.string().optional(),
        /**
         * Where the front door's traffic comes from. Application Gateway for Containers and AGIC
         * reach pods from addresses of their own subnet, not as pods of `ingressNamespace`, so the
         * tenant's app port is open to these ranges (the AGC association subnet, the Application
         * Gateway subnet). Empty: only pods of `ingressNamespace` reach the app.
         */
        sourceCidrs: z.array(cidr).default([]),
        /**
         * Without an Azure configuration the operator has no per-tenant WAF policy to put in front
         * of a tenant, so by default it exposes nothing (IngressReady=False, WafNotManaged). Set
         * this for a cluster with no Azure (kind, development) or whose WAF is managed elsewhere (a
         * gateway-wide policy): routes are then created without a per-tenant policy and
         * IngressReady says so. Ignored when Azure is configured: there every tenant gets its own.
         */
        exposeWithoutWafPolicy: z.boolean().default(false),
      })
      .strict()
      .default({
        mode: 'gateway',
        sourceCidrs: [],
        exposeWithoutWafPolicy: false,
        gateway: { name: 'tenant-gateway', httpsListener: 'https', httpListener: 'http' },
        ingressClassName: 'azure-application-gateway',
        certificateSource: 'cert-manager',
        clusterIssuer: 'letsencrypt',
        tlsSecretName: 'tenant-tls',
      }),
    /**
     * Copy mounted Key Vault secrets into a Kubernetes Secret of this name (for apps that read
     * environment variables). Off by default: it puts secret values into etcd.
     */
    secretsSyncToSecretName: z.string().optional(),
    /**
     * The Azure side. Absent: the operator runs Kubernetes-only and says so in each tenant's
     * front-door condition (no WAF policy, so no front door).
     */
    azure: z
      .object({
        subscriptionId: z.string().uuid('must be a subscription id (a GUID)'),
        /** Microsoft Entra directory (tenant) id of the subscription, the vaults and the identities. */
        directoryTenantId: z.string().uuid('must be a directory (tenant) id (a GUID)'),
        /** ARM endpoint; unset means public Azure. Set it to the ARM emulator for local runs and tests. */
        endpoint: z.string().url().optional(),
        /** PEM file of a CA to trust for `endpoint` (the emulator's self-signed certificate). */
        caFile: z.string().optional(),
        /**
         * `default` uses @azure/identity's DefaultAzureCredential (AKS workload identity in the cluster).
         * `emulator` sends a fixed token and is refused unless `endpoint` is on the loopback interface.
         */
        credential: z.enum(['default', 'emulator']).default('default'),
        /** The cluster's OIDC issuer URL (AKS `oidcIssuerProfile.issuerURL`), trusted by tenant identities. */
        oidcIssuer: z.string().url(),
        /** The Entra group that administers every tenant's SQL server (Entra-only authentication). */
        sqlAdminGroup: z.object({ login: z.string().min(1), objectId: z.string().uuid() }).strict(),
        /** Mixed into globally unique names (vaults, SQL servers); set once per installation, never changed. */
        nameSalt: z.string().max(16).optional(),
        /**
         * This operator instance's name, tagged on every Azure resource it creates
         * (`tenancy.dev-instance`). Instances in other clusters sharing the subscription must use
         * other names: a resource tagged by another instance is never adopted, changed or deleted.
         */
        instanceName: z
          .string()
          .min(1)
          .max(63)
          .regex(/^[a-z0-9][a-z0-9-]*$/)
          .default('default'),
        /**
         * Budgets of ARM writes and reads, per subscription (each subscription shard has its own,
         * as ARM throttles them). ARM allows a subscription and principal 10 writes and 25 reads
         * per second (buckets of 200 and 250), shared with every other tool using them, so the
         * defaults leave room.
         */
        writesPerSecond: z.number().positive().default(5),
        writeBurst: z.number().int().positive().default(20),
        readsPerSecond: z.number().positive().default(20),
        readBurst: z.number().int().positive().default(200),
        /** Microsoft.ManagedIdentity throttles writes at about 2 per second per subscription: a budget per subscription. */
        managedIdentityWritesPerSecond: z.number().positive().default(1.5),
        /**
         * How long a tenant's Azure resources, once read and found converged, are trusted without
         * reading them again (ARM has no watch, and reads are rate-limited too). A change to the
         * desired state is acted on at once; drift made in Azure is found within this interval
         * plus one resync. 0 reads everything on every reconcile.
         */
        driftCheckIntervalSeconds: z.number().int().min(0).max(86_400).default(1800),
        /**
         * Region of the front door (the Application Gateway for Containers resource). Azure requires
         * its WAF policies in the same subscription and region, so every tenant's WAF policy is
         * created there. Unset: in the tenant's region (only right when the front door is there too).
         */
        frontDoorRegion: z
          .string()
          .regex(/^[a-z0-9]+$/, 'an Azure region name such as westeurope')
          .optional(),
        /**
         * Regions with availability zones. Production databases there are zone-redundant; in any
         * other region the tenant's ZoneRedundant condition says why not. Default: Azure's
         * published list (DEFAULT_AVAILABILITY_ZONE_REGIONS); add a region here when Azure opens
         * zones in it.
         */
        availabilityZoneRegions: z
          .array(z.string().regex(/^[a-z0-9]+$/, 'an Azure region name such as westeurope'))
          .default(() => [...DEFAULT_AVAILABILITY_ZONE_REGIONS]),
        /**
         * Azure's region pairs (region -> its pair): a geo-secondary goes to the tenant region's
         * pair, only when that pair is in the tenant's residency zone. Default: Microsoft's
         * published table (DEFAULT_REGION_PAIRS).
         */
        regionPairs: z
          .record(z.string().regex(/^[a-z0-9]+$/), z.string().regex(/^[a-z0-9]+$/))
          .default(() => ({ ...DEFAULT_REGION_PAIRS })),
        /**
         * How often a running Azure operation is looked at. Nothing waits for one: the tenant is
         * requeued after this long (real creates take minutes; tests use a fraction of a second).
         */
        operationPollSeconds: z.number().positive().max(600).default(10),
        /**
         * How long a write refused because a new role assignment has not reached the data plane
         * yet (`AzureKeyVaultMissingPermissions`: minutes on Azure) waits before it is tried again.
         */
        rbacPropagationRetrySeconds: z.number().positive().max(3600).default(30),
        /**
         * How long a new role assignment is expected to take to reach the data plane: the SQL server
         * key (which needs the server's Key Vault role) is first tried this long after the role was
         * assigned, instead of being refused in the meantime. Microsoft documents up to 10 minutes.
         */
        rbacPropagationSeconds: z.number().min(0).max(3600).default(120),
        /**
         * Where tenants' private endpoints go: one subnet per region (ARM id of a
         * `Microsoft.Network/virtualNetworks/subnets` the platform team owns, in that region, routed
         * from the cluster). A tenant in a region without one gets no private endpoints and says so
         * (DatabaseReady/KeyVaultReady False, PrivateEndpointNotConfigured).
         */
        privateEndpoints: z
          .object({ subnets: z.record(z.string().regex(/^[a-z0-9]+$/, 'an Azure region name'), subnetId).default({}) })
          .strict()
          .default({ subnets: {} }),
        /**
         * The private DNS zones (ARM ids) the endpoints register in, linked to the cluster's network:
         * `privatelink.database.windows.net` for SQL and `privatelink.vaultcore.azure.net` for Key
         * Vault (or the sovereign cloud's equivalents). Azure writes a record only into a zone of
         * that name.
         */
        privateDnsZones: z
          .object({ sql: privateDnsZoneId('database'), keyVault: privateDnsZoneId('vaultcore') })
          .partial()
          .strict()
          .default({}),
        /**
         * The AKS cluster the operator runs in (created by the platform team), where Dedicated
         * tenants get a node pool of their own, sized per tier. Unset: Dedicated tenants are refused
         * with NodePoolReady False (NodePoolNotConfigured).
         */
        cluster: z
          .object({
            /** Default: `azure.subscriptionId`. */
            subscriptionId: z.string().uuid().optional(),
            resourceGroup: z.string().min(1).max(90),
            name: z.string().min(1).max(63),
            /** VM size and node count of a Dedicated tenant's pool, per tier (a VM size the region offers). */
            nodePools: z
              .object({ Small: nodePoolSizingSchema, Medium: nodePoolSizingSchema, Large: nodePoolSizingSchema })
              .strict()
              .default(() => DEFAULT_NODE_POOLS),
          })
          .strict()
          .optional(),
        /** Leave Key Vault public network access on (off by default: private endpoints only). */
        keyVaultPublicNetworkAccess: z.boolean().default(false),
        /** WAF mode of every tenant's policy. */
        wafMode: z.enum(['Prevention', 'Detection']).default('Prevention'),
        /** Tags added to every Azure resource. */
        tags: z.record(z.string(), z.string()).default({}),
        /**
         * Where audit records go and how long they stay: every tenant's SQL auditing and Key Vault
         * `AuditEvent` logs are sent to this Log Analytics workspace, whose audit table must keep
         * them `retentionDays` (checked on every drift check; the workspace is the platform's).
         */
        audit: z
          .object({
            logAnalyticsWorkspaceId: z
              .string()
              .regex(
                /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+$/i,
                'must be the ARM id of a Log Analytics workspace (/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/NAME)',
              ),
            retentionDays: z
              .number()
              .int()
              .min(180, 'audit records are promised for at least 180 days')
              .max(4383, 'Log Analytics keeps records at most 12 years (4383 days)')
              .default(180),
          })
          .strict(),
        /**
         * The Azure SQL data plane (T-SQL over TDS, as the operator's Entra identity, which must be
         * the SQL admin group's member): each tenant database's contained user and the newest backup.
         */
        sqlDataPlane: z
          .object({
            /**
             * `host:port` every SQL server is reached at instead of `<server>.database.windows.net:1433`.
             * Only for tests and `make dev` (the ARM emulator's TDS endpoint); TLS still verifies the
             * server's real name.
             */
            endpointOverride: z
              .string()
              .regex(/^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, such as 127.0.0.1:14330')
              .optional(),
            /** Longest a data-plane session (connect, log in, statements) may take. */
            timeoutSeconds: z.number().positive().max(120).default(15),
            /**
             * Revoke rights an Entra principal of a tenant database holds beyond what the operator
             * grants (db_owner, db_ddladmin, ALTER, CONTROL, ...: a user made by hand). Off: report them only.
             */
            reduceExcessPrivileges: z.boolean().default(false),
            /**
             * The Entra group schema changes run as (the platform's deployment pipeline): a contained
             * user in every tenant database with db_ddladmin, db_datareader and db_datawriter. The
             * application's identity never gets DDL rights. Unset: no migration principal.
             */
            migrationGroup: z
              .object({ name: z.string().min(1).max(128), objectId: z.string().uuid() })
              .strict()
              .optional(),
          })
          .strict()
          .default({ timeoutSeconds: 15, reduceExcessPrivileges: false }),
        /**
         * Subscription shards (issue #15): the subscriptions new tenants are placed in, in order, each
         * optionally only for some regions or environments, with Azure's limits (raise one after a
         * quota increase: SQL servers per region go up to 250). A new tenant goes to the first one
         * with room, counted from what Azure lists; a placed tenant never moves. Unset: one shard,
         * `subscriptionId`, with Azure's default limits.
         */
        subscriptions: z
          .array(
            z
              .object({
                id: z.string().uuid('must be a subscription id (a GUID)'),
                regions: z
                  .array(z.string().regex(/^[a-z0-9]+$/, 'an Azure region name'))
                  .min(1)
                  .optional(),
                environments: z
                  .array(z.enum(['Production', 'QA', 'Development']))
                  .min(1)
                  .optional(),
                limits: z
                  .object({
                    resourceGroups: z.number().int().min(1).max(980).default(980),
                    sqlServersPerRegion: z.number().int().min(1).max(250).default(20),
                    roleAssignments: z.number().int().min(1).max(4000).default(4000),
                  })
                  .strict()
                  .default({ resourceGroups: 980, sqlServersPerRegion: 20, roleAssignments: 4000 }),
              })
              .strict(),
          )
          .min(1)
          .optional(),
        /**
         * Where new tenants' databases go (src/tenant/placement.ts). `defaultIsolation`: for a
         * Tenant without `spec.isolation` (tenants placed before are never moved). A shared server
         * takes at most `maxDatabasesPerServer` databases, counted from what Azure lists: Azure
         * allows 5,000, but every database of a server shares its failover, its server-level
         * settings and its blast radius, and a server's management operations slow with thousands
         * of databases, so the default keeps a tenth of that.
         */
        placement: z
          .object({
            defaultIsolation: z.enum(['Shared', 'Dedicated']).default('Shared'),
            maxDatabasesPerServer: z.number().int().min(1).max(5000).default(500),
          })
          .strict()
          .default({ defaultIsolation: 'Shared', maxDatabasesPerServer: 500 }),
        /** Rotation of every tenant's encryption key (Key Vault rotation policy). */
        keyRotation: keyRotationSchema.default({ rotateAfter: 'P1Y', expireAfter: 'P2Y', notifyBefore: 'P30D' }),
      })
      .strict()
      .refine(
        (a) =>
          a.credential !== 'emulator' ||
          (a.endpoint !== undefined && /^https:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(a.endpoint)),
        {
          message: 'credential "emulator" is only allowed with a loopback endpoint (the local ARM emulator)',
          path: ['credential'],
        },
      )
      .optional(),
    /**
     * Time-limited administrative access (AccessRequest, src/access/): which roles exist and what
     * each grants, the longest access an approver may grant, and the groups the chart's bindings and
     * admission policy use. The admission policy of config/access reads the same values from its
     * parameter ConfigMap (the chart renders both from here); the operator checks role and duration
     * again before it grants anything.
     */
    access: z
      .object({
        /** Members may approve or deny requests (never their own): enforced by the admission policy. */
        approversGroup: z.string().min(1).default('tenant-access-approvers'),
        /** Members may request access: the chart binds them to the requester ClusterRole. */
        requestersGroup: z.string().min(1).default('tenant-access-requesters'),
        /** The longest access an AccessRequest may ask for (Go duration). */
        maxDuration: goDurationSetting.default('8h'),
        /** A request nobody approved within this long expires unapproved (Go duration). */
        pendingTimeout: goDurationSetting.default('24h'),
        /**
         * The ValidatingAdmissionPolicy that ties requester and approver to their real identities.
         * The operator grants nothing while it (and its binding) is missing: without it, the names
         * in a request would be whatever someone typed.
         */
        admissionPolicyName: z.string().min(1).default('tenant-access-requests'),
        /** Role name -> what it grants. Replaces the defaults as a whole when set. */
        roles: z
          .record(
            z.string().regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'a lowercase DNS label such as namespace-view'),
            accessRoleSchema,
          )
          .default(() => ({ ...DEFAULT_ACCESS_ROLES })),
      })
      .strict()
      .default(() => ({
        approversGroup: 'tenant-access-approvers',
        requestersGroup: 'tenant-access-requesters',
        maxDuration: '8h',
        pendingTimeout: '24h',
        admissionPolicyName: 'tenant-access-requests',
        roles: { ...DEFAULT_ACCESS_ROLES },
      })),
    /** Every key is re-enqueued this often even when nothing changed (level-triggered safety net). */
    resyncPeriodSeconds: z.number().int().min(10).max(86400).default(600),
    /**
     * Tenant reconciles running at once. A pass spends most of its time waiting on the API server
     * and ARM, so more workers onboard faster: at 1000 tenants on 2 cores (bench, issue 13) 8
     * workers onboarded in 324 instead of 473 s. A change a person makes meanwhile no longer queues
     * behind them (the work queue's change lane): 815 ms at p99 during that onboarding with 8.
     */
    concurrency: z.number().int().min(1).max(64).default(8),
    defaultBackupPolicy: z.string().default('default'),
    defaultMaintenanceWindow: z.string().default('default'),
    /**
     * Advance notice and local time for maintenance. `noticeHours`: a disruptive change lands only
     * in a window opening at least this long after it was first seen (and announced); 0 turns the
     * rule off. `regionTimeZones`: the IANA zone of each Azure region; a tenant on the default
     * window gets it in its region's local time ("02:00" is 02:00 where the customer is), a tenant
     * naming its own window gets that window's zone. A region not listed keeps the window's zone.
     */
    maintenance: z
      .object({
        noticeHours: z
          .number()
          .min(0)
          .max(24 * 60)
          .default(72),
        regionTimeZones: z
          .record(z.string(), z.string().refine(isValidTimeZone, 'must be an IANA time-zone name'))
          .default(() => ({ ...DEFAULT_REGION_TIME_ZONES })),
      })
      .strict()
      .default(() => ({ noticeHours: 72, regionTimeZones: { ...DEFAULT_REGION_TIME_ZONES } })),
    /**
     * Uptime measurement (README "Uptime"): the operator creates a Prometheus Operator `Probe`
     * (monitoring.coreos.com/v1) in each tenant namespace, once the tenant's front door is
     * configured, when the cluster serves that kind; Prometheus then has the blackbox exporter
     * probe the tenant's public URL (`https://<ingress.host><application.healthPath>`).
     */
    uptime: z
      .object({
        /** Create the Probes (only where the cluster serves the kind). `false` deletes them. */
        probes: z.boolean().default(true),
        /** The blackbox exporter Prometheus asks: `host:port` (no scheme), the scheme, and its probe path. */
        prober: z
          .object({
            url: z
              .string()
              .regex(/^[^/:\s]+(:[0-9]+)?$/, 'host:port of the blackbox exporter, without a scheme')
              .default('prometheus-blackbox-exporter.monitoring.svc:9115'),
            scheme: z.enum(['http', 'https']).default('http'),
            path: z.string().regex(/^\//).default('/probe'),
          })
          .strict()
          .default({ url: 'prometheus-blackbox-exporter.monitoring.svc:9115', scheme: 'http', path: '/probe' }),
        /** The blackbox exporter module: an HTTP GET that must answer 2xx (README shows one requiring TLS 1.2). */
        module: z.string().min(1).default('http_2xx'),
        /** How often each tenant is probed. */
        interval: z
          .string()
          .regex(/^[0-9]+(ms|s|m)$/, 'a Prometheus duration such as 30s')
          .default('30s'),
        /** Labels on every Probe, for the Prometheus `probeSelector` (e.g. `release: kube-prometheus-stack`). */
        labels: z.record(z.string(), z.string()).default({}),
        /**
         * The addresses the blackbox exporter's probes come from (the cluster's egress, or wherever
         * it runs): exempt from the tenants' allowed-range and allowed-country WAF rules, so a tenant
         * that admits only its own offices is measured too instead of counting as down.
         */
        proberSourceCidrs: z.array(cidr).default([]),
      })
      .strict()
      .default({
        probes: true,
        prober: { url: 'prometheus-blackbox-exporter.monitoring.svc:9115', scheme: 'http', path: '/probe' },
        module: 'http_2xx',
        interval: '30s',
        labels: {},
        proberSourceCidrs: [],
      }),
    leaderElection: z
      .object({
        enabled: z.boolean().default(true),
        namespace: z.string().default('tenant-operator-system'),
        leaseName: z.string().default('tenant-operator-leader'),
        leaseDurationSeconds: z.number().int().min(2).default(15),
        renewDeadlineSeconds: z.number().int().min(1).default(10),
        retryPeriodSeconds: z.number().int().min(1).default(2),
      })
      .strict()
      .refine((l) => l.renewDeadlineSeconds < l.leaseDurationSeconds, {
        message: 'renewDeadlineSeconds must be shorter than leaseDurationSeconds',
      })
      .default({
        enabled: true,
        namespace: 'tenant-operator-system',
        leaseName: 'tenant-operator-leader',
        leaseDurationSeconds: 15,
        renewDeadlineSeconds: 10,
        retryPeriodSeconds: 2,
      }),
    http: z
      .object({ port: z.number().int().min(0).max(65535).default(8080), host: z.string().default('0.0.0.0') })
      .strict()
      .default({ port: 8080, host: '0.0.0.0' }),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    /**
     * The Azure regions this instance serves (its cluster's geography); empty: every region. A
     * Tenant for another region gets `RegionServed=False` and nothing else, not even a finalizer:
     * it belongs to the cluster that serves its region.
     */
    servedRegions: z.array(z.string().regex(/^[a-z][a-z0-9]+$/)).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    // A served region no residency zone knows could never host a tenant: a typo, said at start-up.
    const known = new Set(Object.values(c.residency.zones).flatMap((z) => z.regions));
    for (const [i, region] of c.servedRegions.entries())
      if (!known.has(region))
        ctx.addIssue({
          code: 'custom',
          path: ['servedRegions', i],
          message: `region "${region}" is in no residency zone (residency.zones): a typo, or a zone to add`,
        });
    // A shared range would let every tenant reach every other tenant's database and vault at the
    // network level; with Azure managed here each tenant's egress is its own endpoints' addresses.
    if (c.azure === undefined) return;
    for (const service of ['sql', 'keyVault'] as const) {
      if (c.azureEgressCidrs[service].length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['azureEgressCidrs', service],
          message:
            'shared ranges are for Kubernetes-only mode; with azure set, tenant pods reach exactly their own private endpoints (azure.privateEndpoints)',
        });
    }
  });

export type OperatorConfig = z.infer<typeof configSchema>;
export type TierSizing = z.infer<typeof tierSizingSchema>;

export const DEFAULT_TIERS: OperatorConfig['tiers'] = {
  Small: {
    quota: { cpu: '4', memory: '8Gi', pods: 20, services: 10, persistentVolumeClaims: 0 },
    container: {
      defaultCpu: '500m',
      defaultMemory: '512Mi',
      defaultRequestCpu: '100m',
      defaultRequestMemory: '128Mi',
      maxCpu: '1',
      maxMemory: '2Gi',
    },
    replicas: { production: 2, other: 1 },
    sql: { skuName: 'GP_S_Gen5', tier: 'GeneralPurpose', capacity: 2 },
  },
  Medium: {
    quota: { cpu: '16', memory: '32Gi', pods: 50, services: 20, persistentVolumeClaims: 0 },
    container: {
      defaultCpu: '1',
      defaultMemory: '1Gi',
      defaultRequestCpu: '250m',
      defaultRequestMemory: '256Mi',
      maxCpu: '4',
      maxMemory: '8Gi',
    },
    replicas: { production: 3, other: 1 },
    sql: { skuName: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 4 },
  },
  Large: {
    quota: { cpu: '64', memory: '128Gi', pods: 150, services: 40, persistentVolumeClaims: 0 },
    container: {
      defaultCpu: '2',
      defaultMemory: '4Gi',
      defaultRequestCpu: '500m',
      defaultRequestMemory: '1Gi',
      maxCpu: '8',
      maxMemory: '32Gi',
    },
    replicas: { production: 4, other: 2 },
    sql: { skuName: 'BC_Gen5', tier: 'BusinessCritical', capacity: 8 },
  },
};

/** The local time zone of each Azure region (where its customers usually are). */
export const DEFAULT_REGION_TIME_ZONES: Readonly<Record<string, string>> = {
  westeurope: 'Europe/Amsterdam',
  northeurope: 'Europe/Dublin',
  francecentral: 'Europe/Paris',
  germanywestcentral: 'Europe/Berlin',
  swedencentral: 'Europe/Stockholm',
  norwayeast: 'Europe/Oslo',
  switzerlandnorth: 'Europe/Zurich',
  switzerlandwest: 'Europe/Zurich',
  uksouth: 'Europe/London',
  ukwest: 'Europe/London',
  eastus: 'America/New_York',
  eastus2: 'America/New_York',
  centralus: 'America/Chicago',
  westus: 'America/Los_Angeles',
  westus2: 'America/Los_Angeles',
  westus3: 'America/Phoenix',
  canadacentral: 'America/Toronto',
  canadaeast: 'America/Toronto',
  brazilsouth: 'America/Sao_Paulo',
  australiaeast: 'Australia/Sydney',
  australiasoutheast: 'Australia/Melbourne',
  southeastasia: 'Asia/Singapore',
  eastasia: 'Asia/Hong_Kong',
  japaneast: 'Asia/Tokyo',
  koreacentral: 'Asia/Seoul',
  centralindia: 'Asia/Kolkata',
  uaenorth: 'Asia/Dubai',
  southafricanorth: 'Africa/Johannesburg',
};

/**
 * The roles an AccessRequest may name by default: read-only and debug in the tenant's namespace
 * (ClusterRoles of config/access), and the built-in Azure Reader role on the tenant's database.
 * Azure SQL's data-plane permissions are T-SQL, not Azure RBAC: Reader shows the database's
 * configuration, metrics and activity in Azure, not its rows (see README "Time-limited access").
 */
export const DEFAULT_ACCESS_ROLES: Readonly<Record<string, AccessRole>> = {
  'namespace-view': { kind: 'Namespace', clusterRole: 'tenant-access-view' },
  'namespace-debug': { kind: 'Namespace', clusterRole: 'tenant-access-debug' },
  'database-read': { kind: 'Database', azureRoleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' },
};

/**
 * Azure regions with availability zones, as Azure publishes them ("Azure regions list",
 * learn.microsoft.com/azure/reliability/regions-list, MicrosoftDocs/reliability-docs
 * articles/reliability/regions-list.md, ms.date 09/23/2025). Regions without zones (westus,
 * northcentralus, westcentralus, ukwest, canadaeast, australiasoutheast, switzerlandwest, francesouth,
 * germanynorth, norwaywest, koreasouth, southindia, westindia, ...) are absent on purpose.
 * Azure SQL offers zone-redundant databases in every one of them (General Purpose, Business
 * Critical, Premium, Hyperscale).
 */
export const DEFAULT_AVAILABILITY_ZONE_REGIONS: readonly string[] = [
  'australiaeast',
  'austriaeast',
  'belgiumcentral',
  'brazilsouth',
  'canadacentral',
  'centralindia',
  'centralus',
  'chilecentral',
  'eastasia',
  'eastus',
  'eastus2',
  'francecentral',
  'germanywestcentral',
  'indonesiacentral',
  'israelcentral',
  'italynorth',
  'japaneast',
  'japanwest',
  'koreacentral',
  'malaysiawest',
  'mexicocentral',
  'newzealandnorth',
  'northeurope',
  'norwayeast',
  'polandcentral',
  'qatarcentral',
  'southafricanorth',
  'southcentralus',
  'southeastasia',
  'spaincentral',
  'swedencentral',
  'switzerlandnorth',
  'uaenorth',
  'uksouth',
  'westeurope',
  'westus2',
  'westus3',
];

/**
 * Azure's region pairs ("Azure region pairs and nonpaired regions",
 * https://learn.microsoft.com/azure/reliability/regions-paired, table "Azure paired regions";
 * sovereign clouds left out). Some pairs are one-way (westus3 -> eastus, brazilsouth ->
 * southcentralus, westindia -> southindia); nonpaired regions (italynorth, polandcentral,
 * spaincentral, qatarcentral, israelcentral, mexicocentral, ...) have no entry. The ARM emulator
 * keeps its own copy (hack/arm-emulator/region-pairs.ts) and a test holds this one against it.
 */
export const DEFAULT_REGION_PAIRS: Readonly<Record<string, string>> = {
  eastasia: 'southeastasia',
  southeastasia: 'eastasia',
  australiaeast: 'australiasoutheast',
  australiasoutheast: 'australiaeast',
  australiacentral: 'australiacentral2',
  australiacentral2: 'australiacentral',
  brazilsouth: 'southcentralus',
  brazilsoutheast: 'brazilsouth',
  canadacentral: 'canadaeast',
  canadaeast: 'canadacentral',
  northeurope: 'westeurope',
  westeurope: 'northeurope',
  francecentral: 'francesouth',
  francesouth: 'francecentral',
  germanywestcentral: 'germanynorth',
  germanynorth: 'germanywestcentral',
  centralindia: 'southindia',
  southindia: 'centralindia',
  westindia: 'southindia',
  japaneast: 'japanwest',
  japanwest: 'japaneast',
  koreacentral: 'koreasouth',
  koreasouth: 'koreacentral',
  norwayeast: 'norwaywest',
  norwaywest: 'norwayeast',
  southafricanorth: 'southafricawest',
  southafricawest: 'southafricanorth',
  swedencentral: 'swedensouth',
  swedensouth: 'swedencentral',
  switzerlandnorth: 'switzerlandwest',
  switzerlandwest: 'switzerlandnorth',
  uaenorth: 'uaecentral',
  uaecentral: 'uaenorth',
  uksouth: 'ukwest',
  ukwest: 'uksouth',
  eastus: 'westus',
  westus: 'eastus',
  eastus2: 'centralus',
  centralus: 'eastus2',
  northcentralus: 'southcentralus',
  southcentralus: 'northcentralus',
  westus2: 'westcentralus',
  westcentralus: 'westus2',
  westus3: 'eastus',
};

/**
 * Default residency zones. Geo-redundant backups copy to the paired region; the default keeps
 * backups in the tenant's own region's zone (Local, Zone) except where the pair stays in the
 * same geography and the zone allows it.
 */
export const DEFAULT_RESIDENCY: OperatorConfig['residency'] = {
  zones: {
    EU: {
      regions: [
        'westeurope',
        'northeurope',
        'francecentral',
        'germanywestcentral',
        'swedencentral',
        'italynorth',
        'spaincentral',
      ],
      backupRedundancies: ['Local', 'Zone', 'Geo', 'GeoZone'],
    },
    CH: { regions: ['switzerlandnorth', 'switzerlandwest'], backupRedundancies: ['Local', 'Zone', 'Geo'] },
    UK: { regions: ['uksouth', 'ukwest'], backupRedundancies: ['Local', 'Zone', 'Geo'] },
    US: {
      regions: ['eastus', 'eastus2', 'centralus', 'westus2', 'westus3', 'southcentralus', 'northcentralus'],
      backupRedundancies: ['Local', 'Zone', 'Geo', 'GeoZone'],
    },
    CA: { regions: ['canadacentral', 'canadaeast'], backupRedundancies: ['Local', 'Zone', 'Geo'] },
    AU: { regions: ['australiaeast', 'australiasoutheast'], backupRedundancies: ['Local', 'Zone', 'Geo'] },
    // Singapore's pair (Hong Kong) is another jurisdiction: backups stay local.
    SG: { regions: ['southeastasia'], backupRedundancies: ['Local', 'Zone'] },
  },
};

/** Thrown when the configuration is invalid; the message names every bad field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Environment variables that override single fields (the common knobs of a Deployment). */
const ENV_OVERRIDES: Record<string, (raw: string) => [string[], unknown]> = {
  TENANT_OPERATOR_NAMESPACE_PREFIX: (v) => [['namespacePrefix'], v],
  TENANT_OPERATOR_INGRESS_NAMESPACE: (v) => [['ingressNamespace'], v],
  TENANT_OPERATOR_RESYNC_SECONDS: (v) => [['resyncPeriodSeconds'], Number(v)],
  TENANT_OPERATOR_CONCURRENCY: (v) => [['concurrency'], Number(v)],
  TENANT_OPERATOR_HTTP_PORT: (v) => [['http', 'port'], Number(v)],
  TENANT_OPERATOR_LEADER_ELECTION: (v) => [['leaderElection', 'enabled'], v === 'true'],
  TENANT_OPERATOR_LEADER_NAMESPACE: (v) => [['leaderElection', 'namespace'], v],
  TENANT_OPERATOR_LOG_LEVEL: (v) => [['logLevel'], v],
};

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** Validates a raw configuration object, applying defaults. Throws ConfigError naming each bad field. */
export function parseConfig(raw: unknown): OperatorConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`invalid operator configuration:\n${problems.join('\n')}`);
}

/** Reads the file (if any), applies environment overrides, validates. */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): OperatorConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.TENANT_OPERATOR_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
    }
    const parsed: unknown = parseYaml(text);
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed)))
      throw new ConfigError(`configuration file ${file} must hold a mapping`);
    raw = (parsed ?? {}) as Record<string, unknown>;
  }
  for (const [name, toField] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      const [path, parsedValue] = toField(value);
      setPath(raw, path, parsedValue);
    }
  }
  return parseConfig(raw);
}
