/**
 * Process-wide singletons. They live on globalThis under Symbol.for keys because a notebook can load
 * a second copy of neurolmm (its own node_modules) next to the one the kernel runs from, and both
 * copies must see the same display publisher and widget host.
 */
export function processSingleton<T extends object>(name: string, create: () => T): T {
  const key = Symbol.for(`neurolmm.${name}`);
  const slots = globalThis as unknown as Record<symbol, T | undefined>;
  return (slots[key] ??= create());
}
