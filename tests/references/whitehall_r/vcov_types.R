# Reference cluster-robust SEs of every sandwich type for tests/test_cohort.py::test_cluster_vcov_types_equal_r.
# Produced by:  Rscript tests/references/whitehall_r/vcov_types.R   (run from the repository root)
# R 4.2.2 (Debian bookworm r-base-core), sandwich 3.0-2 (r-cran-sandwich).
# Input : tests/references/whitehall_r/obs_sample.csv (person-observations of a Whitehall twin, n = 3000, seed 11)
# Output: tests/references/whitehall_r/vcov_types.csv (model x type x term: estimate, SE)
# Types: HC0 (R's default for a glm), HC1, HC2 (Kauermann-Carroll), HC3 (Mancl-DeRouen); cadjust = TRUE (default).
suppressPackageStartupMessages(library(sandwich))
d <- read.csv("tests/references/whitehall_r/obs_sample.csv")
d$age <- d$age - 55
d <- d[order(d$stno, d$phase), ]
r <- d[!is.na(d$low_prev) & d$low == d$low_prev, ]
r$repeated_low <- r$low
fits <- list(
  agesex = glm(resolved ~ low + age + female, family = poisson(link = "log"), data = d,
               control = glm.control(epsilon = 1e-14, maxit = 100)),
  repeated = glm(resolved ~ repeated_low + age + female, family = poisson(link = "log"), data = r,
                 control = glm.control(epsilon = 1e-14, maxit = 100)))
out <- list()
for (m in names(fits)) {
  g <- fits[[m]]
  for (type in c("HC0", "HC1", "HC2", "HC3")) {
    V <- vcovCL(g, cluster = ~stno, type = type)
    out[[length(out) + 1]] <- data.frame(model = m, type = type, term = names(coef(g)), estimate = unname(coef(g)),
                                         se = unname(sqrt(diag(V))), row.names = NULL)
  }
}
res <- do.call(rbind, out)
write.csv(res, "tests/references/whitehall_r/vcov_types.csv", row.names = FALSE)
print(format(res, digits = 12))
