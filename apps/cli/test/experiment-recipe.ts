// The experiment's settings shared by its process-level tests: the embedded Moby-Dick, a tiny
// model, `steps` steps validated every 2, on the cpu backend with 2 workers.
export function tinyExperiment(steps: number): string[] {
  return [
    '--preset',
    'tiny',
    '--steps',
    String(steps),
    '--eval-every',
    '2',
    '--batch-size',
    '2',
    '--seq-len',
    '16',
    '--warmup',
    '1',
    '--eval-windows',
    '2',
    '--backend',
    'cpu',
    '--workers',
    '2',
  ];
}
