// The backend conformance suite: the procedure (browser-safe), the comparison, the cases and the
// vitest suite every backend calls.
export * from './cases.js';
export * from './compare.js';
export * from './procedure.js';
export * from './suite.js';
