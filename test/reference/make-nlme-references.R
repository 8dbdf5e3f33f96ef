# Reference results for neurolmm's nlme-style fits (lme()/gls() with variance functions and
# residual correlation structures).
#
# Run from the repository root:  Rscript test/reference/make-nlme-references.R
# (R 4.2, nlme 3.1-162, jsonlite, numDeriv; Debian: r-cran-nlme r-cran-jsonlite r-cran-numderiv). The tests only read what
# this writes; R is not needed to run them.
#
# Writes into test/fixtures/:
#   Ovary.csv, BodyWeight.csv   nlme's datasets (Orthodont.csv is written by make-references.R)
#   arma_sim.csv                simulated repeated measures with ARMA(1,1) errors and gaps in time
#   nlme-fits.json              per fit: coefficients with df, logLik/AIC/BIC, sigma, random-effects
#                               SDs, structure parameters, intervals() (nlme's, and the same with
#                               the exact Hessian: see exact_intervals), anova() (sequential and
#                               marginal), residuals (response, pearson, normalized), fitted values,
#                               predictions, the printed summary; likelihood-ratio anova tables
#
# Every fit uses the data as read back from its CSV, as neurolmm reads it (see fixture-helpers.R),
# so grouping factors are plain factors in numeric or code-point order.

suppressMessages({
  library(nlme)
  library(jsonlite)
  library(numDeriv)
})
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
Oats <- read_fixture("Oats")
BodyWeight <- read_fixture("BodyWeight")
arma_sim <- read_fixture("arma_sim")

fits <- list(
  ovary_ar1 = list(
    call = list(fn = "lme", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare")),
    fit = lme(follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time), Ovary, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare))),
  ovary_ar1_ml = list(
    call = list(fn = "lme", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare"), REML = FALSE),
    fit = lme(follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time), Ovary, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare), method = "ML")),
  ovary_plain = list(
    call = list(fn = "lme", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary"),
    fit = lme(follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time), Ovary, random = ~ 1 | Mare)),
  ovary_gls_ar1 = list(
    call = list(fn = "gls", formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare")),
    fit = gls(follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time), Ovary, correlation = corAR1(form = ~ 1 | Mare))),
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
  oats_nested_ar1 = list(
    call = list(fn = "lme", formula = "yield ~ nitro + Variety + (1 | Block/Variety)", data = "Oats",
                correlation = list(kind = "corAR1", form = "~ 1")),
    fit = lme(yield ~ nitro + Variety, Oats, random = ~ 1 | Block/Variety, correlation = corAR1())),
  bodyweight_car1 = list(
    call = list(fn = "lme", formula = "weight ~ Time * Diet + (1 | Rat)", data = "BodyWeight",
                correlation = list(kind = "corCAR1", form = "~ Time | Rat")),
    fit = lme(weight ~ Time * Diet, BodyWeight, random = ~ 1 | Rat, correlation = corCAR1(form = ~ Time | Rat))),
  sim_gls_car1 = list(
    call = list(fn = "gls", formula = "y ~ time + group", data = "arma_sim",
                correlation = list(kind = "corCAR1", form = "~ time | subject")),
    fit = gls(y ~ time + group, arma_sim, correlation = corCAR1(form = ~ time | subject))),
  orthodont_gls_symm = list(
    call = list(fn = "gls", formula = "distance ~ age * Sex", data = "Orthodont",
                correlation = list(kind = "corSymm", form = "~ 1 | Subject")),
    fit = gls(distance ~ age * Sex, Orthodont, correlation = corSymm(form = ~ 1 | Subject))),
  orthodont_varcomb = list(
    call = list(fn = "lme", formula = "distance ~ age + Sex + (1 | Subject)", data = "Orthodont",
                weights = list(kind = "varComb", components = list(list(kind = "varIdent", form = "~ 1 | Sex"),
                                                                   list(kind = "varPower", form = "~ age")))),
    fit = lme(distance ~ age + Sex, Orthodont, random = ~ 1 | Subject,
              weights = varComb(varIdent(form = ~ 1 | Sex), varPower(form = ~ age)))),
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
  Oats = data.frame(nitro = c(0.2, 0.4), Variety = factor(c("Victory", "Marvellous"), levels = levels(Oats$Variety)),
                    Block = factor(c("I", "VI"), levels = levels(Oats$Block))),
  Orthodont = data.frame(age = c(9, 13), Sex = factor(c("Male", "Female"), levels = levels(Orthodont$Sex)),
                         Subject = factor(c("M03", "F07"), levels = levels(Orthodont$Subject))),
  BodyWeight = data.frame(Time = c(10, 40), Diet = factor(c("1", "3"), levels = levels(BodyWeight$Diet)),
                          Rat = factor(c("2", "13"), levels = levels(BodyWeight$Rat))),
  arma_sim = data.frame(time = c(2, 7), group = factor(c("control", "patient"), levels = levels(arma_sim$group)),
                        subject = factor(c("s03", "s31"), levels = levels(arma_sim$subject)))
)


