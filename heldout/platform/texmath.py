"""``$…$`` and ``$$…$$`` in organizer Markdown, turned into MathML on the server.

Browsers draw MathML themselves (Chromium since 109, Firefox for much longer), so a formula
needs no script, no font download and no change to the Content-Security-Policy. latex2mathml
does the conversion; this module finds the formulas (outside code), hands them over, and puts
the result back after Markdown has run. A formula latex2mathml cannot read, or one with a
command it does not know, stays as its TeX source in ``<code class="tex-source">``: a typo in a
description shows the typo, never a broken page.

The MathML still goes through the sanitiser (``markdown.ALLOWED_TAGS``): ``\\text{…}`` is copied
through as it is, so a formula could carry markup of its own.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable

from latex2mathml.converter import convert

# The MathML latex2mathml writes, and the attributes that shape it (no href, no colours, no style).
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "msub", "msup", "msubsup", "munder", "mover",
    "munderover", "mfrac", "msqrt", "mroot", "mstyle", "mpadded", "mphantom", "menclose", "mtable", "mtr", "mtd",
}
_TOKEN = {"mathvariant"}
MATHML_ATTRIBUTES = {
    "math": {"display"},
    "mi": _TOKEN, "mn": _TOKEN, "mtext": _TOKEN,
    "mo": _TOKEN | {"stretchy", "fence", "separator", "form", "lspace", "rspace", "minsize", "maxsize",
                    "movablelimits", "largeop", "accent"},
    "mover": {"accent"}, "munder": {"accentunder"}, "munderover": {"accent", "accentunder"},
    "mspace": {"width", "height", "depth"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "mfrac": {"linethickness"},
    "mstyle": {"displaystyle", "scriptlevel"},
    "menclose": {"notation"},
    "mtable": {"columnalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "displaystyle"},
    "mtr": {"columnalign"}, "mtd": {"columnalign"},
}

# Code is never math: fenced blocks, then inline code spans (a run of backticks closed by the same run).
_CODE = re.compile(r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=fence)[^\n]*$|\Z)"
                   r"|(?P<ticks>`+).+?(?<!`)(?P=ticks)(?!`)", re.M | re.S)
# Display math may span lines, never a blank one. Inline math follows pandoc's rule, which keeps prices
# apart from formulas: no space just inside either dollar, no digit just after the closing one.
_DISPLAY = re.compile(r"(?<!\\)\$\$(?P<tex>(?:(?!\n\s*\n)[^$])+?)\$\$")
_INLINE = re.compile(r"(?<![\\$])\$(?![\s$])(?P<tex>(?:\\.|[^$\\\n])+?)(?<![\s\\])\$(?![$\d])")
# A command latex2mathml did not know comes out as text starting with a backslash.
_UNKNOWN_COMMAND = re.compile(r">\\[A-Za-z]")
# \text{…} is copied into <mtext> unescaped: it is text, so show its angle brackets as text.
_MTEXT = re.compile(r"(<mtext[^>]*>)(.*?)(</mtext>)", re.S)
# Chromium's MathML ignores mathvariant on digits: write a double-struck digit (\mathbb{1}) as its own character.
_DOUBLE_STRUCK_DIGIT = re.compile(r'<mn mathvariant="double-struck">([0-9])</mn>')


def to_mathml(tex: str, *, display: bool) -> str | None:
    """The MathML for one formula, or None if latex2mathml cannot read it."""
    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any failure on an organizer's TeX means "show the source"
        return None
    if _UNKNOWN_COMMAND.search(mathml):
        return None
    mathml = _MTEXT.sub(lambda m: m[1] + m[2].replace("<", "&lt;").replace(">", "&gt;") + m[3], mathml)
    return _DOUBLE_STRUCK_DIGIT.sub(lambda m: f"<mn>{chr(0x1D7D8 + int(m.group(1)))}</mn>", mathml)


def _rendered(tex: str, *, display: bool) -> str:
    mathml = to_mathml(tex, display=display)
    if mathml is not None:
        # A wide formula scrolls in its own box on a phone instead of widening the page.
        return f'<span class="math-display">{mathml}</span>' if display else mathml
    dollars = "$$" if display else "$"
    return (f'<code class="tex-source" title="This formula could not be typeset">'
            f"{html.escape(dollars + tex + dollars)}</code>")


def render_with_math(text: str, render: Callable[[str], str]) -> str:
    """``render`` (Markdown to HTML) applied to ``text``, with its formulas typeset as MathML.

    Each formula is swapped for a placeholder Markdown leaves alone, so ``_`` and ``*`` inside
    TeX are never read as emphasis, and swapped back in the HTML.
    """
    marker = f"heldoutmath{secrets.token_hex(4)}n"
    formulas: list[str] = []

    def hold(match: re.Match, *, display: bool) -> str:
        formulas.append(_rendered(match.group("tex"), display=display))
        return f"{marker}{len(formulas) - 1}x"

    def prose(part: str) -> str:
        part = _DISPLAY.sub(lambda m: hold(m, display=True), part)
        return _INLINE.sub(lambda m: hold(m, display=False), part)

    pieces, last = [], 0
    for code in _CODE.finditer(text):
        pieces += [prose(text[last:code.start()]), code.group(0)]
        last = code.end()
    pieces.append(prose(text[last:]))
    out = render("".join(pieces))
    if not formulas:
        return out
    return re.sub(re.escape(marker) + r"(\d+)x", lambda m: formulas[int(m.group(1))], out)
