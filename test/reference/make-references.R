# Reference results for neurolmm's tests on data the engine was not developed on.
#
# Run from the repository root:  Rscript test/reference/make-references.R
# (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, nlme 3.1-162, jsonlite; Debian: r-cran-lme4 r-cran-lmertest
# r-cran-nlme r-cran-jsonlite). The tests only read what this writes; R is not needed to run them.
#
# Writes into test/fixtures/:
#   <dataset>.csv      datasets not yet there (write.csv, row.names=FALSE: factors as quoted strings)
#   extra-fits.json    lmerTest::lmer fits, per model the schema of shared/reference/lme4-fits.json plus
#                      ranef_condvar, coef, fitted_head, residuals_head, warnings, confint_wald
#   extra-tests.json   likelihood-ratio anova tables, lmerTest::contest, lm fits, predict, t.test
#
# Every fit uses the data as read back from its CSV, as neurolmm reads it: quoted columns become
# factors with levels in numeric order when all labels are numbers, else in code-point (C locale)
# order. So nlme's ordered factors (Block, Subject, Worker, Rail) and cake's ordered temperature
# become plain factors with treatment contrasts, and Orthodont's Sex has "Female" as reference.

suppressMessages({
  library(lme4)
  library(lmerTest)
  library(nlme)
  library(jsonlite)
})

# ---- datasets -----------------------------------------------------------------------------------

source(file.path("test", "reference", "fixture-helpers.R"))

export_csv(nlme::Oats, "Oats")
export_csv(nlme::ergoStool, "ergoStool")
export_csv(nlme::Orthodont, "Orthodont")
export_csv(nlme::Rail, "Rail")
cake <- lme4::cake
cake$temperature <- factor(cake$temperature, ordered = FALSE)
export_csv(cake, "cake")

sleep <- read_fixture("sleepstudy")
sleep_rankdef <- data.frame(Reaction = sleep$Reaction, Days = sleep$Days, Days2 = 2 * sleep$Days,
                            Subject = as.character(sleep$Subject))
export_csv(sleep_rankdef, "sleepstudy_rankdef")

# Random intercepts with no between-group variance (noise centred within each group): the REML
# estimate of that variance is on the boundary, 0.
set.seed(20240611)
singular <- data.frame(g = rep(sprintf("g%02d", 1:10), each = 6), x = rep(0:5, 10))
noise <- rnorm(60)
singular$y <- round(2 + 0.5 * singular$x + noise - ave(noise, singular$g), 4)
export_csv(singular, "singular_sim")

# Small sample for t.test: paired before/after per id and a two-level group.
set.seed(7)
tt <- data.frame(id = sprintf("s%02d", 1:14), group = rep(c("a", "b"), each = 7))
tt$before <- round(rnorm(14, 10, 2), 3)
tt$after <- round(tt$before + rnorm(14, 0.8, 1.1), 3)
export_csv(tt, "ttest_sim")

# ---- per-model results (schema of shared/reference/lme4-fits.json, plus extras) -----------------

