/** The widget module `neurolmm-widgets`: what a widget manager loads by `_model_name` / `_view_name`. */
export { MODULE_NAME, MODULE_VERSION } from './version';
export { SurfaceModel, SurfaceView } from './surface';
export { VolumeModel, VolumeView } from './volume';
