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
    """An organizer's Markdown (descriptions, the organizer's write-up): images may come from other sites."""
    return _render(text, None)


def render_learner_markdown(text: str) -> Markup:
    """A learner's Markdown (a team's write-up), read by everyone in the challenge: images only from this site.

    An image from elsewhere would tell that site the address of every reader (a tracking pixel); its ``src`` is
    dropped and its alt text stays. Links are kept: a reader follows one only by choice."""
    return _render(text, _site_images_only)


def _site_images_only(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src" and not (value.startswith("/") and value[1:2] not in ("/", "\\")):
        return None
    return value


def _render(text: str, attribute_filter) -> Markup:  # noqa: ANN001
    html = render_with_math(text or "", _markdown)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow", attribute_filter=attribute_filter)
    return Markup(clean)  # noqa: S704 - cleaned by nh3 just above
