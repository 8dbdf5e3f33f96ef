export { SurfaceViewer, blmmVolumeNames, defaultThreshold } from './surface-viewer';
export type {
  BlmmViewerOptions,
  CameraPreset,
  HemiMaps,
  Hemi,
  HemisphereChoice,
  MapValues,
  SurfaceControls,
  SurfaceMesh,
  SurfaceViewerOptions,
  VertexClick,
} from './surface-viewer';
export { VolumeViewer, resampleToGrid } from './volume-viewer';
export type { GridImage, VolumeControls, VolumeViewerOptions, VoxelClick } from './volume-viewer';
export { meshCurvature } from './curvature';
export { installLabExtension } from './labextension';
export { savedWidgetState, widgetHtml } from './widget-state';
