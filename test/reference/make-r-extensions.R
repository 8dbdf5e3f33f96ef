# References for what R users add to lme4 (issue 17): contrast codings and ordered factors,
# emmeans's marginal means, Nakagawa's R2 and the ICC, Kenward-Roger.
# (insight 0.19 counts only the first of two random-effects terms on the same grouping factor,
# as in (Days || Subject); neurolmm counts every term, so such models are not compared here.)
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
  library(emmeans)
  library(performance)
  library(pbkrtest)
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

oats <- csv("Oats")
oats$Block <- factor(oats$Block)
oats$Variety <- factor(oats$Variety)
oats$N <- factor(oats$nitro)

datasets <- list(cake = cake, Machines = machines, sleepstudy = sleep, Oats = oats)

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

# ---- 2. estimated marginal means ------------------------------------------------------------------

emm_frame <- function(x) {
  d <- as.data.frame(x)
  lapply(d, function(col) if (is.factor(col)) I(as.character(col)) else I(col))
}
printed <- function(x) I(sub(" +$", "", capture.output(print(x))))

emm_case <- function(name, formula, data, specs, REML = TRUE, contrasts = NULL, model = c("lmer", "lm"), df = "satterthwaite") {
  model <- match.arg(model)
  fit <- if (model == "lmer") lmerTest::lmer(as.formula(formula), data = datasets[[data]], REML = REML, contrasts = contrasts)
         else lm(as.formula(formula), data = datasets[[data]], contrasts = contrasts)
  e <- suppressMessages(emmeans(fit, as.formula(specs), lmer.df = df))
  p <- pairs(e)
  list(
    name = name, model = model, formula = formula, data = data, specs = specs, REML = REML, df = df,
    contrasts = if (is.null(contrasts)) NULL else lapply(contrasts, function(x) sub("contr.", "", x, fixed = TRUE)),
    emmeans = emm_frame(summary(e)), emmeans_text = printed(e),
    pairs_tukey = emm_frame(summary(p)), pairs_text = printed(p),
    pairs_tukey_ci = emm_frame(confint(p)),
    pairs_holm = emm_frame(summary(pairs(e, adjust = "holm"))),
    pairs_bonferroni = emm_frame(summary(pairs(e, adjust = "bonferroni"))),
    pairs_none = emm_frame(summary(pairs(e, adjust = "none"))),
    pairs_bonferroni_ci = emm_frame(confint(pairs(e, adjust = "bonferroni"))),
    revpairs = emm_frame(summary(pairs(e, reverse = TRUE))),
    eff = emm_frame(summary(contrast(e, "eff"))), eff_text = printed(contrast(e, "eff")),
    # the default adjustments: dunnettx (Dunnett's approximation) and mvt (mvtnorm's randomized
    # quasi-Monte Carlo, abseps 0.001: seeded so that the file is reproducible)
    trt_vs_ctrl = emm_frame(summary(contrast(e, "trt.vs.ctrl"))), trt_vs_ctrl_text = printed(contrast(e, "trt.vs.ctrl")),
    trt_vs_ctrlk = emm_frame(summary(contrast(e, "trt.vs.ctrlk"))),
    trt_vs_ctrl_ci = emm_frame(confint(contrast(e, "trt.vs.ctrl"))),
    consec_ci = { set.seed(17); emm_frame(confint(contrast(e, "consec"))) },
    consec = { set.seed(17); emm_frame(summary(contrast(e, "consec"))) },
    consec_text = { set.seed(17); printed(contrast(e, "consec")) },
    pairs_mvt = { set.seed(17); emm_frame(summary(pairs(e, adjust = "mvt"))) }
  )
}

