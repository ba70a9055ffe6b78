"""Build ``data_manifest/ukb/opengwas_map.csv``: the project's 205 UK Biobank IDPs -> OpenGWAS ``ubm-b`` ids.

Run by a maintainer (offline) after the mirrored OpenGWAS metadata or ``data_manifest/ukb/idps.csv`` changes::

    .venv/bin/python tools/build_opengwas_map.py          # writes the table, prints what could not be mapped
    .venv/bin/python tools/build_opengwas_map.py --check  # exit 1 if the committed table differs from a rebuild

The metadata (``opengwas_meta``: TwoSampleMR's ``ao`` table of OpenGWAS study records, read through the data layer
from the offline mirror) give, for each ``ubm-b`` study (Smith et al. 2021's BIG40 brain-IDP GWAS of UK Biobank),
a trait name and a note that starts with the UK Biobank field id (``UKB 25804 Volume of grey matter in Left Middle
Temporal Gyrus, posterior division``). An IDP is mapped when exactly one ``ubm-b`` record carries its field id AND
the note agrees with the IDP's description: the same measure (grey-matter volume / Desikan-Killiany mean
thickness), the same hemisphere (left, right, or neither for vermis and brain stem) and every word of the region
name. Anything else is listed as unmatched with the reason. The paper's five findings name regions, not IDPs, so
the table also marks, for each finding, every IDP of its region (``finding``) and the one the twin plants it on
(``twin_target``; ``data_manifest/ukb/twin_targets.yaml``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from il6repro.data import resolve  # noqa: E402

OUT = ROOT / "data_manifest" / "ukb" / "opengwas_map.csv"
META_FILE = "opengwas_gwasinfo_exposures_and_brain_idps.csv"
BATCH = "ubm-b"
# the paper's five findings (data_manifest/ukb/twin_targets.yaml) -> which of the project's IDPs belong to the region
FINDINGS = {
    "W.mr.il6.gmv_mtg": r"^gmv_[LR]_Middle_Temporal_Gyrus",
    "W.mr.il6.gmv_itc": r"^gmv_[LR]_Inferior_Temporal_Gyrus",
    "W.mr.il6.gmv_fusiform": r"^gmv_[LR]_.*Fusiform",
    "W.mr.il6.gmv_frontal": r"^gmv_[LR]_(Frontal|Superior_Frontal|Middle_Frontal|Inferior_Frontal)",
    "W.mr.il6.ct_superiorfrontal": r"^ct_[LR]_superiorfrontal$",
}
COLUMNS = ["idp", "field", "measure", "hemisphere", "region", "opengwas_id", "opengwas_trait", "sample_size",
           "status", "reason", "finding", "twin_target"]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("-", " "))


def _agrees(idp: pd.Series, note: str) -> str:
    """Empty string when the note describes the IDP; else why not."""
    words = set(_words(note))
    if idp["measure"] == "gmv" and not note.lower().startswith("volume of grey matter"):
        return f"field {idp['field']} is not a grey-matter volume in OpenGWAS ({note!r})"
    if idp["measure"] == "ct" and not (note.lower().startswith("mean thickness") and "desikan" in note.lower()):
        return f"field {idp['field']} is not a Desikan-Killiany mean thickness in OpenGWAS ({note!r})"
    side = {"L": "left", "R": "right"}.get(idp["hemisphere"])
    if side and side not in words:
        return f"hemisphere: the IDP is {side}, OpenGWAS says {note!r}"
    if not side and ({"left", "right"} & words):
        return f"hemisphere: the IDP is bilateral/vermis, OpenGWAS says {note!r}"
    missing = [w for w in _words(idp["region"]) if w not in words]
    if missing:
        return f"region words {missing} not in OpenGWAS's description {note!r}"
    return ""


def build(meta: pd.DataFrame, idps: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """The mapping table (one row per project IDP, mapped or not, with the reason)."""
    ubm = meta[meta["id"].astype(str).str.startswith(BATCH + "-")].copy()
    ubm["field"] = pd.to_numeric(ubm["note"].astype(str).str.extract(r"^UKB (\d+) ")[0], errors="coerce")
    twin = dict(zip(targets["idp"], targets["claim"], strict=True))
    rows = []
    for idp in idps.itertuples(index=False):
        row = {"idp": idp.idp, "field": idp.field, "measure": idp.measure, "hemisphere": idp.hemisphere,
               "region": idp.region, "opengwas_id": "", "opengwas_trait": "", "sample_size": pd.NA,
               "status": "unmatched", "reason": ""}
        hits = ubm[ubm["field"] == idp.field]
        if hits.empty:
            row["reason"] = f"no {BATCH} study has UK Biobank field {idp.field} in its note"
        elif len(hits) > 1:
            row["reason"] = f"{len(hits)} {BATCH} studies carry field {idp.field}: {', '.join(hits['id'])}"
        else:
            h = hits.iloc[0]
            why = _agrees(pd.Series(idp._asdict()), str(h["note"]).split(" ", 2)[2])
            if why:
                row["reason"] = why
            else:
                row.update(opengwas_id=h["id"], opengwas_trait=h["trait"], sample_size=int(h["sample_size"]),
                           status="mapped", reason="UKB field id in the note; measure, hemisphere and region agree")
        row["finding"] = next((c for c, rx in FINDINGS.items() if re.search(rx, idp.idp)), "")
        row["twin_target"] = twin.get(idp.idp, "") != ""
        if row["twin_target"] and row["finding"] != twin[idp.idp]:
            raise SystemExit(f"{idp.idp}: the twin plants {twin[idp.idp]} on it but FINDINGS puts it under "
                             f"{row['finding']!r}")
        rows.append(row)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["sample_size"] = out["sample_size"].astype("Int64")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed table instead of writing")
    args = ap.parse_args(argv)
    meta = pd.read_csv(resolve("opengwas_meta")[META_FILE])
    idps = pd.read_csv(ROOT / "data_manifest" / "ukb" / "idps.csv")
    targets = pd.DataFrame(yaml.safe_load((ROOT / "data_manifest" / "ukb" / "twin_targets.yaml").read_text())["targets"])
    table = build(meta, idps, targets)
    text = table.to_csv(index=False, lineterminator="\n")
    unmatched = table[table["status"] != "mapped"]
    print(f"{(table['status'] == 'mapped').sum()} of {len(table)} IDPs mapped to {BATCH}; {len(unmatched)} unmatched")
    for r in unmatched.itertuples():
        print(f"  unmatched {r.idp}: {r.reason}")
    for claim in FINDINGS:
        sub = table[table["finding"] == claim]
        tw = sub[sub["twin_target"]]
        print(f"  {claim}: {len(sub)} IDPs in the region, {int((sub['status'] == 'mapped').sum())} mapped; twin's "
              f"IDP {tw['idp'].iloc[0]} -> {tw['opengwas_id'].iloc[0] or 'UNMAPPED'}")
    if args.check:
        same = OUT.is_file() and OUT.read_text() == text
        print("committed table is up to date" if same else f"{OUT} differs from a rebuild: rerun this script")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
