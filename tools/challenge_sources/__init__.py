"""Data sources of the shipped practice challenges, one module each.

Every module defines ``SLUG`` and ``build(out: Path) -> None``, which writes
the challenge's data files (never its hand-written challenge.yaml,
description.md or baseline) into ``out`` from installed packages, with fixed
seeds, so that running the builder twice yields identical bytes.
"""

from . import (airline_forecast, cartpole, diabetes_code, diamonds, digits, language_id, penguins,
               penguins_accuracy, titanic, tumour_auc, wage_panel, wine_clusters)

SOURCES = [diamonds, titanic, tumour_auc, penguins, penguins_accuracy, digits, language_id, wine_clusters,
           airline_forecast, wage_panel, diabetes_code, cartpole]
