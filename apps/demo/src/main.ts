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
import { byId, run, scrollCues } from './page/dom.js';
import { GeneratePanel } from './page/generate-panel.js';
import { KeepPanel } from './page/keep-panel.js';
import { Lab } from './page/lab.js';
import { Race, type RaceRecord } from './page/race.js';
import { RaceChart } from './page/race-chart.js';
import { RecoveryPanel } from './page/recovery-panel.js';
import { Saver } from './page/saver.js';
import { updateScoreboard } from './page/scoreboard.js';
import { SettingsForm } from './page/settings-form.js';
import { forget, keep, restore, restoreModel } from './page/storage.js';
import { lengthProblem } from './shared/corpus.js';
import { formatLoss } from './shared/format.js';
import { memoryBudget, memoryProblem } from './shared/memory-estimate.js';
import { type ExportedCheckpoint, ROLE_LABEL, ROLES, type Role } from './shared/protocol.js';
import { RaceHistory } from './shared/race-history.js';

const raceStatus = byId('race-status');
const backendStatus = byId('backend-status');
const deviceSelect = byId('device', HTMLSelectElement);
const startButton = byId('start', HTMLButtonElement);
const pauseButton = byId('pause', HTMLButtonElement);
const stopButton = byId('stop', HTMLButtonElement);
const continueBox = byId('continue');
const continueButton = byId('continue-race', HTMLButtonElement);
const backendDetails = byId('backend-details');

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
const generatePanel = new GeneratePanel(lab, {
  // Both racers would share the worker with the generation, a step at a time: it would crawl.
  async before(role: Role): Promise<string | undefined> {
    if (race.state !== 'running') return undefined;
    await race.pause(`while ${ROLE_LABEL[role]} generates text`);
    return 'Training is paused while the text is generated (a worker does one thing at a time); the race goes on when it is done.';
  },
  after(): void {
    if (race.state === 'paused' && race.pausedFor !== undefined) {
      run(
        () => race.resume(),
        (message) => form.show([], [message]),
      );
    }
  },
});
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
/** What the page did after the last failed race (restarted the workers, restored models). */
let failureNote = '';
/** The race a reload interrupted, while it can be continued. */
let reloaded: { record: RaceRecord; history: RaceHistory } | undefined;
/** Test hook: skip the memory check, to see what the page does when memory really runs out. */
let memoryCheck = true;
const LEFT_RACE_KEY = 'primer-ez-demo:left-race';

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
  continueBox.hidden = reloaded === undefined || race.state !== 'reloaded';
  continueButton.disabled = busy || lab.backend === undefined;
  form.lock(race.active);
  corpus.lock(race.active);
  keepPanel.refresh(busy);
  generatePanel.refresh();
  recoveryPanel.refresh();
  updateScoreboard(race, lab);
}

let handledFailure = false;

function raceChanged(): void {
  raceStatus.dataset.state = race.state;
  const steps = ROLES.map((role) => `${ROLE_LABEL[role]} step ${race.latestStep[role]?.step ?? 0}`);
  const losses = ROLES.map(
    (role) =>
      `${ROLE_LABEL[role]} ${formatLoss(race.latestEval[role]?.loss ?? lab.models[role]?.meta.valLoss)}`,
  );
  raceStatus.textContent = {
    idle: 'Choose the settings and press Start race.',
    preparing: 'Preparing: building the tokenizer, both models and their trainers…',
    running: `Racing on ${lab.backend?.backend ?? 'the backend'}: both models are training.${race.resumeNote ? ` ${race.resumeNote}` : ''}`,
    paused: race.pausedFor
      ? `Paused ${race.pausedFor} (${steps.join(', ')}); the race goes on when it is done.`
      : `Paused (${steps.join(', ')}). Resume, or Stop to end the race.`,
    interrupted: `Interrupted: ${ROLES.filter((role) => lab.lost[role])
      .map((role) => ROLE_LABEL[role])
      .join(
        ' and ',
      )} lost the WebGL context; the race waits. Resume from the last checkpoint (below), or Stop to end the race.`,
    finished: `Finished. Validation loss: ${losses.join(', ')}.`,
    failed: `Failed: ${race.error ?? 'unknown error'}${failureNote ? ` ${failureNote}` : ''}`,
    reloaded:
      'Interrupted by a reload of the page: continue the race from its last checkpoint (below), or start a new one.',
  }[race.state];
  if (race.state === 'failed' && !handledFailure && reloaded === undefined) {
    handledFailure = true;
    if (!restoring) recoverFromFailure();
  }
  if (race.state !== 'failed') handledFailure = false;
  for (const chart of charts) chart.draw(race.history.toJSON());
  refresh();
}

