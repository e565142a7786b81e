/**
 * Seeded randomness for the chaos harness: everything the run decides (the fault schedule, pauses,
 * operands, which clients use idempotency keys) comes from one 32-bit seed, so a seed reproduces
 * the same decisions. Timing of real processes is not reproducible; the decisions are.
 */

/** A random source: returns floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: a tiny, fast, well-mixed 32-bit PRNG. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream derived from `seed` and a label (FNV-1a over the label, mixed with the seed). */
export function deriveRng(seed: number, label: string): Rng {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  // Warm up so that nearby labels do not give correlated first draws.
  const rng = mulberry32(h);
  for (let i = 0; i < 4; i++) rng();
  return rng;
}

/** Integer in [min, max] (inclusive). */
export function intBetween(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** One item, chosen with the given weights (all > 0). */
export function weightedPick<T>(rng: Rng, items: readonly { item: T; weight: number }[]): T {
  const total = items.reduce((s, i) => s + i.weight, 0);
  let x = rng() * total;
  for (const { item, weight } of items) {
    x -= weight;
    if (x < 0) return item;
  }
  return items[items.length - 1]!.item;
}

/** Fisher–Yates shuffle (in place), returning the array. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A fresh random seed (for runs without --seed). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}
