# References for what R users add to lme4 (issue 17): contrast codings and ordered factors,
# emmeans's marginal means, Nakagawa's R2 and the ICC, Kenward-Roger.
#
# Run from the repository root:  Rscript test/reference/make-r-extensions.R
# (Debian: r-cran-lme4 r-cran-lmertest r-cran-emmeans r-cran-pbkrtest r-cran-performance
# r-cran-jsonlite). Writes test/fixtures/r-extensions.json; the tests only read that file.
#
# Data are read from the fixtures' CSV files and the factors made as the tests make them in
# neurolmm (setColumnTypes / the contrasts option), so both sides fit the same model.

suppressMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
fixtures <- file.path("test", "fixtures")
if (!dir.exists(fixtures)) stop("run from the repository root (test/fixtures not found)")
csv <- function(name) read.csv(file.path(fixtures, paste0(name, ".csv")), stringsAsFactors = FALSE)
numeric_levels <- function(x) factor(x, levels = sort(unique(x)))

cake <- csv("cake")
cake$recipe <- factor(cake$recipe)
cake$replicate <- numeric_levels(cake$replicate)
cake$temperature <- factor(cake$temperature, levels = sort(unique(cake$temperature)), ordered = TRUE)
machines <- csv("Machines")
machines$Worker <- numeric_levels(machines$Worker)
machines$Machine <- factor(machines$Machine)
sleep <- csv("sleepstudy")
sleep$Subject <- numeric_levels(sleep$Subject)
sleep$phase <- factor(ifelse(sleep$Days < 5, "early", "late"))
sleep$DayF <- numeric_levels(sleep$Days)

datasets <- list(cake = cake, Machines = machines, sleepstudy = sleep)

# ---- 1. contrast codings -------------------------------------------------------------------------

coding_fit <- function(name, formula, data, contrasts = NULL, REML = TRUE) {
  fit <- lmerTest::lmer(as.formula(formula), data = datasets[[data]], REML = REML, contrasts = contrasts)
  s <- coef(summary(fit))
  a <- anova(fit, type = 3)
  list(
    name = name, data = data, formula = formula, REML = REML,
    contrasts = if (is.null(contrasts)) NULL else lapply(contrasts, function(x) if (is.character(x)) sub("contr.", "", x, fixed = TRUE) else unname(x)),
    term = rownames(s), estimate = unname(s[, "Estimate"]), se = unname(s[, "Std. Error"]), df = unname(s[, "df"]),
    anova_type3 = list(term = I(rownames(a)), sumSq = I(a[["Sum Sq"]]), meanSq = I(a[["Mean Sq"]]), numDF = I(a$NumDF),
                       denDF = I(a$DenDF), F = I(a[["F value"]]), p = I(a[["Pr(>F)"]]))
  )
}

codings <- list(
  coding_fit("cake-poly", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake", REML = FALSE),
  coding_fit("cake-additive", "angle ~ recipe + temperature + (1 | recipe:replicate)", "cake"),
  coding_fit("cake-sum", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake",
             list(recipe = "contr.sum", temperature = "contr.helmert")),
  coding_fit("machines-sum", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "Machines", list(Machine = "contr.sum")),
  coding_fit("machines-matrix", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "Machines",
             list(Machine = matrix(c(1, -0.5, -0.5, 0, 1, -1), 3, 2))),
  coding_fit("sleep-sum", "Reaction ~ Days * phase + (Days | Subject)", "sleepstudy", list(phase = "contr.sum")),
  coding_fit("sleep-dayf-helmert", "Reaction ~ DayF + (1 | Subject)", "sleepstudy", list(DayF = "contr.helmert"))
)

lm_cake <- lm(angle ~ recipe * temperature, data = cake, contrasts = list(recipe = "contr.sum"))
lm_coding <- list(term = names(coef(lm_cake)), estimate = unname(coef(lm_cake)),
                  se = unname(coef(summary(lm_cake))[, "Std. Error"]))

out <- list(
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest"))),
  codings = codings, lm_coding = lm_coding
)
write_json(out, file.path(fixtures, "r-extensions.json"), digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE)
