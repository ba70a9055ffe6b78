"""Reference values from R package MendelianRandomization (version 0.9.0), documented example "lipids ->
coronary heart disease" (28 uncorrelated variants).

Source of the printed outputs: the package's vignette "Univariable estimation methods"
(github.com/sb452/MendelianRandomizationVignette, articles/Univariable_MR_Methods.html, pkgdown build of
vignettes/Univariable_MR_Methods.Rmd), calls ``mr_ivw``, ``mr_egger``, ``mr_median`` and ``mr_mbe`` on
``mr_input(bx = ldlc, bxse = ldlcse, by = chdlodds, byse = chdloddsse)`` with default options.
The values are as printed by R, i.e. rounded to the printed digits; tests compare to within half a unit of the
last printed digit. (Full-precision references for the 1e-6 comparison asked by issue #3 need R output saved to
``shared/validation/``, which this workplace does not have yet.)

Input data: the ``ldlc``, ``ldlcse``, ``chdlodds``, ``chdloddsse`` vectors shipped with MendelianRandomization
(Waterworth DM et al. 2010, Arterioscler Thromb Vasc Biol 30:2264-2276), published facts; the first six rows agree
with the vignette's printed ``MRInputObject``.
"""

ldlc = [0.026, -0.044, -0.038, -0.023, -0.017, -0.031, -0.018, 0.046, 0.059, 0.004, 0.011, -0.005, 0.004, 0.022,
        -0.005, -0.002, -0.002, 0.004, 0.011, 0.009, -0.011, -0.003, -0.012, 0.0003, -0.015, -0.008, 0.009, -0.036]
ldlcse = [0.004, 0.004, 0.004, 0.003, 0.003, 0.006, 0.004, 0.007, 0.004, 0.003, 0.004, 0.005, 0.005, 0.005, 0.004,
          0.004, 0.003, 0.004, 0.004, 0.003, 0.004, 0.003, 0.004, 0.003, 0.003, 0.004, 0.003, 0.007]
chdlodds = [0.0677, -0.1625, -0.1054, -0.0619, -0.0834, -0.1278, -0.0408, 0.077, 0.157, -0.0305, 0.01, 0.1823,
            -0.0408, 0.1989, 0.01, 0.0488, 0.01, -0.0408, -0.0305, -0.0408, -0.0202, -0.0619, 0.0296, 0.0677,
            -0.0726, -0.0726, 0.0, 0.0198]
chdloddsse = [0.0286, 0.03, 0.031, 0.0243, 0.0222, 0.0667, 0.0373, 0.0543, 0.0306, 0.0236, 0.0277, 0.0403, 0.0344,
              0.0335, 0.0378, 0.0292, 0.0253, 0.0319, 0.0316, 0.0241, 0.0285, 0.0217, 0.0298, 0.0239, 0.022,
              0.0246, 0.0255, 0.0647]

# mr_ivw(): "Inverse-variance weighted method (variants uncorrelated, random-effect model)"
IVW = {"estimate": (2.834, 3), "se": (0.530, 3), "ci_low": (1.796, 3), "ci_high": (3.873, 3),
       "residual_se": (1.920, 3), "Q": (99.5304, 4), "Q_df": 27, "I2_percent": (72.9, 1), "F": (28.0, 1)}
# mr_egger(): "MR-Egger method (variants uncorrelated, random-effect model)"
EGGER = {"estimate": (3.253, 3), "se": (0.770, 3), "ci_low": (1.743, 3), "ci_high": (4.762, 3),
         "intercept": (-0.011, 3), "intercept_se": (0.015, 3), "intercept_ci_low": (-0.041, 3),
         "intercept_ci_high": (0.018, 3), "intercept_p": (0.451, 3), "residual_se": (1.935, 3),
         "Q_rucker": (97.3975, 4), "Q_rucker_df": 26, "I2_GX_percent": (91.9, 1)}
# mr_median(weighting = "weighted", iterations = 10000, seed = 314159265)
WEIGHTED_MEDIAN = {"estimate": (2.683, 3), "se": (0.419, 3)}
# mr_median(weighting = "simple")
SIMPLE_MEDIAN = {"estimate": (1.755, 3), "se": (0.740, 3)}
# mr_mbe(): "Mode-based method of Hartwig et al (weighted, delta standard errors, bandwidth factor = 1)"
MBE = {"estimate": (2.946, 3)}
