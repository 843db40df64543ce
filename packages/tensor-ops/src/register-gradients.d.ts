// Side-effect module: registers tfjs-core's gradients (see scripts/build-gradients.mjs).
export {};
