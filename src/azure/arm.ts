/** Calling the Azure SDK clients directly (backups): call context, abort signal, 404 handling. */
import { NOT_A_MISSING_RESOURCE } from './arm-client.ts';
import type { AzureClients } from './clients.ts';

/** What every observe/apply call needs. */
export interface AzureContext {
  clients: AzureClients;
  /** Cancels in-flight calls and pollers (operator shutdown, lost leadership). */
  signal?: AbortSignal | undefined;
}

/** SDK call options carrying the context's abort signal. */
export function callOptions(ctx: AzureContext): { abortSignal?: AbortSignal } {
  return ctx.signal === undefined ? {} : { abortSignal: ctx.signal };
}

/** Status code of an SDK error, whichever copy of RestError threw it. */
export function statusCodeOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True when an SDK error says the resource (or its group or parent) does not exist. */
export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return statusCodeOf(err) === 404 && !(typeof code === 'string' && NOT_A_MISSING_RESOURCE.has(code));
}

/**
 * Run a GET and map "not found" to `undefined`. Every other error propagates: a 403, a 5xx, a
 * timeout or a 404 about the subscription never means "the resource is gone".
 */
export async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
