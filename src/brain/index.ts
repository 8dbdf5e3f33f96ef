/**
 * `neurolmm/brain`: the whole-brain engine's public API: lmer() at every voxel or vertex with
 * BLMM's maps, chunked fits, their comparison, and ABCD-like synthetic data; nlme's lme()/gls()
 * with residual structures at every voxel, and AFNI 3dLME scripts.
 */
export { lmerBrain, lmerBrainSync, defaultWorkers } from './lmerbrain';
export type { BrainOptions, BrainProgress } from './lmerbrain';
export { lmerBrainChunk, lmerBrainChunks, mergeBrainChunks, planBrainChunks, chunkState } from './chunks';
export type { ChunkOptions, ChunkSplit, ChunkRun, ChunkState, ChunkPlan, ChunkManifest } from './chunks';
export { BrainFit, BrainMaps, compareFits } from './fit';
export type { BrainMap, BrainReport, MapRange } from './fit';
export { VoxelStatus, STATUS_REASONS } from './layout';
export type { ContrastInput } from './contrasts';
export { SyntheticDataset, ABCD_VISITS, FSAVERAGE5_BOTH_HEMISPHERES } from './synthetic';
export type { SyntheticOptions } from './synthetic';
export { lmeBrain, lmeBrainSync, glsBrain, glsBrainSync } from './nlmebrain';
export type { NlmeBrainOptions } from './nlmebrain';
export { afniLME, readAfniModel } from './afni';
export type { AfniModel, AfniRunOptions } from './afni';
export { readBlmmConfig } from './blmmconfig';
export type { BlmmConfig } from './blmmconfig';
