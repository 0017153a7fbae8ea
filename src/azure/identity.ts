import {
  type AzureContext,
  callOptions,
  getOrUndefined,
  mergeTags,
  placementDiff,
  refuseLocationChange,
  type Tags,
} from './arm.ts';

/** Audience Entra expects in Kubernetes service-account tokens exchanged for Azure tokens. */
export const WORKLOAD_IDENTITY_AUDIENCE = 'api://AzureADTokenExchange';

export interface IdentityDesired {
  resourceGroup: string;
  name: string;
  location: string;
  tags: Tags;
}

export interface IdentityObserved {
  id: string;
  name: string;
  location: string;
  tags: Tags;
  principalId: string | undefined;
  clientId: string | undefined;
  tenantId: string | undefined;
}

export type IdentityField = 'location' | 'tags';

export interface FederatedCredentialDesired {
  resourceGroup: string;
  identityName: string;
  name: string;
  /** The cluster's OIDC issuer URL. */
  issuer: string;
  /** `system:serviceaccount:<namespace>:<name>`. */
  subject: string;
  audiences: string[];
}

export interface FederatedCredentialObserved {
  name: string;
  issuer: string | undefined;
  subject: string | undefined;
  audiences: string[];
}

export type FederatedCredentialField = 'issuer' | 'subject' | 'audiences';

/** The subject Kubernetes puts in a service account's token. */
export function serviceAccountSubject(namespace: string, serviceAccountName: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

type Identity = Awaited<ReturnType<AzureContext['clients']['msi']['userAssignedIdentities']['get']>>;

function toIdentity(identity: Identity, name: string): IdentityObserved {
  return {
    id: identity.id ?? '',
    name: identity.name ?? name,
    location: identity.location,
    tags: identity.tags ?? {},
    principalId: identity.principalId,
    clientId: identity.clientId,
    tenantId: identity.tenantId,
  };
}

export async function observeIdentity(
  ctx: AzureContext,
  resourceGroup: string,
  name: string,
): Promise<IdentityObserved | undefined> {
  const identity = await getOrUndefined(() => ctx.clients.msi.userAssignedIdentities.get(resourceGroup, name, callOptions(ctx)));
  return identity === undefined ? undefined : toIdentity(identity, name);
}

/** Fields that differ. Pure; ignores the server-filled ids. */
export function diffIdentity(desired: IdentityDesired, observed: IdentityObserved): IdentityField[] {
  const fields: IdentityField[] = placementDiff(desired, observed);
  return fields;
}

/** Create the identity when missing, else PATCH its tags when they differ; no call otherwise. */
export async function applyIdentity(
  ctx: AzureContext,
  desired: IdentityDesired,
  observed: IdentityObserved | undefined,
): Promise<IdentityObserved> {
  const identities = ctx.clients.msi.userAssignedIdentities;
  if (observed === undefined) {
    const created = await identities.createOrUpdate(
      desired.resourceGroup,
      desired.name,
      { location: desired.location, tags: desired.tags },
      callOptions(ctx),
    );
    return toIdentity(created, desired.name);
  }
  const fields = diffIdentity(desired, observed);
  refuseLocationChange(`identity ${desired.name}`, fields, observed.location, desired.location);
  if (fields.length === 0) return observed;
  const updated = await identities.update(
    desired.resourceGroup,
    desired.name,
    { tags: mergeTags(desired.tags, observed.tags) },
    callOptions(ctx),
  );
  return toIdentity(updated, desired.name);
}

export async function tagIdentity(
  ctx: AzureContext,
  resourceGroup: string,
  observed: IdentityObserved,
  tags: Tags,
): Promise<void> {
  await ctx.clients.msi.userAssignedIdentities.update(
    resourceGroup,
    observed.name,
    { tags: { ...observed.tags, ...tags } },
    callOptions(ctx),
  );
}

/** Delete the identity; its federated credentials go with it. */
export async function deleteIdentity(ctx: AzureContext, resourceGroup: string, name: string): Promise<void> {
  await ctx.clients.msi.userAssignedIdentities.delete(resourceGroup, name, callOptions(ctx));
}

export async function observeFederatedCredential(
  ctx: AzureContext,
  resourceGroup: string,
  identityName: string,
  name: string,
): Promise<FederatedCredentialObserved | undefined> {
  const fic = await getOrUndefined(() =>
    ctx.clients.msi.federatedIdentityCredentials.get(resourceGroup, identityName, name, callOptions(ctx)),
  );
  if (fic === undefined) return undefined;
  return { name: fic.name ?? name, issuer: fic.issuer, subject: fic.subject, audiences: fic.audiences ?? [] };
}

/** Fields that differ. Pure; audiences compare as a set. */
export function diffFederatedCredential(
  desired: FederatedCredentialDesired,
  observed: FederatedCredentialObserved,
): FederatedCredentialField[] {
  const fields: FederatedCredentialField[] = [];
  if (desired.issuer !== observed.issuer) fields.push('issuer');
  if (desired.subject !== observed.subject) fields.push('subject');
  const a = [...desired.audiences].sort();
  const b = [...observed.audiences].sort();
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) fields.push('audiences');
  return fields;
}

/** PUT the credential when missing or different; no call otherwise. */
export async function applyFederatedCredential(
  ctx: AzureContext,
  desired: FederatedCredentialDesired,
  observed: FederatedCredentialObserved | undefined,
): Promise<FederatedCredentialObserved> {
  if (observed !== undefined && diffFederatedCredential(desired, observed).length === 0) return observed;
  const fic = await ctx.clients.msi.federatedIdentityCredentials.createOrUpdate(
    desired.resourceGroup,
    desired.identityName,
    desired.name,
    { issuer: desired.issuer, subject: desired.subject, audiences: desired.audiences },
    callOptions(ctx),
  );
  return { name: fic.name ?? desired.name, issuer: fic.issuer, subject: fic.subject, audiences: fic.audiences ?? [] };
}
