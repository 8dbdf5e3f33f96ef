// ES module entry of neurolmm: the CommonJS build's exports, by name.
export * from '../dist/src/index.js';
