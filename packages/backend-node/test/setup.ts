// Importing @primer-ez/primer-layers imports @primer-ez/tensor-ops, which registers tfjs-core's
// kernel gradients (the parity suite takes gradients of the model's loss).
import '@primer-ez/primer-layers';
