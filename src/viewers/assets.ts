/**
 * Where the built front-end lives: widgets/ of the installed neurolmm package (found from this file,
 * so it works from dist/src/viewers in the repository and in node_modules/neurolmm alike).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';

/** The folder of the neurolmm package this file belongs to (a checkout, or node_modules/neurolmm). */
export function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'neurolmm') return dir;
    if (path.dirname(dir) === dir) throw new DataError(`cannot find the neurolmm package above ${__dirname}`);
  }
}

export const widgetsDir = (): string => path.join(packageRoot(), 'widgets');

/** The widget module's name and version, from widgets/package.json (the front-end registers the same). */
export function widgetModule(): { name: string; version: string } {
  const { name, version } = JSON.parse(fs.readFileSync(path.join(widgetsDir(), 'package.json'), 'utf8'));
  return { name, version };
}

/** A built front-end file, with the build command in the message when it is missing. */
export function builtWidgetFile(relative: string): string {
  const file = path.join(widgetsDir(), 'dist', relative);
  if (!fs.existsSync(file)) throw new DataError(`${file} is missing: build the widgets first (npm run build:widgets)`);
  return file;
}
