/**
 * `neurolmm/stats`: the numerical building blocks under the models: t/F/chi-square/normal
 * distributions exact far into the tails, R's random number streams, numDeriv's Richardson
 * derivatives.
 */
export * from './distributions';
export { RRandom, randomSeed } from './rng';
export { richardsonHessian, richardsonJacobian, type RichardsonOptions } from './numderiv';
