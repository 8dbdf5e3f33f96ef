# broom / broom.mixed references for neurolmm's tidy(), glance() and augment().
#
# Run from the repository root:  Rscript test/reference/make-broom.R
# (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, broom 1.0.3, broom.mixed 0.2.9.4, jsonlite; Debian:
# r-cran-lmertest r-cran-broom r-cran-broom.mixed r-cran-jsonlite). The tests only read what this
# writes (test/fixtures/broom-references.json); R is not needed to run them.
#
# The data are the package's own CSV files (src/datasets), read as neurolmm reads them: quoted
# columns are factors with levels in numeric order when every label is a number (so nlme's ordered
# Worker becomes a plain factor), else in code-point order. Mixed models are lmerTest fits, so
# tidy() has Satterthwaite df and p-values and t-based intervals, as neurolmm's tidy().

suppressMessages({
  library(lmerTest)
  library(broom)
  library(broom.mixed)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
datasets <- file.path("src", "datasets")
if (!dir.exists(datasets)) stop("run from the repository root (src/datasets not found)")

engine_factor <- function(x) {
  u <- unique(x[!is.na(x)])
  num <- suppressWarnings(as.numeric(u))
  factor(x, levels = if (!anyNA(num)) u[order(num)] else sort(u, method = "radix"))
}

read_dataset <- function(name) {
  file <- file.path(datasets, paste0(name, ".csv"))
  cols <- gsub('"', "", strsplit(readLines(file, n = 1), ",")[[1]])
  quoted <- cols[startsWith(strsplit(readLines(file, n = 2)[2], ",")[[1]], '"')]
  d <- read.csv(file, colClasses = setNames(rep("character", length(quoted)), quoted))
  for (nm in quoted) d[[nm]] <- engine_factor(d[[nm]])
  d
}

sleepstudy <- read_dataset("sleepstudy")
Pixel <- read_dataset("Pixel")
Machines <- read_dataset("Machines")

# A data frame as columns; factors as their labels, NA as null.
columns <- function(d) {
  d <- as.data.frame(d)
  lapply(setNames(names(d), names(d)), function(nm) if (is.factor(d[[nm]])) as.character(d[[nm]]) else d[[nm]])
}

mixed <- function(formula, data, REML = TRUE) {
  fit <- lmer(as.formula(formula), data = data, REML = REML)
  list(
    formula = formula,
    REML = REML,
    tidy = columns(tidy(fit, conf.int = TRUE)),
    ran_vals = columns(tidy(fit, effects = "ran_vals", conf.int = TRUE)),
    ran_coefs = columns(tidy(fit, effects = "ran_coefs")),
    glance = columns(glance(fit)),
    augment = columns(augment(fit))
  )
}

linear <- function(formula, data) {
  fit <- lm(as.formula(formula), data = data)
  list(
    formula = formula,
    tidy = columns(tidy(fit, conf.int = TRUE)),
    glance = columns(glance(fit)),
    augment = columns(augment(fit))
  )
}

references <- list(
  versions = list(
    R = as.character(getRversion()),
    lme4 = as.character(packageVersion("lme4")),
    lmerTest = as.character(packageVersion("lmerTest")),
    broom = as.character(packageVersion("broom")),
    broom.mixed = as.character(packageVersion("broom.mixed"))
  ),
  mixed = list(
    sleepstudy = mixed("Reaction ~ Days + (Days | Subject)", sleepstudy),
    sleepstudy_ml = mixed("Reaction ~ Days + (Days | Subject)", sleepstudy, REML = FALSE),
    sleepstudy_uncorrelated = mixed("Reaction ~ Days + (Days || Subject)", sleepstudy),
    pixel_nested = mixed("pixel ~ day + I(day^2) + (day | Dog) + (1 | Dog:Side)", Pixel),
    machines_nested = mixed("score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", Machines)
  ),
  linear = list(
    sleepstudy = linear("Reaction ~ Days", sleepstudy),
    machines = linear("score ~ Machine", Machines)
  )
)

writeLines(toJSON(references, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           file.path("test", "fixtures", "broom-references.json"))
