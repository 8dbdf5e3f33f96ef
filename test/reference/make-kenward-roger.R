# Kenward-Roger on a mid-size crossed design (issue 17): pbkrtest's vcovAdj and lmerTest's
# Kenward-Roger coefficient table and anova on 1,728 simulated observations, 48 subjects x 36
# items, a random slope on each factor (so the sparse code's first term and its tail are both
# vector-valued), and how long pbkrtest took.
#
# Run from the repository root:  Rscript test/reference/make-kenward-roger.R
# (Debian: r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-jsonlite). Writes
# test/fixtures/kr-crossed.csv (the data) and test/fixtures/kenward-roger-crossed.json.
# pbkrtest forms n x n matrices: this takes a few minutes.

suppressMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})
source(file.path("test", "reference", "fixture-helpers.R"))

set.seed(17)
subjects <- sprintf("s%02d", 1:48)
items <- sprintf("i%02d", 1:36)
d <- expand.grid(item = items, subject = subjects, stringsAsFactors = FALSE)[, c("subject", "item")]
# each subject sees half the items in condition b, counterbalanced
d$cond <- ifelse((match(d$subject, subjects) + match(d$item, items)) %% 2 == 0, "a", "b")
d$x <- round(rnorm(nrow(d)), 3)
si <- match(d$subject, subjects)
ii <- match(d$item, items)
u0 <- rnorm(48, sd = 2); u1 <- rnorm(48, sd = 0.7)
w0 <- rnorm(36, sd = 1.5); w1 <- rnorm(36, sd = 0.8)
b <- d$cond == "b"
d$y <- round(10 + 0.5 * b + 0.3 * d$x + u0[si] + u1[si] * d$x + w0[ii] + w1[ii] * b + rnorm(nrow(d), sd = 2), 3)
export_csv(d, "kr-crossed")

d <- read.csv(file.path(fixtures, "kr-crossed.csv"), stringsAsFactors = TRUE)
formula <- "y ~ cond * x + (1 + x | subject) + (1 + cond | item)"
fit <- lmerTest::lmer(as.formula(formula), data = d)
seconds <- system.time(vcov_adjusted <- vcovAdj(fit))[["elapsed"]]
s <- coef(summary(fit, ddf = "Kenward-Roger"))
anova_list <- function(a) list(term = I(rownames(a)), numDF = I(a$NumDF), denDF = I(a$DenDF), F = I(a[["F value"]]), p = I(a[["Pr(>F)"]]))
out <- list(
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest")),
                  pbkrtest = as.character(packageVersion("pbkrtest"))),
  formula = formula, nobs = nrow(d), theta = unname(getME(fit, "theta")), singular = isSingular(fit),
  vcov_adjusted = as.vector(as.matrix(vcov_adjusted)),
  term = I(rownames(s)), se = I(unname(s[, "Std. Error"])), df = I(unname(s[, "df"])), p = I(unname(s[, "Pr(>|t|)"])),
  anova_type3 = anova_list(anova(fit, type = 3, ddf = "Kenward-Roger")),
  pbkrtest_seconds = seconds
)
write_json(out, file.path(fixtures, "kenward-roger-crossed.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