# nlme's intervals() for the variance parameters with the exact Hessian: nlme's apVar is the inverse
# of minus the Hessian of the log-likelihood (beta profiled) in log-SDs and Fisher's z of the
# random effects, the structures' unconstrained coefficients and log sigma, but fdHess's finite
# differences (.relStep = 6e-6) carry rounding noise of up to percents on weakly determined
# parameters. Here the log-likelihood is written out from the marginal covariance V (nlme's own
# corMatrix() and varWeights() give its residual part) and differentiated by numDeriv's Richardson
# extrapolation; the intervals are then transformed back as intervals.lme does.
exact_intervals <- function(m, group, level = 0.95) {
  is_lme <- inherits(m, "lme")
  if (is_lme && length(m$groups) > 1) return(NULL)  # written for one grouping level
  ms <- m$modelStruct
  d <- getData(m)
  N <- nrow(d)
  reml <- m$method == "REML"
  X <- model.matrix(if (is_lme) formula(m) else formula(m), d)
  y <- d[[all.vars(formula(m))[1]]]
  grp <- if (!is.null(group)) d[[group]] else factor(rep(1, N))
  ord <- order(grp)
  members <- split(seq_len(N), grp)
  re <- if (is_lme) {
    form <- formula(ms$reStruct)[[1]]
    Z <- model.matrix(form, d)
    G <- as.matrix(getVarCov(m))
    list(Z = Z, k = ncol(Z), sd = sqrt(diag(G)), cor = cov2cor(G)[lower.tri(G)])
  }
  cs <- ms$corStruct
  vs <- ms$varStruct
  ncs <- length(coef(cs))
  nvs <- length(coef(vs))
  pars <- c(if (is_lme) c(log(re$sd), log((1 + re$cor) / (1 - re$cor))),
            coef(cs), coef(vs), log(m$sigma))
  nre <- if (is_lme) re$k + length(re$cor) else 0
  residual_cov <- function(u_cs, u_vs, sigma) {
    C <- diag(N)
    if (ncs) {
      coef(cs) <- u_cs
      mats <- corMatrix(cs)
      for (g in seq_along(members)) C[members[[g]], members[[g]]] <- mats[[g]]
    }
    sdrel <- rep(1, N)
    if (nvs) {
      coef(vs) <- u_vs
      sdrel[ord] <- 1 / varWeights(vs)
    }
    sigma^2 * (sdrel %o% sdrel) * C
  }
  loglik <- function(x) {
    sigma <- exp(x[length(x)])
    V <- residual_cov(x[nre + seq_len(ncs)], x[nre + ncs + seq_len(nvs)], sigma)
    if (is_lme) {
      sd <- exp(x[seq_len(re$k)])
      R <- diag(re$k)
      R[lower.tri(R)] <- tanh(x[re$k + seq_along(re$cor)] / 2)
      R[upper.tri(R)] <- t(R)[upper.tri(R)]
      G <- (sd %o% sd) * R
      for (idx in split(seq_len(N), m$groups[[1]])) {
        Zi <- re$Z[idx, , drop = FALSE]
        V[idx, idx] <- V[idx, idx] + Zi %*% G %*% t(Zi)
      }
    }
    U <- chol(V)
    Xw <- backsolve(U, X, transpose = TRUE)
    yw <- backsolve(U, y, transpose = TRUE)
    fit <- lm.fit(Xw, yw)
    -sum(log(diag(U))) - sum(fit$residuals^2) / 2 -
      if (reml) sum(log(abs(diag(qr.R(fit$qr))))) else 0
  }
  H <- numDeriv::hessian(loglik, pars)
  se <- sqrt(diag(solve(-H)))
  z <- qnorm((1 + level) / 2)
  bounds <- cbind(lower = pars - z * se, est = pars, upper = pars + z * se)
  rows <- function(values, names) data.frame(name = names, lower = values[, 1], est = values[, 2], upper = values[, 3])
  constrained <- function(struct, idx, b) { coef(struct) <- bounds[idx, b]; coef(struct, unconstrained = FALSE) }
  out <- list(sigma = as.list(exp(bounds[nrow(bounds), ])))
  if (is_lme) {
    nm <- colnames(re$Z)
    back <- rbind(exp(bounds[seq_len(re$k), , drop = FALSE]), tanh(bounds[re$k + seq_along(re$cor), , drop = FALSE] / 2))
    pairs <- which(lower.tri(diag(re$k)), arr.ind = TRUE)
    out$reStruct <- setNames(list(rows(back, c(sprintf("sd(%s)", nm), sprintf("cor(%s,%s)", nm[pairs[, 2]], nm[pairs[, 1]])))), names(m$groups)[1])
  }
  if (ncs) {
    v <- sapply(1:3, function(b) constrained(cs, nre + seq_len(ncs), b))
    out$corStruct <- rows(matrix(v, ncol = 3), cor_names(cs))
  }
  if (nvs) {
    v <- sapply(1:3, function(b) constrained(vs, nre + ncs + seq_len(nvs), b))
    out$varStruct <- rows(matrix(v, ncol = 3), names(coef(vs, unconstrained = FALSE)))
  }
  out
}

