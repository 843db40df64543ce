// Importing @primer-ez/tensor-ops registers tfjs-core's kernel gradients, which training needs.
import '@primer-ez/tensor-ops';
