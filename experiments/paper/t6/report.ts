/** T6's markdown tables, built from the study rows (the CSV contents), mean ± std over seeds. */
import { formatMeanStd, markdownTable, meanStd } from '@sigattn/common';
import { growthFit, type JacobianRow, type RowMassRow } from './theory.js';

/** Row-mass table: one line per n, the four measured settings beside their closed forms (mean ± std over seeds). */
export function rowMassMarkdown(rows: readonly RowMassRow[]): string {
  const ns = [...new Set(rows.map((r) => r.n))];
  const pick = (n: number, bias: string, qk: string) => rows.filter((r) => r.n === n && r.bias === bias && r.qk_norm === qk);
  const body = ns.map((n) => {
    const zeroNone = pick(n, 'zero', 'none');
    const negNone = pick(n, 'neg-log-n', 'none');
    const negLn = pick(n, 'neg-log-n', 'layernorm');
    const zeroLn = pick(n, 'zero', 'layernorm');
    return [
      n,
      formatMeanStd(zeroNone.map((r) => r.row_mass), 2),
      formatMeanStd(zeroLn.map((r) => r.row_mass), 2),
      (n / 2).toFixed(2),
      formatMeanStd(negNone.map((r) => r.row_mass), 4),
      (n / (n + 1)).toFixed(4),
      formatMeanStd(negLn.map((r) => r.row_mass), 3),
      formatMeanStd(negLn.map((r) => r.exp_half_s2), 3),
      formatMeanStd(negLn.map((r) => r.gaussian_prediction), 3),
    ];
  });
  const headers = [
    'n',
    'b = 0, no QK-norm',
    'b = 0, QK-norm',
    'n/2',
    'b = −log n, no QK-norm',
    'n/(n+1)',
    'b = −log n, QK-norm',
    'exp(s²/2)',
    'n·E[σ(s·z − log n)]',
  ];
  return markdownTable(headers, body, headers.map(() => 'r'));
}

/** Jacobian table: one line per R; worst-case ‖J‖₂ per kind (mean ± std over weight seeds), bound and ratios. */
export function jacobianMarkdown(rows: readonly JacobianRow[]): string {
  const radii = [...new Set(rows.map((r) => r.radius))];
  const pick = (kind: string, radius: number) => rows.filter((r) => r.kind === kind && r.radius === radius);
  const body = radii.map((radius) => {
    const sig = pick('sigmoid', radius);
    const soft = pick('softmax', radius);
    return [
      radius,
      formatMeanStd(sig.map((r) => r.worst_jacobian_norm), 2),
      formatMeanStd(sig.map((r) => Number(r.bound)), 1),
      formatMeanStd(sig.map((r) => r.ratio_to_r2), 3),
      formatMeanStd(soft.map((r) => r.worst_jacobian_norm), 2),
      formatMeanStd(soft.map((r) => r.ratio_to_r2), 3),
      formatMeanStd(soft.map((r, i) => r.worst_jacobian_norm / sig[i].worst_jacobian_norm), 3),
    ];
  });
  const headers = ['R', 'sigmoid worst ‖J‖₂', 'quadratic bound', 'sigmoid ‖J‖₂/R²', 'softmax worst ‖J‖₂', 'softmax ‖J‖₂/R²', 'softmax/sigmoid'];
  return markdownTable(headers, body, headers.map(() => 'r'));
}

/** Power-law exponent and exp(c·R²) rate of the seed-mean worst case, over R ≥ fromRadius. */
export function growthLines(rows: readonly JacobianRow[], fromRadius: number): string[] {
  return (['sigmoid', 'softmax'] as const).map((kind) => {
    const radii = [...new Set(rows.map((r) => r.radius))];
    const points = radii.map((radius) => ({
      radius,
      value: meanStd(rows.filter((r) => r.kind === kind && r.radius === radius).map((r) => r.worst_jacobian_norm)).mean,
    }));
    const { powerExponent, expRate } = growthFit(points, fromRadius);
    return `- ${kind}: worst ‖J‖₂ ∝ R^${powerExponent.toFixed(2)} (log–log slope), or exp(${expRate.toFixed(3)}·R²), fitted over R ≥ ${fromRadius}`;
  });
}
