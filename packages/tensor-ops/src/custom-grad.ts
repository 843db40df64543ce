import { customGrad, type GradSaveFunc, type Tensor } from '@tensorflow/tfjs-core';

/** What a {@link withGradient} body returns: the value, and how to differentiate it. */
export interface GradientBody {
  value: Tensor;
  /** Gradients for each input, in order, from the output gradient and the saved tensors. */
  gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor[];
}

/**
 * Typed `tf.customGrad`: runs `body(save)` as one differentiable op of `inputs` (the tensors the
 * body reads, which it may use directly) whose gradient is `gradFunc` alone, so no kernel
 * gradient need be registered for the ops inside it. Tensors passed to `save` are kept only while
 * a gradient tape is recording.
 */
export function withGradient(inputs: Tensor[], body: (save: GradSaveFunc) => GradientBody): Tensor {
  const f = customGrad((...args: (Tensor | GradSaveFunc)[]) => body(args.at(-1) as GradSaveFunc));
  return f(...inputs);
}
