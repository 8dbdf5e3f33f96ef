// ES module entry of neurolmm/plots: the CommonJS build's exports, by name.
export * from '../dist/src/plots/index.js';
