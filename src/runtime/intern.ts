/**
 * Hash-consing for the objects the caches hold: identical parts of different objects are kept
 * once. Most of a tenant's objects are the same as every other tenant's of its tier except for
 * names, uids, resourceVersions and a few addresses: a Deployment's pod template (probes,
 * security context, resources, spread constraints) is 2.5 KB of JSON that differs in two env
 * values and a host alias, a NetworkPolicy's ports and selectors are the same everywhere. Measured
 * on the JSON of a 3000-tenant fleet's objects: 11.2 KB per tenant of owned objects, 6.5 KB once
 * identical subtrees are stored once.
 *
 * Rules:
 * - Interned values are frozen: they are shared, so nobody may change them (a write throws, in
 *   the strict mode every module runs in, instead of silently changing another tenant's object).
 * - The table never keeps a subtree alive: it holds weak references (a Tenant's status changes
 *   some eight times while it onboards; strong entries would keep the dead versions), and it is
 *   bounded (two generations of `GENERATION_SIZE` entries, the older dropped when the newer fills).
 * - Equality is structural and exact: a hash picks a candidate and the candidate is compared
 *   field by field (its children already interned, so mostly by identity). A hash collision only
 *   means a subtree is not shared.
 * - Strings up to `MAX_SHARED_LENGTH` are replaced by the copy in V8's string table (property
 *   keys always are): JSON.parse gives every object its own copy of label values, reasons, `True`.
 */

/** Longer strings (a certificate, a long message) are rarely repeated: not worth the lookup. */
const MAX_SHARED_LENGTH = 256;
/** Entries per generation of the table. */
export const GENERATION_SIZE = 1 << 14;

/**
 * The one copy of `text` V8 keeps in its string table: for strings many long-lived objects repeat,
 * whatever their length. (The table is weak: a string nothing uses any more is collected.)
 */
export function internString(text: string): string {
  return Object.keys({ [text]: 0 })[0] ?? text;
}

type Node = Record<string, unknown> | unknown[];

let current = new Map<number, WeakRef<Node>>();
let previous = new Map<number, WeakRef<Node>>();

/** 32-bit FNV-1a step over a string's UTF-16 code units. */
function hashString(h: number, text: string): number {
  let x = h;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), 0x01000193);
  return x;
}

function hashValue(h: number, value: unknown): number {
  switch (typeof value) {
    case 'string':
      return hashString(Math.imul(h ^ 0x73, 0x01000193), value);
    case 'number':
      return hashString(Math.imul(h ^ 0x6e, 0x01000193), String(value));
    case 'boolean':
      return Math.imul(h ^ (value ? 0x74 : 0x66), 0x01000193);
    default:
      return Math.imul(h ^ 0x7a, 0x01000193);
  }
}

/** Whether `a` and `b` (both with interned children) hold the same values in the same order. */
function sameShallow(a: Node, b: Node): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (let i = 0; i < keysA.length; i++) {
    const key = keysA[i] as string;
    if (key !== keysB[i] || a[key] !== b[key]) return false;
  }
  return true;
}

function lookup(hash: number, node: Node): Node {
  let found = current.get(hash)?.deref();
  if (found === undefined) {
    found = previous.get(hash)?.deref();
    if (found !== undefined && sameShallow(found, node)) {
      remember(hash, found);
      return found;
    }
  } else if (sameShallow(found, node)) {
    return found;
  }
  if (found !== undefined) return node; // a collision with a live subtree: this one stays unshared
  remember(hash, Object.freeze(node) as Node);
  return node;
}

function remember(hash: number, node: Node): void {
  if (current.size >= GENERATION_SIZE) {
    previous = current;
    current = new Map();
  }
  current.set(hash, new WeakRef(node));
}

/** `node[key] = value`, also for a key `__proto__` (JSON.parse makes it an own property; `=` would set the prototype). */
function setOwn(node: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(node, key, { value, writable: true, enumerable: true, configurable: true });
  else node[key] = value;
}

/**
 * Interns the children of `node` in place and returns the hash of its content. A frozen node is
 * interned already (or someone else's): only hashed, never written.
 */
function internChildren(node: Node): number {
  const writable = !Object.isFrozen(node);
  let h = Array.isArray(node) ? 0x5b : 0x7b;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const [value, childHash] = internValue(node[i]);
      if (writable) node[i] = value;
      h = Math.imul(h ^ childHash, 0x01000193);
    }
    return h;
  }
  for (const key of Object.keys(node)) {
    const [value, childHash] = internValue(node[key]);
    if (writable) setOwn(node, key, value);
    h = hashString(h, key);
    h = Math.imul(h ^ childHash, 0x01000193);
  }
  return h;
}

function internValue(value: unknown): [unknown, number] {
  if (typeof value === 'string') {
    return [value.length > MAX_SHARED_LENGTH ? value : internString(value), hashValue(0x811c9dc5, value)];
  }
  if (value === null || typeof value !== 'object') return [value, hashValue(0x811c9dc5, value)];
  const node = value as Node;
  const hash = internChildren(node);
  return [Object.isFrozen(node) ? node : lookup(hash, node), hash];
}

/**
 * Interns `value` (and its strings) in place: every object or array in it is replaced by the one
 * frozen copy of its content. `value` must be freshly parsed, owned by the caller.
 */
export function intern<T>(value: T): T {
  return internValue(value)[0] as T;
}

/**
 * Like `intern`, but the top level stays the caller's (unfrozen, not in the table): for an object
 * unique by nature (a cached object's metadata, with its uid and resourceVersion) whose parts are not.
 */
export function internParts<T extends object>(value: T): T {
  internChildren(value as Node);
  return value;
}

/** Entries the table holds now (both generations), for tests. */
export function internedEntries(): number {
  return current.size + previous.size;
}
