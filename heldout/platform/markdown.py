"""Organizer-written Markdown, rendered and then sanitised: no script, no event handlers, no javascript: links.

Formulas (``$…$``, ``$$…$$``) become MathML first (see ``texmath``); the sanitiser lets through
exactly the MathML elements and attributes that conversion writes, and nothing else of MathML.
"""

from __future__ import annotations

import markdown as md
import nh3
from markupsafe import Markup

from heldout.platform.texmath import MATHML_ATTRIBUTES, MATHML_TAGS, render_with_math

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
} | MATHML_TAGS
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"align"}, "th": {"align"},
                      "code": {"class", "title"}, "span": {"class"}, "div": {"class"}, **MATHML_ATTRIBUTES}


def _markdown(text: str) -> str:
    html = md.markdown(text, extensions=["tables", "fenced_code"])
    # A wide table scrolls in its own box on a phone instead of widening the page.
    return html.replace("<table>", '<div class="table-wrap"><table>').replace("</table>", "</table></div>")


def render_markdown(text: str) -> Markup:
    html = render_with_math(text or "", _markdown)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 - cleaned by nh3 just above
