/**
 * Backend-agnostic TensorFlow.js ops for Primer EZ (So et al. 2021, arXiv 2109.08668).
 *
 * Importing this module also registers tfjs-core's kernel gradients (tfjs-core alone registers
 * none), in a way that works in plain Node ESM as well as in bundlers.
 *
 * @packageDocumentation
 */
import '#register-gradients';

export { causalDepthwiseConv1d } from './causal-depthwise-conv1d.js';
export { type AttentionOptions, causalSelfAttention, MASK_VALUE } from './causal-self-attention.js';
export { embedding } from './embedding.js';
export { layerNorm } from './layer-norm.js';
export { linear } from './linear.js';
export { batchMatMulAsDepthwise, matMul2d, needsPlainMatMul, sumLeading } from './matmul.js';
export { type Reduction, sparseCrossEntropy } from './sparse-cross-entropy.js';
export { squaredRelu } from './squared-relu.js';