emm <- list(
  emm_case("machines", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "Machines", "~ Machine"),
  emm_case("machines-sum", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "Machines", "~ Machine", contrasts = list(Machine = "contr.sum")),
  emm_case("cake-by", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake", "~ temperature | recipe"),
  emm_case("cake-averaged", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake", "~ recipe"),
  emm_case("oats-factorial", "yield ~ Variety * N + (1 | Block) + (1 | Block:Variety)", "Oats", "~ Variety * N"),
  emm_case("oats-variety", "yield ~ Variety * N + (1 | Block) + (1 | Block:Variety)", "Oats", "~ Variety"),
  emm_case("sleep-covariate", "Reaction ~ Days * phase + (Days | Subject)", "sleepstudy", "~ phase"),
  emm_case("cake-lm", "angle ~ recipe * temperature", "cake", "~ temperature", model = "lm")
)
machines_fit <- lmerTest::lmer(score ~ Machine + (1 | Worker) + (1 | Worker:Machine), data = machines)
custom <- contrast(emmeans(machines_fit, ~ Machine, lmer.df = "satterthwaite"), list(AvsBC = c(1, -0.5, -0.5), BvsC = c(0, 1, -1)))

tukey_points <- expand.grid(q = c(0.5, 1, 2.2, 3.5, 5.17, 8), nmeans = c(2, 3, 5, 10), df = c(2.5, 10, 42, 150, 1000, 30000))
tukey <- list(q = tukey_points$q, nmeans = tukey_points$nmeans, df = tukey_points$df,
              p = ptukey(tukey_points$q, tukey_points$nmeans, tukey_points$df),
              upper = ptukey(tukey_points$q, tukey_points$nmeans, tukey_points$df, lower.tail = FALSE),
              q95 = qtukey(0.95, tukey_points$nmeans, tukey_points$df))

# ---- 3. Nakagawa's R2 and the ICC --------------------------------------------------------------

penicillin <- csv("Penicillin")
penicillin$plate <- factor(penicillin$plate)
penicillin$sample <- factor(penicillin$sample)
datasets$Penicillin <- penicillin

r2_case <- function(name, formula, data, REML = TRUE) {
  fit <- lme4::lmer(as.formula(formula), data = datasets[[data]], REML = REML)
  v <- insight::get_variance(fit)
  r <- r2_nakagawa(fit, tolerance = 0)
  i <- icc(fit, tolerance = 0)
  list(name = name, formula = formula, data = data, REML = REML,
       var_fixed = v$var.fixed, var_random = v$var.random, var_residual = v$var.residual,
       r2_conditional = unname(r$R2_conditional), r2_marginal = unname(r$R2_marginal),
       icc_adjusted = i$ICC_adjusted, icc_unadjusted = i$ICC_unadjusted,
       r2_text = I(sub(" +$", "", capture.output(print(r)))), icc_text = I(sub(" +$", "", capture.output(print(i)))))
}

r2s <- list(
  r2_case("sleepstudy", "Reaction ~ Days + (Days | Subject)", "sleepstudy"),
  r2_case("machines", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "Machines"),
  r2_case("cake", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake", REML = FALSE),
  r2_case("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin"),
  r2_case("oats", "yield ~ Variety * N + (1 | Block) + (1 | Block:Variety)", "Oats")
)

# ---- 4. Kenward-Roger ------------------------------------------------------------------------------

kr_case <- function(name, formula, data, specs = NULL) {
  fit <- lmerTest::lmer(as.formula(formula), data = datasets[[data]])
  s <- coef(summary(fit, ddf = "Kenward-Roger"))
  a3 <- anova(fit, type = 3, ddf = "Kenward-Roger")
  a1 <- anova(fit, type = 1, ddf = "Kenward-Roger")
  anova_list <- function(a) list(term = I(rownames(a)), sumSq = I(a[["Sum Sq"]]), meanSq = I(a[["Mean Sq"]]), numDF = I(a$NumDF),
                                 denDF = I(a$DenDF), F = I(a[["F value"]]), p = I(a[["Pr(>F)"]]))
  out <- list(name = name, formula = formula, data = data, specs = specs,
              vcov_adjusted = I(as.vector(as.matrix(vcovAdj(fit)))),
              term = I(rownames(s)), se = I(unname(s[, "Std. Error"])), df = I(unname(s[, "df"])), p = I(unname(s[, "Pr(>|t|)"])),
              anova_type3 = anova_list(a3), anova_type1 = anova_list(a1))
  if (!is.null(specs)) {
    e <- emmeans(fit, as.formula(specs), lmer.df = "kenward-roger")
    out$emmeans <- emm_frame(summary(e))
    out$pairs <- emm_frame(summary(pairs(e)))
  }
  timing <- system.time(vcovAdj(fit))[["elapsed"]]
  out$pbkrtest_seconds <- timing
  out
}

krs <- list(
  kr_case("sleepstudy", "Reaction ~ Days + (Days | Subject)", "sleepstudy"),
  kr_case("machines", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "Machines", "~ Machine"),
  kr_case("oats", "yield ~ Variety * N + (1 | Block) + (1 | Block:Variety)", "Oats", "~ N"),
  kr_case("sleep-phase", "Reaction ~ Days * phase + (Days | Subject)", "sleepstudy", "~ phase"),
  kr_case("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin")
)

out <- list(
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest")),
                  emmeans = as.character(packageVersion("emmeans")), performance = as.character(packageVersion("performance")),
                  insight = as.character(packageVersion("insight")), pbkrtest = as.character(packageVersion("pbkrtest"))),
  codings = codings, lm_coding = lm_coding,
  emm = emm, emm_custom = emm_frame(summary(custom)), tukey = tukey,
  r2 = r2s, kenward_roger = krs
)
write_json(out, file.path(fixtures, "r-extensions.json"), digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE)
