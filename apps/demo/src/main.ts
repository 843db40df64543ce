// The demo page: wires the panels to the two training workers. No tfjs here — the workers do
// all the tensor work, so the page stays responsive while they train.
import './style.css';
import {
  type BackendInfo,
  BROWSER_DEVICES,
  type BrowserDevice,
  parseBrowserDevice,
} from '@primer-ez/backend-browser';
import { CorpusPanel } from './page/corpus-panel.js';
import { DebugPanel } from './page/debug-panel.js';
import { byId, run } from './page/dom.js';
import { GeneratePanel } from './page/generate-panel.js';
import { KeepPanel } from './page/keep-panel.js';
import { Lab } from './page/lab.js';
import { Race } from './page/race.js';
import { RaceChart } from './page/race-chart.js';
import { RecoveryPanel } from './page/recovery-panel.js';
import { Saver } from './page/saver.js';
import { updateScoreboard } from './page/scoreboard.js';
import { SettingsForm } from './page/settings-form.js';
import { forget, restore } from './page/storage.js';
import { lengthProblem } from './shared/corpus.js';
import { formatLoss } from './shared/format.js';
import { ROLE_LABEL, ROLES } from './shared/protocol.js';
import { RaceHistory } from './shared/race-history.js';

const raceStatus = byId('race-status');
const backendStatus = byId('backend-status');
const deviceSelect = byId('device', HTMLSelectElement);
const startButton = byId('start', HTMLButtonElement);
const pauseButton = byId('pause', HTMLButtonElement);
const stopButton = byId('stop', HTMLButtonElement);

const lab = new Lab((message) => {
  console.error(`primer-ez demo: ${message}`);
  backendStatus.textContent = `A worker stopped: ${message}. Reload the page, or choose another device.`;
  backendStatus.dataset.state = 'failed';
});
const form = new SettingsForm();
const corpus = new CorpusPanel(() => refresh());
const race = new Race(
  lab,
  () => raceChanged(),
  (): Promise<void> => saver.saveAll('the race ended'),
);
const charts = [
  new RaceChart(byId('chart-step'), 'step'),
  new RaceChart(byId('chart-time'), 'time'),
];
const generatePanel = new GeneratePanel(lab);
const keepPanel = new KeepPanel(
  lab,
  corpus,
  refusal,
  (): Promise<void> => saver.saveAll(undefined),
);
const saver: Saver = new Saver(lab, race, corpus, form, keepPanel);
const recoveryPanel = new RecoveryPanel(lab, race, saver);
const debugPanel = new DebugPanel(lab);
let backendStarting = true;

lab.onEvent((event) => {
  if (event.type === 'step' || event.type === 'eval') {
    for (const chart of charts) chart.update(race.history.toJSON());
    updateScoreboard(race, lab);
  } else if (event.type === 'checkpoint') {
    // Reported on the page when it fails; the race goes on either way.
    void saver.checkpoint(event.role, event.checkpoint);
  }
});
lab.onChange(() => refresh());

/** Why models cannot be replaced right now, or undefined. */
function refusal(): string | undefined {
  if (race.active) return 'A race is under way: stop it first.';
  if (generatePanel.busy) return 'Text is being generated: stop it first.';
  if (backendStarting || lab.backend === undefined) return 'The backend is not ready yet.';
  return undefined;
}

function refresh(): void {
  const busy = race.active || backendStarting;
  startButton.disabled = busy || lab.backend === undefined;
  pauseButton.disabled = !(race.state === 'running' || race.state === 'paused');
  pauseButton.textContent = race.state === 'paused' ? 'Resume' : 'Pause';
  stopButton.disabled = !race.active || race.state === 'preparing';
  deviceSelect.disabled = busy;
  form.lock(race.active);
  corpus.lock(race.active);
  keepPanel.refresh(busy);
  generatePanel.refresh();
  recoveryPanel.refresh();
  updateScoreboard(race, lab);
}

function raceChanged(): void {
  raceStatus.dataset.state = race.state;
  const steps = ROLES.map((role) => `${ROLE_LABEL[role]} step ${race.latestStep[role]?.step ?? 0}`);
  const losses = ROLES.map(
    (role) =>
      `${ROLE_LABEL[role]} ${formatLoss(race.latestEval[role]?.loss ?? lab.models[role]?.meta.valLoss)}`,
  );
  raceStatus.textContent = {
    idle: 'Set up the race and press Start.',
    preparing: 'Preparing: building the tokenizer, both models and their trainers…',
    running: `Racing on ${lab.backend?.backend ?? 'the backend'}: both models are training (numbers in the table below).`,
    paused: `Paused (${steps.join(', ')}). Resume, or Stop to end the race.`,
    interrupted: `Interrupted: ${ROLES.filter((role) => lab.lost[role])
      .map((role) => ROLE_LABEL[role])
      .join(
        ' and ',
      )} lost the WebGL context; the race waits. Resume from the last checkpoint (below), or Stop to end the race.`,
    finished: `Finished. Validation loss: ${losses.join(', ')}.`,
    failed: `The race stopped: ${race.error ?? 'unknown error'}`,
  }[race.state];
  for (const chart of charts) chart.draw(race.history.toJSON());
  refresh();
}

