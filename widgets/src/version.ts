/** The widget module's name and version, as the kernel names them in `_model_module(_version)`. */
export const MODULE_NAME = 'neurolmm-widgets';
/** Kept equal to widgets/package.json's version (test/widgets/package.test.ts checks it). */
export const MODULE_VERSION = '0.1.0';
