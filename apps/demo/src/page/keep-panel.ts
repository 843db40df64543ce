// Keeping the work: each model as the CLI's checkpoint files — downloaded as a zip or as separate
// files, kept in IndexedDB, loaded back from files, a folder, a CLI run directory or a zip — and
// scored on the current text exactly as `primer-ez eval` scores it.
import {
  bundleFromFiles,
  type CheckpointBundle,
  CheckpointFilesError,
  checkpointFolderName,
  pickCheckpoint,
  roleOfConfig,
  stepOfPath,
  unzipFiles,
  zipCheckpoint,
} from '../shared/checkpoint-files.js';
import { formatCount, formatDuration, formatLoss } from '../shared/format.js';
import { type ExportedCheckpoint, ROLE_LABEL, ROLES, type Role } from '../shared/protocol.js';
import type { CorpusPanel } from './corpus-panel.js';
import { byId, download, run } from './dom.js';
import type { Lab } from './lab.js';

/** A chosen file with its path inside the chosen folder. */
interface Chosen {
  path: string;
  file: File;
}

export class KeepPanel {
  private readonly status = byId('keep-status');
  /** The last score of each model, for the test hook and the page. */
  readonly scores: Partial<Record<Role, { loss: number; tokens: number }>> = {};

  constructor(
    private readonly lab: Lab,
    private readonly corpus: CorpusPanel,
    private readonly canChange: () => string | undefined,
    private readonly save: () => Promise<void>,
  ) {
    const report = (message: string) => this.say(message, true);
    for (const role of ROLES) {
      byId(`download-${role}`).addEventListener('click', () =>
        run(() => this.downloadZip(role), report),
      );
      byId(`files-${role}`).addEventListener('click', () =>
        run(() => this.showFiles(role), report),
      );
      byId(`score-${role}`).addEventListener('click', () => run(() => this.score(role), report));
    }
    byId('save').addEventListener('click', () => run(() => this.save(), report));
    for (const id of ['load-files', 'load-folder']) {
      const input = byId(id, HTMLInputElement);
      input.addEventListener('change', () => {
        const files = [...(input.files ?? [])].map((file) => ({
          path: file.webkitRelativePath || file.name,
          file,
        }));
        input.value = '';
        if (files.length > 0) run(() => this.load(files), report);
      });
    }
    const drop = byId('load-drop');
    drop.addEventListener('dragover', (event) => {
      event.preventDefault();
      drop.classList.add('dragging');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('dragging');
      const items = event.dataTransfer?.items;
      if (items) run(async () => this.load(await droppedFiles(items)), report);
    });
  }

  say(message: string, error = false): void {
    this.status.textContent = message;
    this.status.classList.toggle('error', error);
  }

  /** Updates the models table and its buttons. */
  refresh(busy: boolean): void {
    for (const role of ROLES) {
      const model = this.lab.models[role];
      const about = byId(`model-${role}`).querySelector('[data-cell="about"]')!;
      about.textContent = model
        ? `${model.meta.source}; step ${model.meta.step}; ${formatCount(model.parameterCount)} parameters (d_model ${model.config.d_model}, ${model.config.n_layers} layers, ${model.config.attention === 'mdha' ? 'MDHA' : 'MHA'}, ${model.config.ffn_activation === 'squared_relu' ? 'squared ReLU' : 'ReLU'})${model.meta.savedAt ? `; saved ${new Date(model.meta.savedAt).toLocaleString()}` : ''}`
        : this.lab.lost[role]
          ? 'lost with the WebGL context: “Resume from the last checkpoint” (above, in the race) brings it back'
          : 'none yet';
      for (const action of ['download', 'files', 'score']) {
        byId(`${action}-${role}`, HTMLButtonElement).disabled = busy || model === undefined;
      }
    }
    byId('save', HTMLButtonElement).disabled =
      busy || ROLES.every((role) => this.lab.models[role] === undefined);
  }

  private async exported(role: Role): Promise<ExportedCheckpoint> {
    return this.lab.worker(role).rpc.call('exportCheckpoint', {});
  }

  private folderName({ bundle, meta }: ExportedCheckpoint): string {
    const config = JSON.parse(bundle.config) as { d_model: number; n_layers: number };
    return checkpointFolderName(
      meta.role === 'primer' ? 'primer-ez' : 'vanilla',
      `d${config.d_model}-l${config.n_layers}`,
      meta.step,
    );
  }

