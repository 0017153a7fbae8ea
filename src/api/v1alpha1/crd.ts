/**
 * Turns a kind's zod schemas into a CustomResourceDefinition: the one place the API's
 * admission-time validation is derived from its TypeScript source of truth.
 */
import { z } from 'zod';
import { CATEGORY, GROUP, type KindDefinition, VERSION } from './index.ts';

type JsonSchema = { [key: string]: unknown };

/**
 * Rewrites zod's OpenAPI 3.0 output into a Kubernetes structural schema: drops keywords the
 * API server refuses (`$schema`, `additionalProperties: false`, `const`) and folds unions of
 * literals into `enum`.
 */
export function toStructural(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  const anyOf = schema.anyOf as JsonSchema[] | undefined;
  if (anyOf?.every((s) => 'const' in s || (Array.isArray(s.enum) && s.enum.length === 1))) {
    const values = anyOf.map((s) => ('const' in s ? s.const : (s.enum as unknown[])[0]));
    const allIntegers = values.every((v) => Number.isInteger(v));
    out.type = allIntegers ? 'integer' : typeof values[0];
    out.enum = values;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || (key === 'anyOf' && 'enum' in out)) continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'const') {
      out.enum = [value];
      continue;
    }
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, toStructural(v)]),
      );
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = toStructural(value as JsonSchema);
    } else if (key === 'anyOf' || key === 'allOf' || key === 'oneOf') {
      out[key] = (value as JsonSchema[]).map(toStructural);
    } else if (!(key in out)) {
      out[key] = value;
    }
  }
  // zod's int() adds the JavaScript safe-integer range; it says nothing to a reader of `kubectl explain`.
  if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  return out;
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'throw' }) as JsonSchema);
}

/** The CRD object for one kind, ready to serialise to YAML or send to the API server. */
export function buildCustomResourceDefinition(def: KindDefinition): JsonSchema {
  const openAPIV3Schema: JsonSchema = {
    type: 'object',
    description: def.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of this representation of the object.' },
      kind: { type: 'string', description: 'Kind of the object.' },
      metadata: { type: 'object' },
      spec: jsonSchemaOf(def.spec),
      // Every object is read with a status, `observedGeneration: 0` until the operator writes one:
      // kstatus (Flux) calls an object without status Current, so a new one would look done before
      // the operator has seen it. The API server applies this default on every read; the status
      // subresource still drops it on create, so nothing is stored.
      status: { ...jsonSchemaOf(def.status), default: { observedGeneration: 0 } },
    },
  };
  if (def.rootValidations) openAPIV3Schema['x-kubernetes-validations'] = def.rootValidations;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'tenant-operator', 'app.kubernetes.io/part-of': 'tenant-operator' },
    },
    spec: {
      group: GROUP,
      scope: 'Cluster',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
