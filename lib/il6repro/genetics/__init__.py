"""Genetics stage of study W.

- :mod:`.assoc`: every instrument x every IDP, covariate-adjusted, one vectorised pass (= statsmodels OLS);
- :mod:`.harmonise`: allele alignment with TwoSampleMR's rules, every dropped variant with its reason;
- :mod:`.mr`: the per-pair two-sample estimators, pinned to R MendelianRandomization's documented example;
- :mod:`.scan`: all exposures x all outcomes at once (the same estimators, vectorised over outcomes);
- :mod:`.onesample`: one-sample 2SLS (= linearmodels IV2SLS) and Steiger directionality.
"""

from .mr import (
                 MRResult,
                 NotApplicable,
                 cochran_q,
                 egger,
                 f_statistics,
                 ivw,
                 leave_one_out,
                 mr_all,
                 simple_median,
                 single_snp,
                 wald_ratio,
                 weighted_median,
                 weighted_mode,
)

__all__ = ["MRResult", "NotApplicable", "wald_ratio", "ivw", "egger", "weighted_median", "simple_median",
           "weighted_mode", "cochran_q", "f_statistics", "leave_one_out", "single_snp", "mr_all"]