/**
 * After a failed race (out of memory, a WebGL error, a crashed worker): the workers may hold
 * broken state ("Tensor is disposed" at every call), so both are restarted on the same device and
 * the models, chart and settings kept in this browser come back — nothing of the failed race was
 * saved over them. The failure is kept too, so a reload says "Failed" rather than "Finished".
 */
function recoverFromFailure(): void {
  const failed = race.record();
  const say = (note: string) => {
    failureNote = note;
    if (race.state === 'failed') raceChanged();
  };
  say('Restarting the workers…');
  run(
    async () => {
      await startBackend(lab.device, { carry: false });
      if (lab.backend === undefined) {
        failureNote =
          'The workers could not be restarted: reload the page, or choose another device.';
        return;
      }
      const { restored, kept } = await restoreWork({ announce: false });
      // Kept with the models and chart that were restored (the race they belong to), marked
      // failed, so that a reload says so.
      const record = kept ?? failed;
      if (record !== undefined)
        await keep({}, { race: { ...record, state: 'failed', error: race.error ?? '' } }).catch(
          () => {},
        );
      say(
        `The workers were restarted${
          restored.length > 0
            ? `, and the models kept in this browser are back (${restored.join(' and ')})`
            : ''
        }; nothing of the failed race was saved over them. Change the settings and Start again.`,
      );
    },
    (message) => {
      say(`The workers could not be restarted (${message}): reload the page.`);
    },
  );
}

/** One line about the backend; the details (why this one, what was skipped) behind a disclosure. */
function showBackendDetails(info: BackendInfo | undefined): void {
  const list = document.createElement('ul');
  for (const note of info?.notes ?? []) {
    const item = document.createElement('li');
    // The adapter's notes speak to developers; the page says what they mean to a person.
    item.textContent = forPeople(note);
    list.append(item);
  }
  const budget = info ? memoryBudget(info.device, deviceHints()) : undefined;
  const memory = document.createElement('p');
  memory.textContent = budget
    ? `Memory: each model may use about ${Math.round(budget.bytes / 1024 ** 3)} GiB here (${budget.why}); bigger settings are refused before the race starts.`
    : '';
  backendDetails.replaceChildren(list, memory);
}

/** An adapter note without its advice to developers (option names the page does not offer). */
function forPeople(note: string): string {
  return note
    .replace(/;? ?pass allowSoftwareWebgl: true to use it anyway\.?/, '.')
    .replace(
      /\(threads off: wasmThreads is false\)/,
      '(more cores come from workers of its own, where the page allows)',
    )
    .replace(/\.\.$/, '.');
}

/** What the browser says about this device, for the memory budget. */
function deviceHints(): { deviceMemoryGiB?: number } {
  const memory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return memory !== undefined ? { deviceMemoryGiB: memory } : {};
}

function describeBackend(info: BackendInfo, device: BrowserDevice): string {
  const what =
    info.device === 'webgpu'
      ? `WebGPU${info.softwareRenderer ? ' on a software adapter (slower than WebAssembly)' : ' on the GPU'}`
      : info.device === 'webgl'
        ? `WebGL ${info.webglVersion ?? ''}${info.softwareRenderer ? ' on a software renderer (slower than WebAssembly)' : ' on the GPU'}`
        : info.device === 'wasm'
          ? `WebAssembly${info.simd ? ' with SIMD' : ''}, ${info.threads} thread${info.threads === 1 ? '' : 's'} per model`
          : 'plain JavaScript (the slowest)';
  return `Training on ${what}${device === 'auto' ? ', chosen automatically' : ''}.`;
}

