/** `uns` entries: top-level keys and embedding dictionaries `uns/<key>/<label>` → vector. */
import { CellbudgetError } from '../core/errors.js';
import { allocFloat, type Embeddings, type FloatArray } from '../core/data.js';
import { T } from './file.js';
import type { H5File } from './file.js';
import { floatDtypeFor } from './matrix.js';

/** Top-level keys under `uns` ([] when the file has no uns). */
export function unsKeys(f: H5File): string[] {
  return f.isGroup('/uns') ? f.keys('/uns') : [];
}

/** `uns/<key>/<label>` vectors as float arrays; UNS_MISSING_KEY when `uns/<key>` is absent. */
export function readEmbeddings(f: H5File, key: string): Embeddings {
  const path = `/uns/${key}`;
  const g = key.length > 0 && !key.includes('/') ? f.kind(path) : null;
  if (g !== 'group') {
    const keys = unsKeys(f);
    throw new CellbudgetError(
      'UNS_MISSING_KEY',
      g === null ? `uns in ${f.path} has no key '${key}'.` : `uns/${key} in ${f.path} is not a dictionary of embeddings.`,
      {
        file: f.path,
        key: `uns/${key}`,
        hint: `uns holds: ${keys.length ? keys.join(', ') : '(nothing)'}. Fix rep_keys to name a dictionary of label → vector.`,
      },
    );
  }
  const out = new Map<string, FloatArray>();
  // Plain float vectors straight from the file (one pass over the group); HDF5 reads the rest
  // (431 vectors of 16 floats: ~30-80 ms through HDF5, most of planning's file reads).
  const stored = f.storedVectors(path);
  for (const label of f.keys(path)) {
    const hit = stored?.get(label);
    if (hit) {
      out.set(label, hit);
      continue;
    }
    const p = `${path}/${label}`;
    const meta = f.metadata(p);
    const t = meta.type;
    if (t !== T.FLOAT && t !== T.INTEGER) {
      throw new CellbudgetError('H5AD_UNSUPPORTED_DTYPE', `Embedding 'uns/${key}/${label}' in ${f.path} is not numeric.`, {
        file: f.path,
        key: `uns/${key}/${label}`,
        hint: 'Embeddings must be numeric vectors.',
      });
    }
    const n = (meta.shape ?? []).reduce((a, b) => a * b, 1);
    f.checkFits(p, n, 8, 'embedding values');
    const v: FloatArray = allocFloat(floatDtypeFor(meta), n);
    if ((meta.shape ?? []).length === 0) v[0] = Number(f.readNumeric1D(p, meta)[0] ?? 0);
    else f.readRowsInto(p, meta, 0, meta.shape?.[0] ?? 0, v);
    out.set(label, v);
  }
  return out;
}
