# References for test/degenerate.test.ts: summary(lm()) on an exact linear and a constant response.
# Run from the repository root: Rscript test/reference/make-degenerate.R
library(jsonlite)
x <- 1:10
linear <- summary(lm(y ~ x, data.frame(x = x, y = 2 + 3 * x)))
constant <- summary(lm(y ~ x, data.frame(x = x, y = rep(5, 10))))
out <- list(
  R = R.version.string,
  linear = list(sigma = linear$sigma, coef = unname(coef(linear)[, 1])),
  constant = list(sigma = constant$sigma, intercept = unname(coef(constant)[1, 1]), slope = unname(coef(constant)[2, 1]))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "test/reference/degenerate.json")