# Fit while collecting lme4/lmerTest messages and warnings instead of printing them.
with_conditions <- function(expr) {
  notes <- character(0)
  value <- withCallingHandlers(expr,
    warning = function(w) { notes <<- c(notes, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { notes <<- c(notes, trimws(conditionMessage(m))); invokeRestart("muffleMessage") })
  list(value = value, notes = notes)
}

# A JSON array even when of length 1 (toJSON's auto_unbox would make it a scalar).
arr <- function(x) I(unname(as.vector(x)))

records <- function(x) { x <- as.data.frame(x); x$level <- rownames(x); rownames(x) <- NULL; x }

# Conditional variances, per grouping factor a list of term blocks (one unless `||` split the
# factor): names, levels, and per level the k x k block flattened column-major.
condvar <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  lapply(re, function(x) {
    pv <- attr(x, "postVar")
    blocks <- if (is.list(pv)) pv else list(pv)
    names_of <- if (is.list(pv)) as.list(names(pv)) else list(names(x))
    mapply(function(block, nms) list(names = arr(nms), levels = arr(rownames(x)),
                                  postVar = lapply(seq_len(dim(block)[3]), function(i) arr(block[, , i]))),
        blocks, names_of, SIMPLIFY = FALSE, USE.NAMES = FALSE)
  })
}

model_results <- function(m) {
  d <- read_fixture(m$data)
  reml <- if (is.null(m$REML)) TRUE else m$REML
  fitted_with <- with_conditions(lmerTest::lmer(as.formula(m$f), data = d, REML = reml))
  fit <- fitted_with$value
  s <- summary(fit)
  co <- s$coefficients
  an3 <- tryCatch(as.data.frame(anova(fit, type = 3)), error = function(e) NULL)
  an1 <- tryCatch(as.data.frame(anova(fit, type = 1)), error = function(e) NULL)
  ci <- confint(fit, method = "Wald", parm = "beta_")
  list(data = m$data, formula = m$f, REML = reml, nobs = nobs(fit),
    fixef = as.list(fixef(fit)),
    coefficients = list(term = arr(rownames(co)), estimate = arr(co[, "Estimate"]), se = arr(co[, "Std. Error"]),
                        df = arr(co[, "df"]), t = arr(co[, "t value"]), p = arr(co[, "Pr(>|t|)"])),
    varcorr = as.data.frame(VarCorr(fit)), sigma = sigma(fit),
    logLik = as.numeric(logLik(fit)), df_logLik = attr(logLik(fit), "df"),
    REMLcrit = if (reml) REMLcrit(fit) else NULL, deviance = if (!reml) deviance(fit) else NULL,
    AIC = AIC(fit), BIC = BIC(fit), theta = arr(getME(fit, "theta")), singular = isSingular(fit),
    anova_type3 = an3, anova_type1 = an1,
    ranef = lapply(ranef(fit), records),
    ranef_condvar = condvar(fit),
    coef = lapply(coef(fit), records),
    fitted_head = arr(head(fitted(fit), 10)),
    residuals_head = arr(head(residuals(fit), 10)),
    warnings = arr(fitted_with$notes),
    confint_wald = list(term = arr(rownames(ci)), level = 0.95, lower = arr(ci[, 1]), upper = arr(ci[, 2])))
}

models <- list(
  list(id = "oats_nested", data = "Oats", f = "yield ~ nitro + (1 | Block/Variety)"),
  list(id = "oats_nitro_by_variety", data = "Oats", f = "yield ~ nitro * Variety + (1 | Block)"),
  list(id = "oats_slopes_singular", data = "Oats", f = "yield ~ nitro + (nitro | Block)"),
  list(id = "oats_nitro_by_variety_nested", data = "Oats", f = "yield ~ nitro * Variety + (1 | Block/Variety)"),
  list(id = "ergostool", data = "ergoStool", f = "effort ~ Type + (1 | Subject)"),
  list(id = "ergostool_no_intercept_ml", data = "ergoStool", f = "effort ~ 0 + Type + (1 | Subject)", REML = FALSE),
  list(id = "orthodont_age_by_sex", data = "Orthodont", f = "distance ~ age * Sex + (1 | Subject)"),
  list(id = "orthodont_slopes", data = "Orthodont", f = "distance ~ age + Sex + (age | Subject)"),
  list(id = "orthodont_slopes_ml", data = "Orthodont", f = "distance ~ age + Sex + (age | Subject)", REML = FALSE),
  list(id = "cake", data = "cake", f = "angle ~ recipe * temperature + (1 | recipe:replicate)"),
  list(id = "machines_cov3", data = "Machines", f = "score ~ Machine + (0 + Machine | Worker)"),
  list(id = "machines_slash", data = "Machines", f = "score ~ Machine + (1 | Worker/Machine)"),
  list(id = "sleepstudy_double_bar", data = "sleepstudy", f = "Reaction ~ Days + (Days || Subject)"),
  list(id = "singular_sim", data = "singular_sim", f = "y ~ x + (1 | g)"),
  list(id = "sleepstudy_rankdef", data = "sleepstudy_rankdef", f = "Reaction ~ Days + Days2 + (1 | Subject)"),
  list(id = "rail", data = "Rail", f = "travel ~ 1 + (1 | Rail)"),
  list(id = "penicillin_ml", data = "Penicillin", f = "diameter ~ 1 + (1 | plate) + (1 | sample)", REML = FALSE)
)
fits <- setNames(lapply(models, model_results), vapply(models, `[[`, "", "id"))

write_json_file <- function(x, name) {
  writeLines(toJSON(x, digits = I(15), auto_unbox = TRUE, pretty = TRUE, null = "null", na = "null"),
             file.path(fixtures, name))
}
write_json_file(fits, "extra-fits.json")

# ---- other reference results --------------------------------------------------------------------

anova_table <- function(a) {
  a <- as.data.frame(a)
  list(model = arr(rownames(a)), npar = arr(a$npar), AIC = arr(a$AIC), BIC = arr(a$BIC), logLik = arr(a$logLik),
       deviance = arr(a$deviance), Chisq = arr(a$Chisq), Df = arr(a$Df), p = arr(a[["Pr(>Chisq)"]]))
}

sleep_lm <- lm(Reaction ~ Days, data = sleep)
sleep_ri <- lmerTest::lmer(Reaction ~ Days + (1 | Subject), data = sleep)
sleep_rs <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), data = sleep)
lrt <- list(
  sleepstudy_lm_ri_rs = list(
    call = "anova(sleep_ri, sleep_rs, sleep_lm)", refit = TRUE,
    models = list(sleep_lm = "lm(Reaction ~ Days)", sleep_ri = "lmer(Reaction ~ Days + (1 | Subject))",
                  sleep_rs = "lmer(Reaction ~ Days + (Days | Subject))"),
    table = anova_table(suppressMessages(anova(sleep_ri, sleep_rs, sleep_lm)))),
  sleepstudy_ri_rs_no_refit = list(
    call = "anova(sleep_ri, sleep_rs, refit = FALSE)", refit = FALSE,
    models = list(sleep_ri = "lmer(Reaction ~ Days + (1 | Subject))",
                  sleep_rs = "lmer(Reaction ~ Days + (Days | Subject))"),
    table = anova_table(anova(sleep_ri, sleep_rs, refit = FALSE))))

