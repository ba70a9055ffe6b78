"""Synthetic twins of the access-controlled cohorts, written in the real extracts' layout.

- :mod:`.ukb`: UK Biobank imaging genetics (study W), planted MR effects calibrated to the published z's.
- :mod:`.whitehall`: Whitehall II IL-6 and GHQ-30 (study V), planted risk ratios of symptom resolution.
"""

#: The cohorts' names for people, by the short names of parameters (``-p ukb.extract=``) and caches.
COHORTS = {"ukb": "UK Biobank", "whitehall": "Whitehall II"}
