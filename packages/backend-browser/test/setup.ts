// Importing @primer-ez/primer-layers imports @primer-ez/tensor-ops, which registers tfjs-core's
// kernel gradients (the Node reference of the browser parity suite takes gradients).
import '@primer-ez/primer-layers';
