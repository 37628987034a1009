/** Learning-rate schedules, as a function of the 0-based optimizer step. */
export interface ScheduleConfig {
  lr: number;
  schedule: 'constant' | 'cosine';
  warmupSteps: number;
  minLrRatio: number;
}

export function learningRate(cfg: ScheduleConfig, step: number, totalSteps: number): number {
  if (cfg.schedule === 'constant') return cfg.lr;
  if (step < cfg.warmupSteps) return (cfg.lr * (step + 1)) / cfg.warmupSteps;
  const span = Math.max(1, totalSteps - cfg.warmupSteps - 1);
  const t = Math.min(1, (step - cfg.warmupSteps) / span);
  const min = cfg.lr * cfg.minLrRatio;
  return min + 0.5 * (cfg.lr - min) * (1 + Math.cos(Math.PI * t));
}
