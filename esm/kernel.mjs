// ES module entry of neurolmm/kernel: the CommonJS build's exports, by name.
export * from '../dist/src/cli/kernel.js';
