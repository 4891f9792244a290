"""Language identification of short chat lines (the chatterbot-corpus package): macro F1.

chatterbot-corpus ships dialogue lines in many languages as YAML files; this
keeps ten languages written in the Latin alphabet, so the script alone does not
give the answer away.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from .common import rng, shuffled, stratified_split, stratified_usage, write_prediction_files

SLUG = "language-id"
LANGUAGES = ["dutch", "english", "french", "german", "indonesian", "italian", "portuguese", "spanish",
             "swedish", "turkish"]
SKIPPED_TOPICS = {"coding"}  # program code, not language
MAX_PER_LANGUAGE = 1000


def _corpus_dir() -> Path:
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install chatterbot-corpus (the 'datasets' extra) to build language-id")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _lines(folder: Path) -> set[str]:
    import yaml

    found = set()
    for path in sorted(folder.glob("*.yml")):
        if path.stem in SKIPPED_TOPICS:
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in document.get("conversations") or []:
            for line in conversation:
                if isinstance(line, str):
                    text = " ".join(line.split())
                    if len(text) >= 3:
                        found.add(text)
    return found


def build(out: Path) -> None:
    root = _corpus_dir()
    by_language = {lang: _lines(root / lang) for lang in LANGUAGES}
    seen: dict[str, int] = {}
    for lines in by_language.values():
        for text in lines:
            seen[text] = seen.get(text, 0) + 1
    rows = []
    for k, lang in enumerate(LANGUAGES):
        # A line found in two languages ("OK", "Python") has no single right answer.
        lines = sorted(t for t in by_language[lang] if seen[t] == 1)
        if len(lines) > MAX_PER_LANGUAGE:
            picked = rng(100 + k).choice(len(lines), MAX_PER_LANGUAGE, replace=False)
            lines = [lines[i] for i in sorted(picked)]
        rows += [(text, lang) for text in lines]
    frame = shuffled(pd.DataFrame(rows, columns=["text", "language"]), seed=101)
    frame.insert(0, "id", range(1, len(frame) + 1))
    train_rows, test_rows = stratified_split(frame["language"], 0.4, seed=102)
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    solution = test[["id", "language"]].copy()
    solution["Usage"] = stratified_usage(solution["language"], 0.5, seed=103)
    sample = pd.DataFrame({"id": test["id"], "language": "english"})
    write_prediction_files(out, train, test.drop(columns="language"), solution, sample)
