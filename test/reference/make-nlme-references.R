# Reference results for neurolmm's nlme-style fits (lme()/gls() with variance functions and
# residual correlation structures).
#
# Run from the repository root:  Rscript test/reference/make-nlme-references.R
# (R 4.2, nlme 3.1-162, jsonlite; Debian: r-cran-nlme r-cran-jsonlite). The tests only read what
# this writes; R is not needed to run them.
#
# Writes into test/fixtures/:
#   Ovary.csv, BodyWeight.csv   nlme's datasets (Orthodont.csv is written by make-references.R)
#   arma_sim.csv                simulated repeated measures with ARMA(1,1) errors and gaps in time
#   nlme-fits.json              per fit: coefficients with df, logLik/AIC/BIC, sigma, random-effects
#                               SDs, structure parameters, intervals(), anova() (sequential and
#                               marginal), residuals (response, pearson, normalized), fitted values,
#                               predictions, the printed summary; likelihood-ratio anova tables
#
# Every fit uses the data as read back from its CSV, as neurolmm reads it (see fixture-helpers.R),
# so grouping factors are plain factors in numeric or code-point order.

suppressMessages({
  library(nlme)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
fixtures <- file.path("test", "fixtures")
if (!dir.exists(fixtures)) stop("run from the repository root (test/fixtures not found)")
source(file.path("test", "reference", "fixture-helpers.R"))

export_csv(nlme::Ovary, "Ovary")
export_csv(nlme::BodyWeight, "BodyWeight")

# 40 subjects seen at up to 8 times, a fifth of the visits missed (so lags are not positions),
# random intercepts and ARMA(1,1) errors (phi 0.6, theta 0.3)
set.seed(20261206)
sim <- do.call(rbind, lapply(1:40, function(s) {
  e <- as.numeric(arima.sim(list(ar = 0.6, ma = 0.3), n = 8, sd = 1))
  d <- data.frame(subject = sprintf("s%02d", s), time = 1:8, group = if (s <= 20) "control" else "patient",
                  y = 10 + 0.4 * (1:8) + (s > 20) * 1.5 + rnorm(1, sd = 1.2) + e)
  d[sort(sample(8, 6 + sample(0:2, 1))), ]
}))
sim$y <- round(sim$y, 4)
export_csv(sim, "arma_sim")

Ovary <- read_fixture("Ovary")
Orthodont <- read_fixture("Orthodont")
BodyWeight <- read_fixture("BodyWeight")
arma_sim <- read_fixture("arma_sim")

ovary_formula <- follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time)
fits <- list(
  ovary_ar1 = list(
    call = list(fn = "lme", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare")),
    fit = lme(ovary_formula, Ovary, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare))),
  ovary_ar1_ml = list(
    call = list(fn = "lme", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare"), REML = FALSE),
    fit = lme(ovary_formula, Ovary, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare), method = "ML")),
  ovary_plain = list(
    call = list(fn = "lme", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary"),
    fit = lme(ovary_formula, Ovary, random = ~ 1 | Mare)),
  ovary_gls_ar1 = list(
    call = list(fn = "gls", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare")),
    fit = gls(ovary_formula, Ovary, correlation = corAR1(form = ~ 1 | Mare))),
  orthodont_varident = list(
    call = list(fn = "lme", formula = "distance ~ age + Sex + (1 | Subject)", data = "Orthodont",
                weights = list(kind = "varIdent", form = "~ 1 | Sex")),
    fit = lme(distance ~ age + Sex, Orthodont, random = ~ 1 | Subject, weights = varIdent(form = ~ 1 | Sex))),
  orthodont_varident_ml = list(
    call = list(fn = "lme", formula = "distance ~ age * Sex + (age | Subject)", data = "Orthodont",
                weights = list(kind = "varIdent", form = "~ 1 | Sex"), REML = FALSE),
    fit = lme(distance ~ age * Sex, Orthodont, random = ~ age | Subject, weights = varIdent(form = ~ 1 | Sex),
              method = "ML")),
  orthodont_gls_cs = list(
    call = list(fn = "gls", formula = "distance ~ age * Sex", data = "Orthodont",
                correlation = list(kind = "corCompSymm", form = "~ 1 | Subject"),
                weights = list(kind = "varIdent", form = "~ 1 | Sex")),
    fit = gls(distance ~ age * Sex, Orthodont, correlation = corCompSymm(form = ~ 1 | Subject),
              weights = varIdent(form = ~ 1 | Sex))),
  bodyweight_varpower = list(
    call = list(fn = "lme", formula = "weight ~ Time * Diet + (Time | Rat)", data = "BodyWeight",
                weights = list(kind = "varPower", form = "~ Time")),
    fit = lme(weight ~ Time * Diet, BodyWeight, random = ~ Time | Rat, weights = varPower(form = ~ Time))),
  bodyweight_varexp_ar1 = list(
    call = list(fn = "lme", formula = "weight ~ Time * Diet + (1 | Rat)", data = "BodyWeight",
                weights = list(kind = "varExp", form = "~ Time"),
                correlation = list(kind = "corAR1", form = "~ 1 | Rat")),
    fit = lme(weight ~ Time * Diet, BodyWeight, random = ~ 1 | Rat, weights = varExp(form = ~ Time),
              correlation = corAR1(form = ~ 1 | Rat))),
  sim_arma11 = list(
    call = list(fn = "lme", formula = "y ~ time + group + (1 | subject)", data = "arma_sim",
                correlation = list(kind = "corARMA", form = "~ time | subject", p = 1, q = 1)),
    fit = lme(y ~ time + group, arma_sim, random = ~ 1 | subject,
              correlation = corARMA(form = ~ time | subject, p = 1, q = 1))),
  sim_arma20 = list(
    call = list(fn = "lme", formula = "y ~ time + group + (1 | subject)", data = "arma_sim",
                correlation = list(kind = "corARMA", form = "~ time | subject", p = 2, q = 0)),
    fit = lme(y ~ time + group, arma_sim, random = ~ 1 | subject,
              correlation = corARMA(form = ~ time | subject, p = 2, q = 0))),
  sim_gls_arma11_ml = list(
    call = list(fn = "gls", formula = "y ~ time * group", data = "arma_sim",
                correlation = list(kind = "corARMA", form = "~ time | subject", p = 1, q = 1), REML = FALSE),
    fit = gls(y ~ time * group, arma_sim, correlation = corARMA(form = ~ time | subject, p = 1, q = 1),
              method = "ML"))
)

# intervals() as rows {name, lower, est, upper}
interval_rows <- function(m) {
  if (is.null(m)) return(NULL)
  m <- as.matrix(m)
  data.frame(name = rownames(m), lower = m[, "lower"], est = m[, "est."], upper = m[, "upper"], row.names = NULL)
}

new_points <- list(
  Ovary = data.frame(Time = c(-0.1, 0.3, 0.8), Mare = factor(c("1", "5", "11"), levels = levels(Ovary$Mare))),
  Orthodont = data.frame(age = c(9, 13), Sex = factor(c("Male", "Female"), levels = levels(Orthodont$Sex)),
                         Subject = factor(c("M03", "F07"), levels = levels(Orthodont$Subject))),
  BodyWeight = data.frame(Time = c(10, 40), Diet = factor(c("1", "3"), levels = levels(BodyWeight$Diet)),
                          Rat = factor(c("2", "13"), levels = levels(BodyWeight$Rat))),
  arma_sim = data.frame(time = c(2, 7), group = factor(c("control", "patient"), levels = levels(arma_sim$group)),
                        subject = factor(c("s03", "s31"), levels = levels(arma_sim$subject)))
)

describe <- function(entry) {
  m <- entry$fit
  s <- summary(m)
  tt <- s$tTable
  is_lme <- inherits(m, "lme")
  iv <- intervals(m)
  newdata <- new_points[[entry$call$data]]
  out <- list(
    call = entry$call,
    coefficients = list(term = rownames(tt), estimate = unname(tt[, "Value"]), se = unname(tt[, "Std.Error"]),
                        df = if (is_lme) unname(tt[, "DF"]) else rep(m$dims$N - m$dims$p, nrow(tt)),
                        t = unname(tt[, "t-value"]), p = unname(tt[, "p-value"])),
    logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), sigma = m$sigma, nobs = m$dims$N,
    corStruct = if (!is.null(m$modelStruct$corStruct)) as.list(coef(m$modelStruct$corStruct, unconstrained = FALSE)),
    varStruct = if (!is.null(m$modelStruct$varStruct)) as.list(coef(m$modelStruct$varStruct, unconstrained = FALSE)),
    intervals = list(
      fixed = interval_rows(if (is_lme) iv$fixed else iv$coef),
      reStruct = if (is_lme) lapply(iv$reStruct, interval_rows),
      corStruct = interval_rows(iv$corStruct),
      varStruct = interval_rows(iv$varStruct),
      sigma = as.list(setNames(unname(iv$sigma), c("lower", "est", "upper")))),
    anova = lapply(c(sequential = "sequential", marginal = "marginal"), function(type) {
      a <- anova(m, type = type)
      list(term = rownames(a), numDF = a$numDF, denDF = a$denDF, F = a[["F-value"]], p = a[["p-value"]])
    }),
    residuals = list(response = unname(residuals(m, type = "response")),
                     pearson = unname(residuals(m, type = "pearson")),
                     normalized = unname(residuals(m, type = "normalized"))),
    fitted = unname(fitted(m)),
    predict = list(newdata = newdata, value = unname(predict(m, newdata))),
    summary = paste(capture.output(print(s)), collapse = "\n")
  )
  if (is_lme) {
    vc <- VarCorr(m)
    out$varcorr <- list(rows = rownames(vc), StdDev = unname(as.numeric(vc[, "StdDev"])))
    out$fitted0 <- unname(fitted(m, level = 0))
    out$predict$value0 <- unname(predict(m, newdata, level = 0))
  }
  out
}

lrt_row <- function(a) {
  list(df = a$df, AIC = a$AIC, BIC = a$BIC, logLik = a$logLik, L.Ratio = a$L.Ratio, p = a[["p-value"]])
}

ovary_plain <- fits$ovary_plain$fit
ovary_ar1 <- fits$ovary_ar1$fit
sim_arma20 <- fits$sim_arma20$fit
sim_arma11 <- fits$sim_arma11$fit
lrt_ovary <- anova(ovary_plain, ovary_ar1)
lrt_sim <- anova(sim_arma20, sim_arma11)
out <- list(
  nlme = as.character(packageVersion("nlme")),
  fits = lapply(fits, describe),
  lrt = list(
    ovary_ar1_vs_plain = c(list(models = c("ovary_plain", "ovary_ar1")), lrt_row(lrt_ovary)),
    sim_arma20_vs_arma11 = c(list(models = c("sim_arma20", "sim_arma11")), lrt_row(lrt_sim))
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
           file.path(fixtures, "nlme-fits.json"))
cat("wrote", file.path(fixtures, "nlme-fits.json"), "\n")
