// ES module entry of neurolmm/brain: the CommonJS build's exports, by name.
export * from '../dist/src/brain/index.js';
