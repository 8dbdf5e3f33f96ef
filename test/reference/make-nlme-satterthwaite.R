# Reference Satterthwaite degrees of freedom for lme() fits with residual structures.
#
# Run from the repository root:  Rscript test/reference/make-nlme-satterthwaite.R
# (R 4.2, nlme 3.1-162, lme4, lmerTest, jsonlite; Debian: r-cran-nlme r-cran-lmertest r-cran-jsonlite).
# Writes test/fixtures/nlme-satterthwaite.json; the tests only read it.
#
# lmerTest's method with nlme's variance parameters: the REML (or ML) log-likelihood of an lme fit,
# beta profiled, is written out from the marginal covariance V (nlme's own corMatrix() and
# varWeights() give its residual part) as a function of varpar = (log-SDs and Fisher's z of the
# random effects, the structures' unconstrained coefficients, log sigma); its Hessian and the
# Jacobian of vcov(beta) = (X'V^-1 X)^-1 are taken by central differences written here, and a
# contrast l gets df = 2 (l'Vl)^2 / (g'Ag) with A = 2 H^-1 (H the deviance's Hessian) and
# g_i = l' dvcov/dvarpar_i l. The df do not depend on how varpar is parametrized (at the
# optimum), so neurolmm's (theta, unconstrained, sigma) give the same. Without a residual
# structure the same lmer model's lmerTest df are written beside them.

suppressMessages({
  library(nlme)
  library(lmerTest)
  library(jsonlite)
})
source(file.path("test", "reference", "fixture-helpers.R"))

Ovary <- read_fixture("Ovary")
Orthodont <- read_fixture("Orthodont")

# central differences: the Hessian of f at x (steps h * max(|x|, 1)) and the Jacobian of a vector f
hessian_cd <- function(f, x, h = 1e-4) {
  k <- length(x)
  step <- h * pmax(abs(x), 1)
  H <- matrix(0, k, k)
  f0 <- f(x)
  for (i in 1:k) for (j in 1:i) {
    ei <- replace(numeric(k), i, step[i])
    ej <- replace(numeric(k), j, step[j])
    H[i, j] <- H[j, i] <- if (i == j) (f(x + ei) - 2 * f0 + f(x - ei)) / step[i]^2 else
      (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * step[i] * step[j])
  }
  H
}
jacobian_cd <- function(f, x, h = 1e-5) {
  step <- h * pmax(abs(x), 1)
  lapply(seq_along(x), function(i) {
    e <- replace(numeric(length(x)), i, step[i])
    (f(x + e) - f(x - e)) / (2 * step[i])
  })
}

# The marginal model of an lme fit with one grouping level: varpar, deviance(varpar) and vcov(beta)(varpar).
marginal_model <- function(m) {
  ms <- m$modelStruct
  d <- getData(m)
  N <- nrow(d)
  reml <- m$method == "REML"
  X <- model.matrix(formula(m), d)
  y <- d[[all.vars(formula(m))[1]]]
  grp <- m$groups[[1]]
  ord <- order(grp)
  members <- split(seq_len(N), grp)
  Z <- model.matrix(formula(ms$reStruct)[[1]], d)
  k <- ncol(Z)
  G <- as.matrix(getVarCov(m))
  sd <- sqrt(diag(G))
  r <- cov2cor(G)[lower.tri(G)]
  cs <- ms$corStruct
  vs <- ms$varStruct
  ncs <- length(coef(cs))
  nvs <- length(coef(vs))
  nre <- k + length(r)
  pars <- c(log(sd), log((1 + r) / (1 - r)), coef(cs), coef(vs), log(m$sigma))
  V_at <- function(x) {
    sigma <- exp(x[length(x)])
    C <- diag(N)
    if (ncs) {
      coef(cs) <- x[nre + seq_len(ncs)]
      mats <- corMatrix(cs)
      for (g in seq_along(members)) C[members[[g]], members[[g]]] <- mats[[g]]
    }
    sdrel <- rep(1, N)
    if (nvs) {
      coef(vs) <- x[nre + ncs + seq_len(nvs)]
      sdrel[ord] <- 1 / varWeights(vs)
    }
    V <- sigma^2 * (sdrel %o% sdrel) * C
    R <- diag(k)
    R[lower.tri(R)] <- tanh(x[k + seq_along(r)] / 2)
    R[upper.tri(R)] <- t(R)[upper.tri(R)]
    Gx <- (exp(x[1:k]) %o% exp(x[1:k])) * R
    for (idx in members) V[idx, idx] <- V[idx, idx] + Z[idx, , drop = FALSE] %*% Gx %*% t(Z[idx, , drop = FALSE])
    V
  }
  deviance <- function(x) {
    U <- chol(V_at(x))
    Xw <- backsolve(U, X, transpose = TRUE)
    yw <- backsolve(U, y, transpose = TRUE)
    fit <- lm.fit(Xw, yw)
    2 * sum(log(diag(U))) + sum(fit$residuals^2) + if (reml) 2 * sum(log(abs(diag(qr.R(fit$qr))))) else 0
  }
  vcov_beta <- function(x) {
    U <- chol(V_at(x))
    Xw <- backsolve(U, X, transpose = TRUE)
    solve(crossprod(Xw))
  }
  list(pars = pars, deviance = deviance, vcov = vcov_beta, names = colnames(X))
}

