/** Small helpers for the untyped JSON bodies the emulator stores and serves. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` if it is a plain object, else a fresh empty one. */
export function asObject(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function asBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * ARM PATCH: a JSON merge patch (RFC 7396: objects merge, arrays and scalars replace, null removes),
 * except that a top-level `tags` object replaces the tags wholesale, as ARM does.
 */
export function armMergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const result = mergePatch(target, patch);
  if (isObject(patch.tags)) result.tags = clone(patch.tags);
  return result;
}

function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const result: JsonObject = clone(target);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      result[key] = mergePatch(asObject(result[key]), value);
    } else if (value !== undefined) {
      result[key] = clone(value);
    }
  }
  return result;
}

/** Remove keys whose value is undefined (JSON.stringify would drop them anyway; keeps stored state tidy). */
export function compact(value: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
