"""Genetics stage: Mendelian randomization estimators on summary statistics (:mod:`.mr`).

(Association of instruments with IDPs, harmonisation, the UK Biobank twin and one-sample 2SLS are planned with
issue #3; this package so far holds the two-sample estimator suite and its reference tests.)
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
