// Importing the package registers tfjs-core's kernel gradients, which the tests' losses need.
import '../src/index.js';
