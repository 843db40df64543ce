// Checkpoint files as the CLI writes them — config.json, model.safetensors, tokenizer.json in one
// directory — zipped for download, and found again among whatever the person picks: the three
// files, a checkpoint folder, a CLI run directory (its latest.json names the checkpoint) or a zip.
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';

/** The files of a checkpoint, as text and bytes. */
export interface CheckpointBundle {
  /** `config.json`. */
  config: string;
  /** `model.safetensors`. */
  weights: Uint8Array;
  /** `tokenizer.json`. */
  tokenizer: string;
}

/** The names of the files, as the CLI and primer-layers write them. */
export const CHECKPOINT_FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  tokenizer: 'tokenizer.json',
} as const;

/** Which racer a checkpoint is, by its config: plain attention is the vanilla baseline. */
export function roleOfConfig(configText: string): 'primer' | 'vanilla' {
  try {
    return (JSON.parse(configText) as { attention?: unknown }).attention === 'mha'
      ? 'vanilla'
      : 'primer';
  } catch {
    return 'primer'; // the model loader reports the broken config.json properly
  }
}

/** The step a CLI checkpoint folder is named after (`checkpoints/step-000500`), else 0. */
export function stepOfPath(dir: string): number {
  const match = /step-(\d+)$/.exec(dir);
  return match ? Number(match[1]) : 0;
}

/** A chosen file that is not (or not part of) a checkpoint; the message says what is missing. */
export class CheckpointFilesError extends Error {
  override name = 'CheckpointFilesError';
}

/** The checkpoint's folder name in a download, e.g. `primer-ez-tiny-step-000300`. */
export function checkpointFolderName(arch: 'primer-ez' | 'vanilla', size: string, step: number) {
  const safe = size.replace(/[^a-z0-9-]+/gi, '-');
  return `${arch}-${safe}-step-${String(step).padStart(6, '0')}`;
}

/**
 * A zip holding `folder/config.json`, `folder/model.safetensors` and `folder/tokenizer.json`:
 * unzipped, the folder is a checkpoint directory for `primer-ez eval --checkpoint folder`.
 * Stored without compression (float weights barely compress; storing is instant).
 */
export function zipCheckpoint(bundle: CheckpointBundle, folder: string): Uint8Array {
  return zipSync(
    {
      [folder]: {
        [CHECKPOINT_FILES.config]: strToU8(bundle.config),
        [CHECKPOINT_FILES.weights]: bundle.weights,
        [CHECKPOINT_FILES.tokenizer]: strToU8(bundle.tokenizer),
      },
    },
    { level: 0 },
  );
}

/** The files in a zip (stored or deflated), by path; folders are left out. */
export function unzipFiles(zip: Uint8Array): { path: string; data: Uint8Array }[] {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (error) {
    throw new CheckpointFilesError(`the zip cannot be read: ${(error as Error).message}.`);
  }
  return Object.entries(files)
    .filter(([path]) => !path.endsWith('/'))
    .map(([path, data]) => ({ path, data }));
}

/** A chosen file's path: `webkitRelativePath` for a folder, else its name. */
export interface PathEntry {
  path: string;
}

/** Where a checkpoint's three files are among the entries. */
export interface PickedCheckpoint<T extends PathEntry> {
  /** The checkpoint's directory within the selection ('' for loose files). */
  dir: string;
  config: T;
  weights: T;
  tokenizer: T;
}

const normalise = (path: string) => path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
const dirOf = (path: string) => {
  const at = path.lastIndexOf('/');
  return at < 0 ? '' : path.slice(0, at);
};
const baseOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const join = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

/**
 * Finds a checkpoint among chosen files. Several checkpoints (a run directory) resolve through
 * `latest.json` when there is one (read with `readText`), else the last by name (the highest
 * step, as the CLI names them `step-NNNNNN`). Throws a {@link CheckpointFilesError} that says
 * what is missing.
 */
export async function pickCheckpoint<T extends PathEntry>(
  entries: readonly T[],
  readText: (entry: T) => Promise<string>,
): Promise<PickedCheckpoint<T>> {
  const byPath = new Map(entries.map((e) => [normalise(e.path), e]));
  const dirs = [...byPath.keys()]
    .filter((p) => baseOf(p) === CHECKPOINT_FILES.config)
    .map(dirOf)
    .sort();
  if (dirs.length === 0) {
    const names = [...byPath.keys()].slice(0, 5).join(', ');
    throw new CheckpointFilesError(
      `no config.json among the chosen files (${names}${byPath.size > 5 ? ', …' : ''}); choose a checkpoint's config.json, model.safetensors and tokenizer.json, its folder, or a zip of them.`,
    );
  }
  let dir = dirs.at(-1)!;
  if (dirs.length > 1) {
    const pointers = [...byPath.keys()].filter((p) => baseOf(p) === 'latest.json');
    for (const pointer of pointers) {
      try {
        const { checkpoint } = JSON.parse(await readText(byPath.get(pointer)!)) as {
          checkpoint?: unknown;
        };
        const target =
          typeof checkpoint === 'string' ? normalise(join(dirOf(pointer), checkpoint)) : '';
        if (dirs.includes(target)) dir = target;
      } catch {
        // A damaged pointer: fall back to the last checkpoint by name.
      }
    }
  }
  const find = (name: string) => byPath.get(join(dir, name));
  const config = find(CHECKPOINT_FILES.config)!;
  const weights = find(CHECKPOINT_FILES.weights);
  const tokenizer = find(CHECKPOINT_FILES.tokenizer);
  const missing = [
    weights === undefined ? CHECKPOINT_FILES.weights : undefined,
    tokenizer === undefined ? CHECKPOINT_FILES.tokenizer : undefined,
  ].filter((name) => name !== undefined);
  if (weights === undefined || tokenizer === undefined) {
    throw new CheckpointFilesError(
      `${dir === '' ? 'the chosen files have' : `${dir}/ has`} config.json but no ${missing.join(' or ')}; a checkpoint needs all three files (config.json, model.safetensors, tokenizer.json).`,
    );
  }
  return { dir, config, weights, tokenizer };
}

/** Reads a checkpoint out of in-memory files (e.g. a zip's). */
export async function bundleFromFiles(
  files: readonly { path: string; data: Uint8Array }[],
): Promise<{ dir: string; bundle: CheckpointBundle }> {
  const picked = await pickCheckpoint(files, async (e) => strFromU8(e.data));
  return {
    dir: picked.dir,
    bundle: {
      config: strFromU8(picked.config.data),
      weights: picked.weights.data,
      tokenizer: strFromU8(picked.tokenizer.data),
    },
  };
}