# the constrained correlation parameters' names; corSymm's are unnamed, intervals() calls them cor(i,j)
cor_names <- function(cs) {
  nm <- names(coef(cs, unconstrained = FALSE))
  if (!is.null(nm)) return(nm)
  M <- round((1 + sqrt(1 + 8 * length(coef(cs)))) / 2)
  pairs <- which(upper.tri(diag(M)), arr.ind = TRUE)
  pairs <- pairs[order(pairs[, 1], pairs[, 2]), , drop = FALSE]
  sprintf("cor(%d,%d)", pairs[, 1], pairs[, 2])
}

describe <- function(entry) {
  m <- entry$fit
  s <- summary(m)
  tt <- s$tTable
  is_lme <- inherits(m, "lme")
  iv <- intervals(m)
  group <- if (is_lme) names(m$groups)[1] else if (!is.null(entry$call$correlation)) trimws(sub(".*\\|", "", entry$call$correlation$form))
  exact <- exact_intervals(m, group)
  newdata <- new_points[[entry$call$data]]
  out <- list(
    call = entry$call,
    coefficients = list(term = rownames(tt), estimate = unname(tt[, "Value"]), se = unname(tt[, "Std.Error"]),
                        df = if (is_lme) unname(tt[, "DF"]) else rep(m$dims$N - m$dims$p, nrow(tt)),
                        t = unname(tt[, "t-value"]), p = unname(tt[, "p-value"])),
    logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), sigma = m$sigma, nobs = m$dims$N,
    corStruct = if (!is.null(m$modelStruct$corStruct)) as.list(setNames(coef(m$modelStruct$corStruct, unconstrained = FALSE), cor_names(m$modelStruct$corStruct))),
    varStruct = if (!is.null(m$modelStruct$varStruct)) as.list(coef(m$modelStruct$varStruct, unconstrained = FALSE)),
    intervals = c(list(fixed = interval_rows(if (is_lme) iv$fixed else iv$coef)), exact),
    intervals_nlme = list(
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
