/**
 * Cells import the library by its package name from any notebook directory:
 *   import { lmer, datasets } from "neurolmm";
 * The kernel maps the module name "neurolmm" (and "neurolmm/<path>") to the package it runs from,
 * for tslab's type checker and for Node's require, so notebooks need no node_modules of their own
 * and cells share the kernel's copy of the library (one display registry). A neurolmm installed next
 * to the notebook is not used by this kernel. `require` of a package the notebook's folder lacks
 * falls back to the packages neurolmm itself resolves (e.g. `require("danfojs")`).
 */
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import type * as TypeScript from '@tslab/typescript-for-tslab';

/**
 * tslab's own TypeScript, found from tslab (a dependency of tslab, not of neurolmm): its ts.sys is
 * the one tslab's compiler host binds.
 */
const ts = createRequire(require.resolve('tslab'))('@tslab/typescript-for-tslab') as typeof TypeScript;

export const LIBRARY_NAME = 'neurolmm';
/** The package root this kernel runs from (dist/kernel-ext is two levels down). */
export const LIBRARY_ROOT = path.resolve(__dirname, '..', '..');

/**
 * "neurolmm" -> the package root, "neurolmm/brain" (a subpath of package.json's exports) -> its
 * CommonJS file, "neurolmm/x" otherwise -> root/x; undefined for other modules. (Types of the
 * subpaths reach tslab's compiler through package.json's typesVersions.)
 */
export function libraryPath(request: string): string | undefined {
  if (request === LIBRARY_NAME) return LIBRARY_ROOT;
  if (!request.startsWith(`${LIBRARY_NAME}/`)) return undefined;
  const subpath = request.slice(LIBRARY_NAME.length + 1);
  const target = packageExports()[`./${subpath}`];
  return path.join(LIBRARY_ROOT, typeof target === 'object' ? target.require : subpath);
}

let exportsMap: Record<string, string | { require: string }> | undefined;

function packageExports(): Record<string, string | { require: string }> {
  exportsMap ??= JSON.parse(readFileSync(path.join(LIBRARY_ROOT, 'package.json'), 'utf8')).exports ?? {};
  return exportsMap!;
}

type ResolveFilename = (request: string, ...rest: unknown[]) => string;

/** Node's require (the executor's, and modules cells load) resolves the library name to this package. */
function mapLibraryInRequire(): void {
  const loader = Module as unknown as { _resolveFilename: ResolveFilename; _nodeModulePaths(from: string): string[] };
  const resolveFilename = loader._resolveFilename;
  // a module at the package root: packages resolve from there as for neurolmm's own code
  const libraryParent = { id: LIBRARY_ROOT, filename: path.join(LIBRARY_ROOT, 'package.json'), paths: loader._nodeModulePaths(LIBRARY_ROOT) };
  loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    const mapped = libraryPath(request);
    try {
      return resolveFilename.call(this, mapped ?? request, ...rest);
    } catch (error) {
      // A package neurolmm depends on (danfojs) that the notebook's folder lacks comes from neurolmm's.
      const bare = !mapped && !request.startsWith('.') && !path.isAbsolute(request);
      if (!bare || (error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
      return resolveFilename.call(this, request, libraryParent, false);
    }
  };
}

/**
 * tslab's compiler resolves bare imports from `<cwd>/node_modules` (it fakes that folder's existence
 * and reads files through ts.sys). Paths under `<cwd>/node_modules/neurolmm` are read from the package
 * root, and realpath gives the real files, as for a symlinked package. Must run before tslab creates
 * its compiler host, which binds ts.sys.realpath.
 */
function mapLibraryInTypeScript(cwd: string): void {
  const virtualRoot = path.join(cwd, 'node_modules', LIBRARY_NAME).replace(/\\/g, '/');
  const forward = (p: string): string => {
    const normalized = p.replace(/\\/g, '/');
    if (normalized === virtualRoot) return LIBRARY_ROOT;
    return normalized.startsWith(`${virtualRoot}/`) ? path.join(LIBRARY_ROOT, normalized.slice(virtualRoot.length + 1)) : p;
  };
  const sys = ts.sys;
  const { fileExists, readFile, directoryExists, getDirectories, readDirectory } = sys;
  const realpath = sys.realpath ?? ((p: string) => p);
  sys.fileExists = (p) => fileExists.call(sys, forward(p));
  sys.readFile = (p, encoding) => readFile.call(sys, forward(p), encoding);
  sys.directoryExists = (p) => directoryExists.call(sys, forward(p));
  sys.getDirectories = (p) => getDirectories.call(sys, forward(p));
  sys.readDirectory = (p, ...rest) => readDirectory.call(sys, forward(p), ...rest);
  sys.realpath = (p) => realpath.call(sys, forward(p));
}

export function mapLibraryModule(cwd = process.cwd()): void {
  mapLibraryInRequire();
  mapLibraryInTypeScript(cwd);
}
