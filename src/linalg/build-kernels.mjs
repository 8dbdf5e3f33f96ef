// Compiles src/linalg/kernels.wat to dist/src/linalg/kernels.wasm (run by `npm run build`).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'dist', 'src', 'linalg', 'kernels.wasm');
const source = readFileSync(join(here, 'kernels.wat'), 'utf8');
const module = (await wabt()).parseWat('kernels.wat', source, { simd: true, threads: true });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, Buffer.from(module.toBinary({}).buffer));
module.destroy();