# lmerTest's contest1D / contestMD with the marginal model's derivatives
satterthwaite <- function(m, L_rows) {
  mm <- marginal_model(m)
  A <- 2 * solve(hessian_cd(mm$deviance, mm$pars))
  V <- mm$vcov(mm$pars)
  J <- jacobian_cd(function(x) as.vector(mm$vcov(x)), mm$pars)
  J <- lapply(J, matrix, nrow = nrow(V))
  df1 <- function(l) {
    g <- sapply(J, function(Ji) sum(l * (Ji %*% l)))
    2 * sum(l * (V %*% l))^2 / sum(g * (A %*% g))
  }
  p <- nrow(V)
  coef_df <- sapply(1:p, function(j) df1(replace(numeric(p), j, 1)))
  # contestMD: eigen-directions of L V L', get_Fstat_ddf
  L <- do.call(rbind, L_rows)
  e <- eigen(L %*% V %*% t(L), symmetric = TRUE)
  PtL <- crossprod(e$vectors, L)
  nu <- apply(PtL, 1, df1)
  E <- sum(nu / (nu - 2))
  F_ddf <- if (length(nu) == 1) nu else if (all(abs(diff(nu)) < 1e-8)) mean(nu) else if (any(nu <= 2)) 2 else 2 * E / (E - length(nu))
  list(terms = mm$names, coef_df = coef_df, L = L_rows, F_ddf = F_ddf)
}

ovary_formula <- follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time)
seasonal <- list(c(0, 1, 0), c(0, 0, 1))
cases <- list(
  ovary_plain = list(
    call = list(formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary"),
    fit = lme(ovary_formula, Ovary, random = ~ 1 | Mare), L = seasonal,
    lmer = lmer(follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time) + (1 | Mare), Ovary)),
  ovary_ar1 = list(
    call = list(formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare")),
    fit = lme(ovary_formula, Ovary, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare)), L = seasonal),
  ovary_ar1_ml = list(
    call = list(formula = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)", data = "Ovary",
                correlation = list(kind = "corAR1", form = "~ 1 | Mare"), REML = FALSE),
    fit = lme(ovary_formula, Ovary, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare), method = "ML"), L = seasonal),
  orthodont_varident = list(
    call = list(formula = "distance ~ age + Sex + (1 | Subject)", data = "Orthodont",
                weights = list(kind = "varIdent", form = "~ 1 | Sex")),
    fit = lme(distance ~ age + Sex, Orthodont, random = ~ 1 | Subject, weights = varIdent(form = ~ 1 | Sex)),
    L = list(c(0, 1, 0), c(0, 0, 1))),
  orthodont_slope_varident = list(
    call = list(formula = "distance ~ age * Sex + (age | Subject)", data = "Orthodont",
                weights = list(kind = "varIdent", form = "~ 1 | Sex")),
    fit = lme(distance ~ age * Sex, Orthodont, random = ~ age | Subject, weights = varIdent(form = ~ 1 | Sex)),
    L = list(c(0, 0, 1, 0), c(0, 0, 0, 1)))
)

out <- lapply(cases, function(case) {
  s <- satterthwaite(case$fit, case$L)
  res <- c(list(call = case$call), s)
  if (!is.null(case$lmer)) res$lmerTest_df <- unname(summary(case$lmer)$coefficients[, "df"])
  res
})
out <- c(list(nlme = as.character(packageVersion("nlme")), lmerTest = as.character(packageVersion("lmerTest"))), list(fits = out))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE), file.path(fixtures, "nlme-satterthwaite.json"))
cat("wrote", file.path(fixtures, "nlme-satterthwaite.json"), "\n")
