# Reference fits for the whole-brain engine on ABCD-shaped data: lme4 + lmerTest at every vertex.
#
# Run from the repository root:  Rscript test/reference/make-brain-references.R
# (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, jsonlite). Reads test/fixtures/brain-abcd.csv, which
# test/brain-lme4.test.ts checks is exactly SyntheticDataset({ visits: [30, 90, 40], vertices: 4,
# seed: 31, medialWall: 0, patchy: 0 }) (follow-up times continuous, 19 sites), and writes
# test/fixtures/brain-lme4.json: per design and vertex, lme4's fixed effects and their SEs, the
# REML log-likelihood, theta, sigma^2, D (VarCorr / sigma^2, vech per term in formula order) and lmerTest's
# Satterthwaite test of the time coefficient.

suppressMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})
source(file.path("test", "reference", "fixture-helpers.R"))

d <- read.csv(file.path(fixtures, "brain-abcd.csv"), stringsAsFactors = FALSE)
for (nm in c("subject", "sex", "site")) d[[nm]] <- as_engine_factor(d[[nm]])

designs <- list(
  intercept = "y ~ sex + age + time + nih + site + (1 | subject)",
  slope = "y ~ sex + age + time + nih + site + (1 + time | subject)",
  site = "y ~ sex + age + time + nih + (1 | site) + (1 | subject)"
)

vech <- function(m) m[lower.tri(m, diag = TRUE)]

fit_vertex <- function(formula, v) {
  d$y <- d[[paste0("y", v)]]
  m <- lmerTest::lmer(as.formula(formula), d, REML = TRUE)
  s2 <- sigma(m)^2
  # VarCorr's terms in formula order, as the brain's D map
  vc <- VarCorr(m)
  bars <- vapply(findbars(as.formula(formula)), function(b) deparse(b[[3]]), "")
  D <- unlist(lapply(bars, function(g) vech(as.matrix(vc[[g]])) / s2))
  L <- as.numeric(names(fixef(m)) == "time")
  test <- lmerTest::contest(m, L, joint = FALSE)
  list(
    beta = unname(fixef(m)),
    se = unname(sqrt(diag(as.matrix(vcov(m))))),
    theta = unname(getME(m, "theta")),
    llh = as.numeric(logLik(m)),
    sigma2 = s2,
    D = unname(D),
    time = list(estimate = test$Estimate, se = test[["Std. Error"]], df = test$df, t = test[["t value"]])
  )
}

out <- lapply(designs, function(f) list(formula = f, vertices = lapply(0:3, function(v) fit_vertex(f, v))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(fixtures, "brain-lme4.json"))
