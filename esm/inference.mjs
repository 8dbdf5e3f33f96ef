// ES module entry of neurolmm/inference: the CommonJS build's exports, by name.
export * from '../dist/src/inference/index.js';
