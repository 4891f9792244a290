"""Organizer Markdown: formulas become MathML, bad TeX shows its source, and the sanitiser lets through
exactly the MathML the conversion writes, with no way to carry a script or a link."""

from __future__ import annotations

from pathlib import Path

import pytest

from heldout.platform.markdown import render_markdown
from heldout.platform.texmath import to_mathml

CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
DESCRIPTIONS = sorted(CHALLENGES.glob("*/description.md"))


@pytest.mark.parametrize("path", DESCRIPTIONS, ids=lambda p: p.parent.name)
def test_every_shipped_formula_is_typeset(path):
    html = str(render_markdown(path.read_text()))
    assert '<math display="block">' in html
    assert "$$" not in html
    assert "tex-source" not in html, "a shipped formula could not be typeset"


def test_display_and_inline_formulas_become_mathml():
    html = str(render_markdown("Score: $$\\frac{1}{n}\\sum_{i=1}^{n} x_i$$\n\nwhere $x_i$ is *yours*."))
    assert '<span class="math-display"><math display="block"><mrow><mfrac>' in html
    assert '<math display="inline"><mrow><msub><mi>x</mi><mi>i</mi></msub></mrow></math> is <em>yours</em>' in html


def test_underscores_in_tex_are_not_emphasis():
    html = str(render_markdown("$a_i + b_j$ and $c_k$"))
    assert "<em>" not in html
    assert html.count("<math") == 2


def test_prices_and_code_stay_as_they_are():
    html = str(render_markdown("a $18,000 stone and a $1,800 one; `$x$` in code\n\n```\n$$y$$\n```\n"))
    assert "<math" not in html
    assert "a $18,000 stone and a $1,800 one" in html
    assert "<code>$x$</code>" in html
    assert "$$y$$" in html


@pytest.mark.parametrize("tex", ["\\frac{1}{", "\\undefinedcommand{x}", "x^{"])
def test_bad_tex_shows_its_source_and_the_rest_of_the_page(tex):
    html = str(render_markdown(f"Before.\n\n$${tex}$$\n\nAfter $x$."))
    assert to_mathml(tex, display=True) is None
    assert f'<code class="tex-source" title="This formula could not be typeset">$${tex}$$</code>' in html
    assert "<p>Before.</p>" in html and "After <math" in html


def test_a_double_struck_one_is_its_own_character():
    # Chromium ignores mathvariant on digits, so \mathbb{1} would otherwise read as a plain 1.
    assert "<mn>\U0001D7D9</mn>" in to_mathml("\\mathbb{1}[y = 1]", display=False)


def test_markup_inside_a_formula_is_text():
    html = str(render_markdown("$\\text{<img src=x onerror=alert(1)><script>alert(2)</script>}$"))
    assert "<img" not in html and "<script" not in html
    assert "&lt;img" in html


@pytest.mark.parametrize("raw", [
    '<math><mi href="javascript:alert(1)">x</mi></math>',
    '<math><mi style="color:red" onclick="alert(1)" mathcolor="red">x</mi></math>',
    '<math><maction actiontype="toggle"><mi>a</mi></maction></math>',
    '<math><semantics><annotation-xml encoding="text/html"><img src=x onerror=alert(1)></annotation-xml></semantics></math>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
    '<svg><script>alert(1)</script></svg>',
])
def test_only_the_mathml_the_conversion_writes_gets_through(raw):
    html = str(render_markdown(raw))
    for banned in ("href", "style", "onclick", "onerror", "mathcolor", "maction", "annotation", "semantics",
                   "mglyph", "<img", "<svg", "<script"):
        assert banned not in html, (banned, html)
