"""Tests for the derived disease terminology and the script that rebuilds it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from clinic_env.content import content_path
from clinic_env.errors import ContentError
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.matcher_table import SynonymTable
from clinic_env.language.terminology import (
    BUNDLED_TERMINOLOGY,
    Concept,
    Terminology,
    load_terminology,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_bundled_table_is_compact_licensed_and_linked() -> None:
    path = content_path(*BUNDLED_TERMINOLOGY)
    assert path.stat().st_size < 1_000_000
    table = load_terminology()
    assert table.licence.startswith("CC0")
    assert "Human Disease Ontology" in table.source
    assert 2000 < len(table.concepts) < 20000
    names = {c.names[0]: i for i, c in enumerate(table.concepts)}
    assert names["tuberculosis"] in table.concepts[names["pulmonary tuberculosis"]].parents
    assert names["tuberculosis"] in table.ancestors(names["pulmonary tuberculosis"])
    assert table.organisms["human parvovirus b19"] == names["erythema infectiosum"]


def test_the_terminology_is_not_read_at_import() -> None:
    code = (
        "import sys, clinic_env.language.matcher, clinic_env.evaluators.scoring;"
        "from clinic_env.language import terminology;"
        "assert terminology._bundled.cache_info().currsize == 0"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_bad_terminology_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "terms.json"
    bad.write_text(
        json.dumps({"source": "x", "licence": "y", "concepts": [{"names": ["a"], "parents": [5]}]})
    )
    with pytest.raises(ContentError, match=r"terms\.json"):
        load_terminology(bad)
    bad.write_text("{")
    with pytest.raises(ContentError, match="not JSON"):
        load_terminology(bad)


def test_the_hand_table_stays_authoritative_over_the_terminology() -> None:
    table = SynonymTable(synonyms=(("widget fever", "WF"), ("gadget fever", "GF")))
    terminology = Terminology(
        source="test",
        licence="CC0",
        concepts=(
            Concept(names=("widget fever", "gadget fever", "sprocket fever")),
            Concept(names=("cog fever", "cog pox")),
            Concept(names=("red cog fever",), parents=(1,)),
        ),
        organisms={"cogbacter rubrum": 2},
    )
    matcher = DiagnosisMatcher(table, terminology)
    assert not matcher.matches("WF", "GF")
    assert matcher.matches("Cog pox", "Cog fever")
    assert matcher.matches("Cogbacter rubrum infection", "Red cog fever")
    assert matcher.verdict("Red cog fever", "Cog fever").value == "same"
    assert not matcher.matches("Cog fever", "Red cog fever")


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_terminology", ROOT / "scripts" / "build_terminology.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_OBO = """format-version: 1.2

[Term]
id: DOID:1
name: disease

[Term]
id: DOID:2
name: widget pox
def: "A viral disease that has_material_basis_in Widgetvirus alpha, which is spread by cogs." []
synonym: "sprocket disease" EXACT []
synonym: "WP" EXACT []
synonym: "XQ" EXACT []
synonym: "chronic widget pox" EXACT []
synonym: "cog fever" EXACT []
synonym: "gear rash" RELATED []
is_a: DOID:1 ! disease

[Term]
id: DOID:3
name: cog fever
is_a: DOID:1 ! disease

[Term]
id: DOID:4
name: old thing
is_obsolete: true
"""

_TREE = """id\tlabel\tsubClassOf
"DOID:2"\t"widget pox"\t"disease"
"DOID:3"\t"cog fever"\t"disease"
"DOID:5"\t"severe widget pox"\t"widget pox"
"""


def test_the_build_script_keeps_only_safe_synonyms(tmp_path: Path) -> None:
    repo = tmp_path / "do"
    (repo / "src" / "ontology").mkdir(parents=True)
    (repo / "DOreports").mkdir()
    (repo / "src" / "ontology" / "doid.obo").write_text(_OBO)
    (repo / "DOreports" / "HumanDO.tsv").write_text(_TREE)
    out = tmp_path / "terms.json"
    assert _build_script().main([str(repo), "--out", str(out), "--commit", "abc"]) == 0
    table = load_terminology(out)
    assert "abc" in table.source and table.licence.startswith("CC0")
    by_name = {c.names[0]: c for c in table.concepts}
    assert "old thing" not in by_name
    pox = by_name["widget pox"]
    # kept: an exact synonym and an abbreviation that spells the initials; dropped: an
    # abbreviation that does not, a narrower merged name, another concept's name, RELATED
    assert set(pox.names) == {"widget pox", "sprocket disease", "WP"}
    names = [c.names[0] for c in table.concepts]
    assert by_name["severe widget pox"].parents == (names.index("widget pox"),)
    assert table.organisms == {"widgetvirus alpha": names.index("widget pox")}


def test_an_older_release_fills_in_synonyms_the_current_files_lack(tmp_path: Path) -> None:
    repo = tmp_path / "do"
    (repo / "src" / "ontology").mkdir(parents=True)
    (repo / "DOreports").mkdir()
    (repo / "src" / "ontology" / "doid.obo").write_text(_OBO)
    tree = _TREE + '"DOID:6"\t"gear rot"\t"disease"\n'
    (repo / "DOreports" / "HumanDO.tsv").write_text(tree)
    older = tmp_path / "old.obo"
    older.write_text(
        '[Term]\nid: DOID:6\nname: gear rot\nsynonym: "cog blight" EXACT []\n'
        'synonym: "cog mildew" RELATED []\n\n'
        '[Term]\nid: DOID:2\nname: widget pox\nsynonym: "spanner pox" EXACT []\n\n'
        '[Term]\nid: DOID:9\nname: gone disease\nsynonym: "vanished" EXACT []\n'
    )
    out = tmp_path / "terms.json"
    argv = [str(repo), "--out", str(out), "--commit", "abc", "--older-obo", str(older)]
    assert _build_script().main(argv) == 0
    by_name = {c.names[0]: c for c in load_terminology(out).concepts}
    # only a disease the current files do not describe, only EXACT, only one still in the tree
    assert by_name["gear rot"].names == ("gear rot", "cog blight")
    assert "spanner pox" not in by_name["widget pox"].names
    assert "gone disease" not in by_name


@pytest.mark.parametrize(
    ("term", "title", "placed", "kept"),
    [
        ("Acute infective polyneuritis", "Guillain-Barre syndrome", False, True),
        ("Miller Fisher Syndrome", "Guillain-Barre syndrome", True, False),
        ("Panic attack", "Panic disorder", False, False),
        ("Polycystic ovary", "Polycystic ovarian syndrome", False, False),
        ("Adrenocortical crisis", "Addisonian crisis", False, True),
    ],
)
def test_an_inclusion_term_names_its_title_only_when_it_is_the_disease(
    term: str, title: str, placed: bool, kept: bool
) -> None:
    assert _build_script()._names_the_title(term, title, placed) is kept
