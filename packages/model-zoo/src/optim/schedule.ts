/** Learning-rate schedule of the paper's recipes: linear warm-up, then cosine decay to a floor. */

export interface WarmupCosine {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final value as a fraction of peak (AXLearn LM recipe: 0.1; vision: 0). Default 0. */
  finalFraction?: number;
}

/** lr at 0-based `step`: peak·(step+1)/warmup during warm-up, then cosine from peak to final. */
export function warmupCosine(s: WarmupCosine, step: number): number {
  const final = s.peak * (s.finalFraction ?? 0);
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps) / span);
  return final + 0.5 * (s.peak - final) * (1 + Math.cos(Math.PI * t));
}
