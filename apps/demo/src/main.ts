// The demo page: wires the panels to the two training workers. No tfjs here — the workers do
// all the tensor work, so the page stays responsive while they train.
import './style.css';
import {
  BROWSER_DEVICES,
  type BrowserDevice,
  parseBrowserDevice,
} from '@primer-ez/backend-browser';
import { describeBackend, memoryRefusal, showBackendDetails } from './page/backend-status.js';
import { CorpusPanel } from './page/corpus-panel.js';
import { DebugPanel } from './page/debug-panel.js';
import { byId, run, scrollCues } from './page/dom.js';
import { GeneratePanel } from './page/generate-panel.js';
import { KeepPanel } from './page/keep-panel.js';
import { Lab } from './page/lab.js';
import { forgetLeftRace, noteLeftRace } from './page/left-race.js';
import { Race } from './page/race.js';
import { RaceChart } from './page/race-chart.js';
import type { RaceRecord } from './page/race-record.js';
import { raceStatusText } from './page/race-status.js';
import { RecoveryPanel } from './page/recovery-panel.js';
import { type PageNotes, restoreWork as restoreKept } from './page/restore-work.js';
import { Saver } from './page/saver.js';
import { updateScoreboard } from './page/scoreboard.js';
import { SettingsForm } from './page/settings-form.js';
import { forget, keep, restoreModel } from './page/storage.js';
import { lengthProblem } from './shared/corpus.js';
import { type ExportedCheckpoint, ROLE_LABEL, ROLES, type Role } from './shared/protocol.js';

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
/** The race a reload interrupted, and what the page did after the last failed race. */
const notes: PageNotes = { reloaded: undefined, failureNote: '' };
/** Test hook: skip the memory check, to see what the page does when memory really runs out. */
let memoryCheck = true;

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
  continueBox.hidden = notes.reloaded === undefined || race.state !== 'reloaded';
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
  raceStatus.textContent = raceStatusText(race, lab, notes.failureNote);
  if (race.state === 'failed' && !handledFailure && notes.reloaded === undefined) {
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
    notes.failureNote = note;
    if (race.state === 'failed') raceChanged();
  };
  say('Restarting the workers…');
  run(
    async () => {
      await startBackend(lab.device, { carry: false });
      if (lab.backend === undefined) {
        notes.failureNote =
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
    showBackendDetails(backendDetails, info);
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
 * Puts back what was kept in IndexedDB (see restore-work.ts); after a failure (`announce` false)
 * the race stays failed. Returns the models restored and the race they belong to.
 */
async function restoreWork({
  announce = true,
}: {
  announce?: boolean;
} = {}): Promise<{ restored: string[]; kept: RaceRecord | undefined }> {
  restoring = true;
  try {
    return await restoreKept({ lab, race, form, corpus, saver, keepPanel }, notes, { announce });
  } finally {
    restoring = false;
    refresh();
  }
}

continueButton.addEventListener('click', () =>
  run(
    async () => {
      const left = notes.reloaded;
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
      notes.reloaded = undefined;
      await race.continueAfterReload(left.record, text.text, left.history, saved);
    },
    (message) => form.show([], [`Could not continue the race: ${message}`]),
  ),
);
byId('end-race').addEventListener('click', () => {
  notes.reloaded = undefined;
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
window.addEventListener('pagehide', () => noteLeftRace(race));

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
        const tooBig = memoryRefusal(info, settings, text.text);
        if (tooBig !== undefined) {
          form.show([{ field: 'batch_size', message: tooBig }]);
          return;
        }
      }
      notes.reloaded = undefined;
      notes.failureNote = '';
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
  forgetLeftRace();
  document.body.dataset.ready = 'true';
}

void main();
