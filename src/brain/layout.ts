/**
 * The per-voxel result record the workers fill and the maps the fit exposes, with BLMM's names
 * and volume order (https://github.com/TomMaullin/BLMM, "Analysis Output").
 */
import type { Contrast } from './contrasts';

export interface FieldSpec {
  name: string;
  nvol: number;
  /** names of the volumes (coefficients, contrasts, vech entries) */
  volumes: string[];
  offset: number;
}

/** Why a voxel has no estimates. 0 is a fitted voxel. */
export const VoxelStatus = {
  fitted: 0,
  outsideMask: 1,
  tooFewObservations: 2,
  constant: 3,
  nonFinite: 4,
  rankDeficient: 5,
  unidentifiable: 6,
  fitFailed: 7,
  /** every image missing here (outside the brain): not part of the analysis, like BLMM's mask */
  noData: 8,
} as const;

export const STATUS_REASONS: Record<number, string> = {
  [VoxelStatus.outsideMask]: 'outside the analysis mask',
  [VoxelStatus.tooFewObservations]: 'fewer observations than MinN / MinPercent',
  [VoxelStatus.constant]: 'constant response',
  [VoxelStatus.nonFinite]: 'infinite value in the images',
  [VoxelStatus.rankDeficient]: 'fixed-effects design rank deficient at the observed images',
  [VoxelStatus.unidentifiable]: 'too few observations for the random effects at the observed images',
  [VoxelStatus.fitFailed]: 'fit failed (not positive definite or no convergence)',
  [VoxelStatus.noData]: 'no data (every image missing)',
};

/** Names of the D volumes: vech of each term's covariance (column-major lower triangle), terms in formula order. */
export function dVolumeNames(terms: { group: string; names: string[] }[]): string[] {
  const out: string[] = [];
  for (const t of terms)
    for (let j = 0; j < t.names.length; j++)
      for (let i = j; i < t.names.length; i++) out.push(i === j ? `${t.group}: var(${t.names[i]})` : `${t.group}: cov(${t.names[i]}, ${t.names[j]})`);
  return out;
}

/**
 * The record of one voxel: every estimate computed in the fitting loop, in double precision.
 * `conTlnp` / `conFlnp` (natural log of the two-sided T and the F p-values) feed the p and FDR
 * maps computed once all voxels are in.
 */
export class RecordLayout {
  readonly fields: FieldSpec[] = [];
  readonly size: number;
  readonly tContrasts: Contrast[];
  readonly fContrasts: Contrast[];

  /** `extra`: maps of other models' estimates (nlme's structure parameters and F tests), after BLMM's */
  constructor(xNames: string[], dNames: string[], contrasts: Contrast[], extra: { name: string; volumes: string[] }[] = []) {
    this.tContrasts = contrasts.filter((c) => c.kind === 'T');
    this.fContrasts = contrasts.filter((c) => c.kind === 'F');
    const t = this.tContrasts.map((c) => c.name);
    const f = this.fContrasts.map((c) => c.name);
    let offset = 0;
    const add = (name: string, volumes: string[]) => {
      this.fields.push({ name, nvol: volumes.length, volumes, offset });
      offset += volumes.length;
    };
    add('beta', xNames);
    add('sigma2', ['sigma2']);
    add('D', dNames);
    add('llh', ['llh']);
    add('n', ['n']);
    for (const name of ['con', 'conSE', 'conT', 'conTlp', 'conT_swedf', 'conTlnp']) add(name, t);
    for (const name of ['conF', 'conFlp', 'conF_swedf', 'conFlnp']) add(name, f);
    for (const x of extra) add(x.name, x.volumes);
    this.size = offset;
  }

  field(name: string): FieldSpec {
    const f = this.fields.find((x) => x.name === name);
    if (!f) throw new Error(`no field ${name}`);
    return f;
  }
}
