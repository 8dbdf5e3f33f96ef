/**
 * A voxel's contrast maps from the ROI inference code (lmerTest's contest1D / contestMD with
 * Satterthwaite's df): nothing about the tests is computed here, only laid out BLMM's way.
 */
import { logTTwoSided, negLog10FromLn } from '../stats/distributions';
import { fTest } from '../inference/contrast';
import { satterthwaite1D } from '../lmm/satterthwaite';
import type { RecordLayout } from './layout';
import type { VoxelEstimate } from './voxelfit';

export function contrastStatistics(e: VoxelEstimate, layout: RecordLayout, records: Float64Array, at: number): void {
  layout.tContrasts.forEach((c, i) => writeTContrast(layout, records, at, i, satterthwaite1D(e, c.rows[0])));
  layout.fContrasts.forEach((c, i) =>
    writeFContrast(
      layout,
      records,
      at,
      i,
      fTest(
        e,
        c.rows.map((r) => Float64Array.from(r)),
      ),
    ),
  );
}

/** T contrast i's volumes (con, conSE, conT, conT_swedf, conTlp, conTlnp) of the record at `at`. */
export function writeTContrast(
  layout: RecordLayout,
  records: Float64Array,
  at: number,
  i: number,
  test: { estimate: number; variance: number; df: number },
): void {
  const off = (name: string) => at + layout.field(name).offset + i;
  const { estimate, df } = test;
  const se = Math.sqrt(test.variance);
  const t = estimate / se;
  records[off('con')] = estimate;
  records[off('conSE')] = se;
  records[off('conT')] = t;
  records[off('conT_swedf')] = df;
  // BLMM's conTlp is the upper one-sided -log10 p: half the two-sided tail for t >= 0, one minus
  // that half otherwise (at least 1/2, so nothing is lost to cancellation): one incomplete beta
  // serves both maps
  const lnTwoSided = logTTwoSided(t, df);
  records[off('conTlp')] = negLog10FromLn(t >= 0 ? lnTwoSided - Math.LN2 : Math.log1p(-0.5 * Math.exp(lnTwoSided)));
  records[off('conTlnp')] = lnTwoSided;
}

/** F contrast i's volumes (conF, conF_swedf, conFlp, conFlnp) of the record at `at`. */
export function writeFContrast(
  layout: RecordLayout,
  records: Float64Array,
  at: number,
  i: number,
  test: { F: number; denDF: number; negLog10P: number },
): void {
  const off = (name: string) => at + layout.field(name).offset + i;
  records[off('conF')] = test.F;
  records[off('conF_swedf')] = test.denDF;
  records[off('conFlp')] = test.negLog10P;
  records[off('conFlnp')] = -test.negLog10P * Math.LN10;
}
