// The arms of `primer-ez experiment primer-vs-vanilla`, and the fingerprint of the model an arm
// trains: a finished or interrupted arm is reused only for the same model, so a change of the
// library's defaults never passes an old curve off as the new default's.
import type { PrimerConfig } from '@primer-ez/primer-layers';

/** The arms: what each changes from the library's default Primer EZ (or from vanilla). */
export const ARMS: Record<string, Partial<PrimerConfig>> = {
  vanilla: { attention: 'mha', ffn_activation: 'relu' },
  /** The default Primer EZ: per-channel MDHA, uniform init with a bias (issue 16). */
  'primer-ez': { attention: 'mdha', ffn_activation: 'squared_relu', dconv: 'per_channel' },
  /** Per-channel MDHA from the smoothing init, no bias: the default until issue 16. */
  'primer-ez-smoothing': {
    attention: 'mdha',
    ffn_activation: 'squared_relu',
    dconv: 'per_channel',
    dconv_init: 'smoothing',
    dconv_bias: false,
  },
  'primer-ez-shared': { attention: 'mdha', ffn_activation: 'squared_relu', dconv: 'shared' },
  'squared-relu-only': { attention: 'mha', ffn_activation: 'squared_relu' },
  'mdha-only': { attention: 'mdha', ffn_activation: 'relu', dconv: 'per_channel' },
};

/**
 * The model a resolved config trains, as one canonical string (keys sorted): equal for two
 * configs exactly when they build and initialise the same model. The convolution's keys are left
 * out where there is no convolution (attention `mha`).
 */
export function modelKey(config: PrimerConfig): string {
  const entries = Object.entries(config)
    .filter(([key]) => config.attention === 'mdha' || !key.startsWith('dconv'))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(Object.fromEntries(entries));
}
