# Shared by the reference scripts (run from the repository root): datasets written to and read back
# from test/fixtures the way neurolmm reads CSV files.

invisible(Sys.setlocale("LC_COLLATE", "C"))
fixtures <- file.path("test", "fixtures")
if (!dir.exists(fixtures)) stop("run from the repository root (test/fixtures not found)")

# Plain data.frame with every factor (ordered or not) as character, so write.csv quotes it.
plain <- function(d) {
  d <- as.data.frame(d)
  attributes(d)[setdiff(names(attributes(d)), c("names", "row.names", "class"))] <- NULL
  class(d) <- "data.frame"
  for (nm in names(d)) if (is.factor(d[[nm]])) d[[nm]] <- as.character(d[[nm]])
  d
}

export_csv <- function(d, name) {
  write.csv(plain(d), file.path(fixtures, paste0(name, ".csv")), row.names = FALSE)
}

# neurolmm's level order: numeric when every label is a number, else code-point order
as_engine_factor <- function(x) {
  u <- unique(x[!is.na(x)])
  num <- suppressWarnings(as.numeric(u))
  lev <- if (!anyNA(num)) u[order(num, u, method = "radix")] else sort(u, method = "radix")
  factor(x, levels = lev)
}

read_fixture <- function(name) {
  file <- file.path(fixtures, paste0(name, ".csv"))
  header <- readLines(file, n = 1)
  cols <- gsub('"', "", strsplit(header, ",")[[1]])
  first <- strsplit(readLines(file, n = 2)[2], ",")[[1]]
  quoted <- cols[startsWith(first, '"')]
  d <- read.csv(file, colClasses = setNames(rep("character", length(quoted)), quoted))
  for (nm in quoted) d[[nm]] <- as_engine_factor(d[[nm]])
  d
}
