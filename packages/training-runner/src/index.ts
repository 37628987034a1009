export { ConfigError } from './config/schema.js';
export { loadConfigTree, deepMerge, applyOverrides, parseOverride } from './config/load.js';
export { loadRunConfig, validateRunConfig, variantConfig, runConfigSchema, type RunConfig } from './config/run-config.js';
export { runExperiment, configHash, type ExperimentOptions, type ExperimentResult } from './experiment.js';
export { writeMetricsCsv, summaryTable, markdownTable, METRIC_COLUMNS, type EpochMetrics, type VariantSummary } from './metrics.js';
export { main as cliMain, parseArgs } from './cli.js';
export { curvesSvg } from './plot.js';