  private async downloadZip(role: Role): Promise<void> {
    const checkpoint = await this.exported(role);
    const folder = this.folderName(checkpoint);
    download(zipCheckpoint(checkpoint.bundle, folder), `${folder}.zip`, 'application/zip');
    this.say(
      `${ROLE_LABEL[role]}: downloading ${folder}.zip (unzipped, ${folder}/ is a checkpoint for primer-ez).`,
    );
  }

  private async showFiles(role: Role): Promise<void> {
    const { bundle } = await this.exported(role);
    const list = byId(`links-${role}`, HTMLUListElement);
    for (const link of list.querySelectorAll('a')) URL.revokeObjectURL(link.href);
    list.replaceChildren(
      ...(
        [
          ['config.json', bundle.config, 'application/json'],
          ['model.safetensors', bundle.weights, 'application/octet-stream'],
          ['tokenizer.json', bundle.tokenizer, 'application/json'],
        ] as const
      ).map(([name, data, type]) => {
        const item = document.createElement('li');
        const link = document.createElement('a');
        link.href = URL.createObjectURL(new Blob([data as BlobPart], { type }));
        link.download = name;
        link.textContent = `${name} (${ROLE_LABEL[role]})`;
        item.append(link);
        return item;
      }),
    );
    this.say(
      `${ROLE_LABEL[role]}: its three files are linked below its buttons; save them into one folder.`,
    );
  }

  /** Loads a checkpoint from chosen or dropped files. */
  async load(chosen: readonly Chosen[]): Promise<void> {
    const refusal = this.canChange();
    if (refusal) throw new Error(refusal);
    this.say('Reading the checkpoint…');
    let dir: string;
    let bundle: CheckpointBundle;
    const zip = chosen.find((c) => c.path.toLowerCase().endsWith('.zip'));
    if (zip && !chosen.some((c) => c.path.endsWith('config.json'))) {
      ({ dir, bundle } = await bundleFromFiles(
        unzipFiles(new Uint8Array(await zip.file.arrayBuffer())),
      ));
      dir = dir || zip.file.name.replace(/\.zip$/i, '');
    } else {
      const picked = await pickCheckpoint(chosen, (c) => c.file.text());
      dir = picked.dir;
      bundle = {
        config: await picked.config.file.text(),
        weights: new Uint8Array(await picked.weights.file.arrayBuffer()),
        tokenizer: await picked.tokenizer.file.text(),
      };
    }
    const role = roleOfConfig(bundle.config);
    const summary = await this.lab.load(role, {
      bundle,
      meta: {
        role,
        step: stepOfPath(dir),
        source: `loaded from ${dir === '' ? 'files' : `${dir}/`}`,
        valLoss: null,
      },
    });
    this.say(
      `Loaded ${dir === '' ? 'the checkpoint' : dir} as ${ROLE_LABEL[role]}: ${formatCount(summary.parameterCount)} parameters, ${summary.vocabSize} tokens. Press “Save in this browser” to keep it.`,
    );
  }

  /** Scores a model on the current text (the CLI's eval), showing and keeping the result. */
  async score(role: Role): Promise<void> {
    const { corpus, problem } = this.corpus.current();
    if (corpus === undefined) throw new Error(problem);
    const out = byId(`score-result-${role}`);
    out.textContent = `Scoring on ${corpus.name}…`;
    delete out.dataset.loss;
    try {
      const result = await this.lab.worker(role).rpc.call('score', { text: corpus.text });
      this.scores[role] = { loss: result.loss, tokens: result.tokens };
      out.dataset.loss = String(result.loss);
      out.textContent = `On ${corpus.name}: ${formatLoss(result.loss)} nats per token, ${result.bitsPerToken.toFixed(3)} bits, perplexity ${result.perplexity.toFixed(2)} (${formatCount(result.tokens)} tokens in ${result.windows} windows, ${formatDuration(result.ms)}).`;
    } catch (error) {
      out.textContent = `Scoring failed: ${(error as Error).message}`;
      throw error;
    }
  }
}

/** Files dropped on the page, folders walked (paths relative to what was dropped). */
async function droppedFiles(items: DataTransferItemList): Promise<Chosen[]> {
  const out: Chosen[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      out.push({ path, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
          reader.readEntries(resolve, reject),
        );
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, path);
      }
    }
  };
  const entries = [...items]
    .map((item) => item.webkitGetAsEntry())
    .filter((entry): entry is FileSystemEntry => entry !== null);
  for (const entry of entries) await walk(entry, '');
  if (out.length === 0) throw new CheckpointFilesError('nothing usable was dropped.');
  return out;
}