ergo <- lmerTest::lmer(effort ~ Type + (1 | Subject), data = read_fixture("ergoStool"))
ortho <- lmerTest::lmer(distance ~ age * Sex + (1 | Subject), data = read_fixture("Orthodont"))
contest_1d <- function(fit, model, L, rhs = 0) {
  r <- as.data.frame(contest(fit, L, joint = FALSE, rhs = rhs))
  list(model = model, L = if (is.matrix(L)) L else arr(L), rhs = arr(rhs), joint = FALSE,
       estimate = arr(r$Estimate), se = arr(r[["Std. Error"]]), df = arr(r$df), t = arr(r[["t value"]]),
       p = arr(r[["Pr(>|t|)"]]), lower = arr(r$lower), upper = arr(r$upper))
}
contest_md <- function(fit, model, L, rhs = 0) {
  r <- as.data.frame(contest(fit, L, joint = TRUE, rhs = rhs))
  list(model = model, L = L, rhs = arr(rhs), joint = TRUE, SumSq = r[["Sum Sq"]], MeanSq = r[["Mean Sq"]],
       NumDF = r$NumDF, DenDF = r$DenDF, F = r[["F value"]], p = r[["Pr(>F)"]])
}
type_all <- rbind(c(0, 1, 0, 0), c(0, 0, 1, 0), c(0, 0, 0, 1))
contests <- list(
  ergostool_T2_minus_T3 = contest_1d(ergo, "ergostool", c(0, 1, -1, 0)),
  ergostool_T2_vs_3 = contest_1d(ergo, "ergostool", c(0, 1, 0, 0), rhs = 3),
  ergostool_rows = contest_1d(ergo, "ergostool", type_all),
  ergostool_type_joint = contest_md(ergo, "ergostool", type_all),
  orthodont_male_at_age_11 = contest_1d(ortho, "orthodont_age_by_sex", c(0, 0, 1, 11)),
  orthodont_sex_terms_joint = contest_md(ortho, "orthodont_age_by_sex", rbind(c(0, 0, 1, 0), c(0, 0, 0, 1))),
  sleepstudy_slope_joint_rhs = contest_md(sleep_rs, "sleepstudy_full", matrix(c(0, 1), nrow = 1), rhs = 10))