function describeBackend(info: BackendInfo, device: BrowserDevice): string {
  const what =
    info.device === 'webgpu'
      ? `WebGPU on ${info.renderer || 'the GPU'}${info.softwareRenderer ? ' (a software adapter: slower than WebAssembly)' : ''}`
      : info.device === 'webgl'
        ? `WebGL ${info.webglVersion ?? ''} on ${info.renderer || 'the GPU'}${info.softwareRenderer ? ' (a software renderer: slower than WebAssembly)' : ''}`
        : info.device === 'wasm'
          ? `WebAssembly${info.simd ? ' with SIMD' : ''}, ${info.threads} thread${info.threads === 1 ? '' : 's'} per model`
          : 'plain JavaScript (the slowest; try WebAssembly)';
  const skipped = info.notes.find((note) => note.includes('skipped'));
  return `Training on ${what}${device === 'auto' ? ', chosen automatically' : ''}.${skipped ? ` (${skipped})` : ''}`;
}

async function startBackend(device: BrowserDevice): Promise<void> {
  backendStarting = true;
  backendStatus.dataset.state = 'starting';
  backendStatus.textContent = `Starting ${device === 'auto' ? 'the best backend' : device}…`;
  refresh();
  try {
    const info = await lab.start(device);
    backendStatus.dataset.state = 'ready';
    backendStatus.dataset.backend = info.device;
    backendStatus.textContent = describeBackend(info, device);
  } catch (error) {
    backendStatus.dataset.state = 'failed';
    delete backendStatus.dataset.backend;
    backendStatus.textContent = `${device} could not start: ${(error as Error).message} Choose another device above.`;
  } finally {
    backendStarting = false;
    debugPanel.showBackend();
    refresh();
  }
}

/** Puts back what was kept in IndexedDB. */
async function restoreWork(): Promise<void> {
  const { models, state } = await restore();
  if (state.form) form.set(state.form);
  if (state.corpus) corpus.useFile(state.corpus.name, state.corpus.text);
  const restored: string[] = [];
  for (const role of ROLES) {
    const checkpoint = models[role];
    if (checkpoint === undefined) continue;
    await lab.load(role, checkpoint);
    if (checkpoint.meta.savedAt !== undefined) {
      saver.lastSaved[role] = { step: checkpoint.meta.step, savedAt: checkpoint.meta.savedAt };
    }
    restored.push(`${ROLE_LABEL[role]} (step ${checkpoint.meta.step})`);
  }
  if (state.history) race.restore(RaceHistory.fromJSON(state.history));
  if (restored.length > 0) {
    keepPanel.say(`Restored from this browser: ${restored.join(' and ')}.`);
    byId('keep-status').dataset.restored = String(restored.length);
  }
  refresh();
}

form.form.addEventListener('submit', (event) => {
  event.preventDefault();
  run(
    async () => {
      const settings = form.read();
      if (settings === undefined) return;
      const { corpus: text, problem } = corpus.current();
      const tooShort = text && lengthProblem(text.text, settings.training.seqLen, text.name);
      if (text === undefined || tooShort) {
        form.show([], [problem ?? tooShort ?? '']);
        return;
      }
      if (generatePanel.busy) await generatePanel.stop();
      await race.start(settings, text.text, text.name);
    },
    (message) => form.show([], [message]),
  );
});
pauseButton.addEventListener('click', () =>
  run(
    () => (race.state === 'paused' ? race.resume() : race.pause()),
    (message) => form.show([], [message]),
  ),
);
stopButton.addEventListener('click', () =>
  run(
    () => race.stop(),
    (message) => form.show([], [message]),
  ),
);
deviceSelect.addEventListener('change', () => {
  run(
    () => startBackend(deviceSelect.value as BrowserDevice),
    (message) => form.show([], [message]),
  );
});
byId('forget').addEventListener('click', () =>
  run(
    async () => {
      await forget();
      for (const role of ROLES) {
        const model = lab.models[role];
        if (model) delete model.meta.savedAt;
      }
      keepPanel.say(
        'Forgot everything saved in this browser (the models in this page stay until you reload).',
      );
      refresh();
    },
    (message) => keepPanel.say(message, true),
  ),
);

/** Read-only views for the end-to-end tests (and the curious, from the console). */
Object.assign(window, {
  primerDemo: {
    state: () => race.state,
    history: () => race.history.toJSON(),
    tensorLog: () => structuredClone(race.tensorLog),
    lastSaved: () => structuredClone(saver.lastSaved),
    resumedFrom: () => ({ ...race.resumedFrom }),
    scores: () => ({ ...keepPanel.scores }),
    backend: () => lab.backend,
    models: () => structuredClone(lab.models),
    devices: BROWSER_DEVICES,
  },
});

async function main(): Promise<void> {
  const asked = new URLSearchParams(location.search).get('device') ?? 'auto';
  let device: BrowserDevice = 'auto';
  try {
    device = parseBrowserDevice(asked);
  } catch (error) {
    form.show([], [`${(error as Error).message} Using auto.`]);
  }
  deviceSelect.value = device;
  raceChanged();
  await Promise.all([
    corpus.loadMobyDick().catch((error: Error) => {
      byId('corpus-info').textContent =
        `Moby-Dick could not be loaded (${error.message}); use your own text.`;
    }),
    startBackend(device),
  ]);
  if (lab.backend !== undefined) {
    await restoreWork().catch((error: Error) => {
      keepPanel.say(`Nothing restored: ${error.message}`, true);
    });
  }
  document.body.dataset.ready = 'true';
}

void main();
