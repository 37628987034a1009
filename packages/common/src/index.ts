export { UserError, ConfigError, DataError, RunError, isUserError, reportUserError, runMain, closestName, editDistance, explainWasmAbort } from './errors.js';
export { writeFileAtomic, buildDirAtomic, tempPathFor, sha256, sha256File, makeTempDir } from './fs.js';
export { Rng, permutation, deriveSeed } from './rng.js';
export { toCsv, writeCsv, parseCsv, readCsv, markdownTable, meanStd, formatMeanStd, type Row } from './table.js';
export { timeIt, median, attentionTflops, type Timing, type TimingOptions } from './bench.js';
export { cli } from './cli.js';
export { lineChartSvg, type ChartPanel, type ChartSeries } from './chart.js';