lm_result <- function(fit, data, formula) {
  s <- summary(fit)
  co <- s$coefficients
  list(data = data, formula = formula, nobs = nobs(fit),
       coefficients = list(term = arr(rownames(co)), estimate = arr(co[, 1]), se = arr(co[, 2]), t = arr(co[, 3]),
                           p = arr(co[, 4])),
       sigma = s$sigma, df_residual = fit$df.residual, r_squared = s$r.squared,
       adj_r_squared = s$adj.r.squared, fstatistic = arr(s$fstatistic),
       logLik = as.numeric(logLik(fit)), df_logLik = attr(logLik(fit), "df"), AIC = AIC(fit), BIC = BIC(fit))
}
lms <- list(
  sleepstudy = lm_result(sleep_lm, "sleepstudy", "Reaction ~ Days"),
  orthodont = lm_result(lm(distance ~ age * Sex, data = read_fixture("Orthodont")), "Orthodont", "distance ~ age * Sex"))

sleep_new <- data.frame(Days = c(0, 4.5, 9, 2, 7), Subject = c("308", "309", "372", "999", "999"))
ortho_new <- data.frame(age = c(8, 11, 14, 12), Sex = c("Female", "Male", "Male", "Female"),
                        Subject = c("F01", "M05", "NEW1", "NEW2"))
predictions <- list(
  sleepstudy_full = list(model = "sleepstudy_full", formula = "Reaction ~ Days + (Days | Subject)",
    newdata = sleep_new,
    fixed_only = arr(predict(sleep_rs, newdata = sleep_new, re.form = NA)),
    with_random = arr(predict(sleep_rs, newdata = sleep_new, allow.new.levels = TRUE))),
  orthodont_age_by_sex = list(model = "orthodont_age_by_sex", formula = "distance ~ age * Sex + (1 | Subject)",
    newdata = ortho_new,
    fixed_only = arr(predict(ortho, newdata = ortho_new, re.form = NA)),
    with_random = arr(predict(ortho, newdata = ortho_new, allow.new.levels = TRUE))))

tt_data <- read_fixture("ttest_sim")
t_result <- function(r, call) {
  list(call = call, statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value,
       conf_int = arr(r$conf.int), conf_level = attr(r$conf.int, "conf.level"),
       estimate = arr(r$estimate), estimate_names = arr(names(r$estimate)), stderr = r$stderr, null_value = unname(r$null.value),
       alternative = r$alternative)
}
ttests <- list(
  one_sample = t_result(with(tt_data, t.test(before, mu = 9)), "t.test(before, mu = 9)"),
  one_sample_greater = t_result(with(tt_data, t.test(after - before, alternative = "greater")),
                                "t.test(after - before, alternative = 'greater')"),
  paired = t_result(with(tt_data, t.test(after, before, paired = TRUE)), "t.test(after, before, paired = TRUE)"),
  two_sample_equal_var = t_result(t.test(before ~ group, data = tt_data, var.equal = TRUE),
                                  "t.test(before ~ group, var.equal = TRUE)"),
  two_sample_welch = t_result(t.test(before ~ group, data = tt_data), "t.test(before ~ group)"))

write_json_file(list(
  notes = paste("null stands for R's NA, and in conf_int of a one-sided t.test for the infinite bound;",
                "data name <d> is test/fixtures/<d>.csv; model ids name fits in extra-fits.json or, for",
                "sleepstudy_full, shared/reference/lme4-fits.json"),
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  Matrix = as.character(packageVersion("Matrix"))),
  likelihood_ratio = lrt, contest = contests, lm = lms, predict = predictions, t_test = ttests),
  "extra-tests.json")
cat("wrote", length(fits), "fits to", file.path(fixtures, "extra-fits.json"), "and extra-tests.json\n")
