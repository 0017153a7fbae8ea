/**
 * `Microsoft.ManagedIdentity/userAssignedIdentities` and their federated identity credentials:
 * the identity a workload signs in as, and the trust in one Kubernetes service account's tokens.
 */
import type { ResourceKind } from '../engine.ts';
import { type Placement, props, str } from './common.ts';
import { armId, childrenOf, inResourceGroup } from './ids.ts';
import { placedKind, settingsKind } from './shapes.ts';

export const MSI_API_VERSION = '2024-11-30';

/** Audience Entra expects in Kubernetes service-account tokens exchanged for Azure tokens. */
export const WORKLOAD_IDENTITY_AUDIENCE = 'api://AzureADTokenExchange';

export interface IdentityParams extends Placement {
  resourceGroupId: string;
  name: string;
}

export const identityKind: ResourceKind<IdentityParams> = placedKind({
  ...inResourceGroup<IdentityParams>('Microsoft.ManagedIdentity/userAssignedIdentities', MSI_API_VERSION, 'managed identity'),
  // Usable once Entra has given it its ids.
  ready: (observed) => str(props(observed).clientId) !== undefined && str(props(observed).principalId) !== undefined,
});

export function identityId(resourceGroupId: string, name: string): string {
  return armId(identityKind.type, resourceGroupId, name);
}

/** What an identity reports once created. */
export function identityOutputs(observed: { properties?: unknown } | undefined) {
  const p = (observed?.properties ?? {}) as Record<string, unknown>;
  return { principalId: str(p.principalId), clientId: str(p.clientId), tenantId: str(p.tenantId) };
}

/** The subject Kubernetes puts in a service account's token. */
export function serviceAccountSubject(namespace: string, serviceAccountName: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

export interface FederatedCredentialParams {
  identityId: string;
  name: string;
  /** The cluster's OIDC issuer URL. */
  issuer: string;
  /** `system:serviceaccount:<namespace>:<name>`. */
  subject: string;
}

// A PUT replaces the credential (Azure allows one audience per credential).
export const federatedCredentialKind: ResourceKind<FederatedCredentialParams> = settingsKind({
  ...childrenOf<FederatedCredentialParams>(identityKind.type, (p) => p.identityId)(
    'federatedIdentityCredentials',
    MSI_API_VERSION,
    'federated credential',
    (p) => p.name,
  ),
  body: (p) => ({ properties: { issuer: p.issuer, subject: p.subject, audiences: [WORKLOAD_IDENTITY_AUDIENCE] } }),
  diff: (p, observed) => {
    const o = props(observed);
    const fields: string[] = [];
    if (str(o.issuer) !== p.issuer) fields.push('issuer');
    if (str(o.subject) !== p.subject) fields.push('subject');
    const audiences = Array.isArray(o.audiences) ? o.audiences : [];
    if (audiences.length !== 1 || audiences[0] !== WORKLOAD_IDENTITY_AUDIENCE) fields.push('audiences');
    return fields;
  },
});
