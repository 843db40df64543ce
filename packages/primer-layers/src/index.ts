/**
 * The Primer EZ language model (So et al. 2021, arXiv 2109.08668) on TensorFlow.js: config and
 * presets, seeded parameters, the forward pass (Primer EZ and its vanilla baseline), key/value
 * cache decoding, and PyTorch-compatible safetensors checkpoints.
 *
 * @packageDocumentation
 */

export { KVCache } from './cache.js';
export {
  CheckpointError,
  type CheckpointFiles,
  deserializeCheckpoint,
  NonFiniteWeightError,
  serializeCheckpoint,
} from './checkpoint.js';
export {
  ConfigError,
  type ConfigInput,
  headDim,
  MAX_PARAMETERS,
  PRESETS,
  type Preset,
  type PresetName,
  type PrimerConfig,
  presetConfig,
  presetName,
  resolveConfig,
} from './config.js';
export { configFromJson, configToJson } from './config-json.js';
export { Decoder, type DecoderOptions } from './decoder.js';
export { type ForwardOptions, InputError, type TokenIds } from './inputs.js';
export { PrimerModel } from './model.js';
export {
  countParameters,
  diskShape,
  fromDiskLayout,
  type Init,
  initialValue,
  type Layout,
  type ParamSpec,
  parameterSpecs,
  toDiskLayout,
} from './params.js';
export { sinusoidalPositions } from './positions.js';
export {
  readSafetensors,
  SafetensorsError,
  type StoredTensor,
  writeSafetensors,
} from './safetensors.js';
