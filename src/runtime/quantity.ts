/**
 * Kubernetes quantities in canonical form. The applier compares desired ⊆ observed, and the API
 * server stores quantities canonically ("1000m" -> "1"), so every quantity the operator writes
 * must already be canonical or it would be rewritten on every reconcile.
 */

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const QUANTITY_PATTERN = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * A Kubernetes quantity in the form the API server stores it (apimachinery's `Quantity.String()`):
 * "1000m" -> "1", "0.5" -> "500m", "2048Mi" -> "2Gi", "1.5Gi" -> "1536Mi", "1000" -> "1k".
 * Values finer than a nano unit are rounded up, as the API server does. Throws on a malformed value.
 */
export function canonicalQuantity(value: string): string {
  const match = QUANTITY_PATTERN.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a Kubernetes quantity such as "500m", "1" or "512Mi"`);
  const [, sign = '', number = '', suffix = ''] = match;
  const [whole = '', fraction = ''] = number.split('.');
  // The exact value is digits x 10^exp10 x 1024^exp1024, held as a BigInt of nano units.
  let digits = BigInt(`${whole}${fraction}` || '0');
  let exp10 = -fraction.length;
  let binary = false;
  if (suffix in BINARY_SUFFIXES) {
    binary = true;
    digits *= 1024n ** BigInt(BINARY_SUFFIXES[suffix] ?? 0);
  } else if (/^[eE]/.test(suffix)) exp10 += Number(suffix.slice(1));
  else exp10 += DECIMAL_SUFFIXES[suffix] ?? 0;
  const shift = exp10 + 9;
  const divisor = 10n ** BigInt(Math.max(-shift, 0));
  let nanos = shift >= 0 ? digits * 10n ** BigInt(shift) : (digits + divisor - 1n) / divisor;
  if (nanos === 0n) return '0';
  const negative = sign === '-';
  if (negative) nanos = -nanos;
  const out = (text: string) => (negative ? `-${text}` : text);
  const NANO = 1_000_000_000n;

  // Binary values of at least 1024 that are whole numbers stay binary; others print as decimal.
  if (binary && nanos >= 1024n * NANO && nanos % NANO === 0n) {
    let units = nanos / NANO;
    let power = 0;
    while (power < 6 && units % 1024n === 0n) {
      units /= 1024n;
      power++;
    }
    return out(`${units}${['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][power]}`);
  }
  // Decimal (SI or exponent notation): the largest exponent, a multiple of 3, that keeps an integer.
  let exponent = -9;
  let mantissa = nanos;
  while (exponent < 18 && mantissa % 1000n === 0n) {
    mantissa /= 1000n;
    exponent += 3;
  }
  if (/^[eE]/.test(suffix)) return out(`${mantissa}${exponent === 0 ? '' : `e${exponent}`}`);
  const si = Object.entries(DECIMAL_SUFFIXES).find(([, e]) => e === exponent)?.[0] ?? '';
  return out(`${mantissa}${si}`);
}
