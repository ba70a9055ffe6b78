"""Synthetic twins of the access-controlled cohorts, written in the real extracts' layout.

- :mod:`.ukb`: UK Biobank imaging genetics (study W), planted MR effects calibrated to the published z's.
"""
