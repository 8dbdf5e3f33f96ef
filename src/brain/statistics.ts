/**
 * A voxel's contrast maps from the ROI inference code (lmerTest's contest1D / contestMD with
 * Satterthwaite's df): nothing about the tests is computed here, only laid out BLMM's way.
 */
import { logTTwoSided, logTUpper, negLog10FromLn } from '../stats/distributions';
import { fTest } from '../inference/contrast';
import { satterthwaite1D } from '../lmm/satterthwaite';
import type { RecordLayout } from './layout';
import type { VoxelEstimate } from './voxelfit';

export function contrastStatistics(e: VoxelEstimate, layout: RecordLayout, records: Float64Array, at: number): void {
  const off = (name: string) => at + layout.field(name).offset;
  layout.tContrasts.forEach((c, i) => {
    const { estimate, variance, df } = satterthwaite1D(e, c.rows[0]);
    const se = Math.sqrt(variance);
    const t = estimate / se;
    records[off('con') + i] = estimate;
    records[off('conSE') + i] = se;
    records[off('conT') + i] = t;
    records[off('conT_swedf') + i] = df;
    // BLMM's conTlp is the upper one-sided -log10 p: half the two-sided tail for t >= 0 (one
    // incomplete beta serves both maps), logTUpper's own complement otherwise
    const lnTwoSided = logTTwoSided(t, df);
    records[off('conTlp') + i] = negLog10FromLn(t >= 0 ? lnTwoSided - Math.LN2 : logTUpper(t, df));
    records[off('conTlnp') + i] = lnTwoSided;
  });
  layout.fContrasts.forEach((c, i) => {
    const f = fTest(
      e,
      c.rows.map((r) => Float64Array.from(r)),
    );
    records[off('conF') + i] = f.F;
    records[off('conF_swedf') + i] = f.denDF;
    records[off('conFlp') + i] = f.negLog10P;
    records[off('conFlnp') + i] = -f.negLog10P * Math.LN10;
  });
}
