/**
 * The process Jupyter starts for the neurolmm kernel (see src/cli/kernel.ts for the kernelspec):
 *   node dist/kernel-ext/main.js --connection-file {connection_file}
 */
import { parseArgs } from 'node:util';
import { startKernel } from './kernel';

function connectionFileArgument(): string {
  const { values } = parseArgs({ options: { 'connection-file': { type: 'string', short: 'f' } } });
  const file = values['connection-file'];
  if (!file) {
    console.error('usage: node main.js --connection-file FILE   (Jupyter starts the kernel this way)');
    process.exit(2);
  }
  return file;
}

startKernel(connectionFileArgument()).catch((error: Error) => {
  console.error(`neurolmm kernel failed to start: ${error.stack ?? error.message}`);
  process.exit(1);
});
