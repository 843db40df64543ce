/**
 * How one user seed becomes many: every random site (a parameter's init, a dropout mask) gets its
 * own seed, a fixed function of the user's seed and the site's index, so that a run is reproducible
 * from one number. Changing these constants changes every seeded model and run; don't.
 */

/** The seed of parameter number `index` (checkpoint order) of a model created with `seed`. */
export function initSeed(seed: number, index: number): number {
  return seed * 1_000_003 + index;
}

/**
 * The seed of dropout site `site` in a forward pass with seed `seed`. Sites are numbered per
 * block `i`: `3i + 1` attention probabilities, `3i + 2` attention output, `3i + 3` FFN output.
 */
export function dropoutSeed(seed: number, site: number): number {
  return seed * 7919 + site;
}
