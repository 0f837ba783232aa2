/**
 * JSON as Python's `json.dumps` writes it with its defaults (`ensure_ascii=True`, separators
 * `", "` and `": "`), and Python's `repr` of a float: what scaleflow stores as a distribution's
 * label (`json.dumps(list(labels))`) and as `data_location`. A reader that parses the JSON gets
 * the same values either way; writing the same text keeps an integer label an integer and a
 * float label a float (`1.0`, not `1`), as the reference's stores have them.
 */

/** `json.dumps(x)` of a float: Python's repr (shortest round-trip digits: `1.0`, `1e-05`, `1e+16`), NaN and ±Infinity as json writes them. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return 'Infinity';
  if (x === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without digits gives the shortest digits that round-trip, as repr does.
  const [mant = '', exp = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const decpt = Number(exp) + 1; // where the decimal point goes, counted from the first digit
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const e = decpt - 1;
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** Python's `repr` of an int held in a double (exact up to 2^53). */
export function pyIntRepr(x: number): string {
  return BigInt(Math.trunc(x)).toString();
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** `json.dumps(s)` of a str: every character outside ' '..'~' as \uXXXX (UTF-16 units, as Python's ensure_ascii). */
export function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A value as `json.dumps` writes it; `integer` says a number is a Python int (else a float). */
export type PyScalar = { readonly value: string | number | boolean; readonly integer?: boolean };

export function pyJsonScalar(v: PyScalar): string {
  const x = v.value;
  if (typeof x === 'string') return pyJsonString(x);
  if (typeof x === 'boolean') return x ? 'true' : 'false';
  return v.integer === true ? pyIntRepr(x) : pyFloatRepr(x);
}

/** `json.dumps(list)` of scalars. */
export function pyJsonList(values: readonly PyScalar[]): string {
  return `[${values.map(pyJsonScalar).join(', ')}]`;
}

/**
 * scaleflow's `AnnDataLocation.to_json()` of a data location: the first part an attribute of the
 * AnnData (`obsm`, `X`, `layers`), the rest item lookups: `[["getattr", "obsm"], ["getitem", "X_pca"]]`.
 */
export function dataLocationJson(location: readonly string[]): string {
  const ops = location.map((part, i) => `[${pyJsonString(i === 0 ? 'getattr' : 'getitem')}, ${pyJsonString(part)}]`);
  return `[${ops.join(', ')}]`;
}
