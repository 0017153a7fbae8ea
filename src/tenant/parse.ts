/** Reads a Tenant from its wire form with the same zod schema the CRD was generated from. */
import { type Tenant, tenantSpecSchema, tenantStatusSchema } from '../api/v1alpha1/tenant.ts';
import type { KubeObject } from '../runtime/kube-client.ts';

export type ParsedTenant = { ok: true; tenant: Tenant } | { ok: false; message: string };

export function parseTenant(obj: KubeObject): ParsedTenant {
  const spec = tenantSpecSchema.safeParse(obj.spec);
  if (!spec.success) {
    const message = spec.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ');
    return { ok: false, message };
  }
  const status = tenantStatusSchema.safeParse(obj.status ?? {});
  return {
    ok: true,
    tenant: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: obj.metadata,
      spec: spec.data,
      status: status.success ? status.data : {},
    },
  };
}