async function startBackend(
  device: BrowserDevice,
  { carry = true }: { carry?: boolean } = {},
): Promise<void> {
  backendStarting = true;
  backendStatus.dataset.state = 'starting';
  backendStatus.textContent = `Starting ${device === 'auto' ? 'the best backend' : device}…`;
  refresh();
  try {
    const info = await lab.start(device, { carry });
    backendStatus.dataset.state = 'ready';
    backendStatus.dataset.backend = info.device;
    const dropped = info.dropped.map((role) => ROLE_LABEL[role]);
    backendStatus.textContent = `${describeBackend(info, device)}${
      dropped.length > 0
        ? ` ${dropped.join(' and ')} could not be moved (its worker had failed); the last kept copy can be loaded from this browser by reloading.`
        : ''
    }`;
    showBackendDetails(info);
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

let restoring = false;

/**
 * Puts back what was kept in IndexedDB: the models, the chart, the settings and the text; a race
 * the page was left in the middle of is offered to be continued. Returns the models restored.
 */
async function restoreWork({
  announce = true,
}: {
  announce?: boolean;
} = {}): Promise<{ restored: string[]; kept: RaceRecord | undefined }> {
  restoring = true;
  try {
    const { models, state } = await restore();
    if (state.form) form.set(state.form);
    if (state.corpus) corpus.useFile(state.corpus.name, state.corpus.text);
    const restored: string[] = [];
    for (const role of ROLES) {
      const checkpoint = models[role];
      if (checkpoint === undefined) continue;
      await lab.load(role, checkpoint);
      if (checkpoint.meta.savedAt !== undefined) {
        saver.lastSaved[role] = {
          step: checkpoint.meta.step,
          savedAt: checkpoint.meta.savedAt,
          ...(checkpoint.meta.raceId !== undefined ? { raceId: checkpoint.meta.raceId } : {}),
        };
      }
      restored.push(`${ROLE_LABEL[role]} (step ${checkpoint.meta.step})`);
    }
    const history = RaceHistory.fromJSON(state.history);
    if (announce && state.race?.state === 'running') {
      // The chart goes back to the checkpoints: what came after them is lost (and said so).
      for (const role of ROLES) {
        const checkpoint = models[role];
        history.rewind(role, checkpoint?.meta.raceId === state.race.id ? checkpoint.meta.step : 0);
      }
      reloaded = { record: state.race, history };
      byId('continue-message').textContent = continueMessage(state.race, models);
    }
    if (announce && state.race?.state === 'failed')
      failureNote = 'The models and the chart are those kept before it.';
    // After a failure the race stays failed; it takes the kept race's settings and chart.
    race.restore(history, state.race, { keepState: !announce });
    if (restored.length > 0 && announce) {
      keepPanel.say(`Restored from this browser: ${restored.join(' and ')}.`);
      byId('keep-status').dataset.restored = String(restored.length);
    }
    return { restored, kept: state.race };
  } finally {
    restoring = false;
    refresh();
  }
}

/** What a reload mid-race kept and lost, in words. */
function continueMessage(
  record: RaceRecord,
  models: Partial<Record<Role, ExportedCheckpoint>>,
): string {
  let left: { id?: string; steps?: Partial<Record<Role, number>> } = {};
  try {
    left = JSON.parse(localStorage.getItem(LEFT_RACE_KEY) ?? '{}');
  } catch {
    // Nothing known about where the race was when the page was left.
  }
  const reached = left.id === record.id ? left.steps : undefined;
  const kept: string[] = [];
  const lost: string[] = [];
  for (const role of ROLES) {
    const checkpoint = models[role];
    const ofRace = checkpoint?.meta.raceId === record.id && checkpoint.training !== undefined;
    const from = ofRace ? checkpoint.meta.step : 0;
    if (ofRace) kept.push(`${ROLE_LABEL[role]} at step ${from}`);
    const at = reached?.[role];
    if (at !== undefined && at > from)
      lost.push(
        `${ROLE_LABEL[role]} ${at === from + 1 ? `step ${at}` : `steps ${from + 1}–${at}`}`,
      );
    else if (!ofRace) lost.push(`everything of ${ROLE_LABEL[role]} (it starts again from step 0)`);
  }
  const { training } = record.settings;
  return [
    `The page was reloaded during a race (${record.corpusName}, ${record.settings.preset}, ${training.steps} steps).`,
    kept.length > 0
      ? `Kept in this browser: ${kept.join(' and ')}, with the optimiser state and the data position (saved after each validation).`
      : 'Nothing of this race had been kept yet (a model is saved after each validation).',
    lost.length > 0
      ? `Lost: ${lost.join(', ')}, and their training time. Continuing trains them again, the same way (same seed, same batches).`
      : reached === undefined
        ? 'Lost: whatever was trained after the last validation; continuing trains it again, the same way.'
        : 'Nothing was lost.',
  ].join(' ');
}

continueButton.addEventListener('click', () =>
  run(
    async () => {
      const left = reloaded;
      if (left === undefined) return;
      const { corpus: text, problem } = corpus.current();
      if (text === undefined) throw new Error(problem);
      if (text.name !== left.record.corpusName)
        throw new Error(
          `the race was on ${left.record.corpusName}, but the text here is ${text.name}: choose that text first.`,
        );
      const saved: Partial<Record<Role, ExportedCheckpoint>> = {};
      for (const role of ROLES) {
        const checkpoint = await restoreModel(role);
        if (checkpoint !== undefined) saved[role] = checkpoint;
      }
      reloaded = undefined;
      await race.continueAfterReload(left.record, text.text, left.history, saved);
    },
    (message) => form.show([], [`Could not continue the race: ${message}`]),
  ),
);
byId('end-race').addEventListener('click', () => {
  reloaded = undefined;
  race.endReloaded();
  const record = race.record();
  // So that the next reload does not offer it again.
  if (record !== undefined) void keep({}, { race: record }).catch(() => {});
  refresh();
});

// Leaving mid-race asks first; the race's progress is noted, so a reload can say what was lost.
window.addEventListener('beforeunload', (event) => {
  if (!race.active) return;
  event.preventDefault();
  event.returnValue = '';
});
window.addEventListener('pagehide', () => {
  if (!race.active) return;
  const steps = Object.fromEntries(
    ROLES.map((role) => [role, race.history.train[role].at(-1)?.step ?? 0]),
  );
  localStorage.setItem(LEFT_RACE_KEY, JSON.stringify({ id: race.id, steps }));
});

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
      const info = lab.backend;
      if (info !== undefined && memoryCheck) {
        // The character tokenizer's vocabulary: the text's distinct characters (and a few more).
        const vocabSize = new Set(text.text).size + 4;
        const tooBig = memoryProblem(
          settings.sizes,
          settings.training.batchSize,
          settings.training.seqLen,
          vocabSize,
          memoryBudget(info.device, deviceHints()),
          describeDevice(info.device),
        );
        if (tooBig !== undefined) {
          form.show([{ field: 'batch_size', message: tooBig }]);
          return;
        }
      }
      reloaded = undefined;
      failureNote = '';
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
    /** Lets too-big settings through, to see the page survive running out of memory. */
    skipMemoryCheck: () => {
      memoryCheck = false;
    },
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
  scrollCues();
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
  localStorage.removeItem(LEFT_RACE_KEY);
  document.body.dataset.ready = 'true';
}

void main();

/** A device as the page names it in messages. */
function describeDevice(device: string): string {
  return (
    { wasm: 'WebAssembly', webgl: 'WebGL', webgpu: 'WebGPU', cpu: 'plain JavaScript' }[device] ??
    device
  );
}
