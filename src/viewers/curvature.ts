/**
 * A curvature-like background computed from the mesh alone, for surfaces that come without ?h.curv or
 * ?h.sulc: the umbrella (Laplacian) displacement of each vertex along its normal. Its sign follows
 * FreeSurfer's curv: positive where the surface folds inwards (sulci), negative on crowns of gyri.
 */
export interface Mesh {
  vertices: Float32Array;
  faces: Int32Array;
}

export function meshCurvature({ vertices, faces }: Mesh): Float32Array {
  const nv = vertices.length / 3;
  const normals = new Float64Array(3 * nv);
  const neighbourSum = new Float64Array(3 * nv);
  const degree = new Float64Array(nv);
  for (let f = 0; f < faces.length; f += 3) {
    const a = faces[f],
      b = faces[f + 1],
      c = faces[f + 2];
    const ux = vertices[3 * b] - vertices[3 * a],
      uy = vertices[3 * b + 1] - vertices[3 * a + 1],
      uz = vertices[3 * b + 2] - vertices[3 * a + 2];
    const vx = vertices[3 * c] - vertices[3 * a],
      vy = vertices[3 * c + 1] - vertices[3 * a + 1],
      vz = vertices[3 * c + 2] - vertices[3 * a + 2];
    // Area-weighted face normal (FreeSurfer's counter-clockwise order points outwards).
    const nx = uy * vz - uz * vy,
      ny = uz * vx - ux * vz,
      nz = ux * vy - uy * vx;
    for (const [p, q, r] of [
      [a, b, c],
      [b, c, a],
      [c, a, b],
    ]) {
      normals[3 * p] += nx;
      normals[3 * p + 1] += ny;
      normals[3 * p + 2] += nz;
      // Each edge is seen from both of its faces, so every neighbour is counted twice, evenly.
      for (const n of [q, r]) {
        for (let k = 0; k < 3; k++) neighbourSum[3 * p + k] += vertices[3 * n + k];
        degree[p] += 1;
      }
    }
  }
  const curvature = new Float32Array(nv);
  for (let i = 0; i < nv; i++) {
    if (degree[i] === 0) continue;
    const length = Math.hypot(normals[3 * i], normals[3 * i + 1], normals[3 * i + 2]) || 1;
    let displacement = 0;
    for (let k = 0; k < 3; k++) displacement += (neighbourSum[3 * i + k] / degree[i] - vertices[3 * i + k]) * (normals[3 * i + k] / length);
    curvature[i] = displacement;
  }
  return curvature;
}
