/** 4x4 voxel -> world matrices, row-major: world = affine * [i, j, k, 1]. */
export type Affine = number[][];

export function identityAffine(): Affine {
  return [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => (r === c ? 1 : 0)));
}
