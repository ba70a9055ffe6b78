# Reference risk ratios for tests/test_cohort.py, computed with R on a stored twin sample.
# Produced by:  Rscript tests/references/whitehall_r/reference.R   (run from the repository root)
# R 4.2.2 (Debian bookworm r-base-core), sandwich 3.0-2 (r-cran-sandwich), geepack 1.3.9 (r-cran-geepack).
# Input : tests/references/whitehall_r/obs_sample.csv  (person-observations of a Whitehall twin, n = 3000, seed 11,
#         written by il6repro.cohort.person_observations and sorted by stno, phase)
# Output: tests/references/whitehall_r/reference.csv   (one row per model x term: estimate, robust SE)
# Both fits are run to tight convergence (glm epsilon 1e-14; geese epsilon 1e-12): the packages' defaults
# (1e-8 on the deviance; 1e-4 on the coefficients) leave differences of 1e-6 to 1e-4 in the last digits.
suppressPackageStartupMessages({library(sandwich); library(geepack)})
d <- read.csv("tests/references/whitehall_r/obs_sample.csv")
d$age <- d$age - 55
d <- d[order(d$stno, d$phase), ]
out <- list()
add <- function(model, fit, V) {
  b <- coef(fit)
  out[[length(out) + 1]] <<- data.frame(model = model, term = names(b), estimate = unname(b),
                                         se = unname(sqrt(diag(as.matrix(V)))), row.names = NULL)
}
f_as <- resolved ~ low + age + female
f_full <- resolved ~ low + age + female + grade_2 + grade_3 + smoke + bmi + chronic + meds
for (nm in c("agesex", "full")) {
  f <- if (nm == "agesex") f_as else f_full
  dd <- d[complete.cases(d[, all.vars(f)]), ]
  g <- glm(f, family = poisson(link = "log"), data = dd, control = glm.control(epsilon = 1e-14, maxit = 100))
  add(paste0("poisson_", nm), g, vcovCL(g, cluster = ~stno, type = "HC1"))
  e <- geeglm(f, family = poisson(link = "log"), data = dd, id = stno, corstr = "exchangeable",
              control = geese.control(epsilon = 1e-12, maxit = 200))  # default epsilon 1e-4 stops early
  add(paste0("gee_", nm), e, e$geese$vbeta)
}
r <- d[!is.na(d$low_prev) & d$low == d$low_prev, ]
r$repeated_low <- r$low
g <- glm(resolved ~ repeated_low + age + female, family = poisson(link = "log"), data = r,
         control = glm.control(epsilon = 1e-14, maxit = 100))
add("poisson_repeated", g, vcovCL(g, cluster = ~stno, type = "HC1"))
res <- do.call(rbind, out)
write.csv(res, "tests/references/whitehall_r/reference.csv", row.names = FALSE)
print(format(res, digits = 12))
