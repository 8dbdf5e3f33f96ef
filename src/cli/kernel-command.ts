import { parseArgs, UsageError } from './args';
import { installKernel } from './kernel';

/** `neurolmm kernel install [--user | --prefix DIR]` */
export function runKernelCommand(argv: string[]): string {
  const [action, ...rest] = argv;
  if (action !== 'install') throw new UsageError(`unknown kernel action '${action ?? ''}' (expected 'install')`);
  const args = parseArgs(rest, ['prefix', 'name'], ['user']);
  const prefix = args.options.get('prefix')?.[0];
  if (prefix && args.flags.has('user')) throw new UsageError('give either --user or --prefix, not both');
  const dir = installKernel({ user: args.flags.has('user'), prefix, name: args.options.get('name')?.[0] });
  return `installed kernelspec "neurolmm (TypeScript)" in ${dir}, with the neurolmm-widgets JupyterLab extension beside it`;
}
