"""Organizer-written Markdown, rendered and then sanitised: no script, no event handlers, no javascript: links."""

from __future__ import annotations

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"align"}, "th": {"align"},
                      "code": {"class"}, "span": {"class"}, "div": {"class"}}


def render_markdown(text: str) -> Markup:
    html = md.markdown(text or "", extensions=["tables", "fenced_code"])
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return Markup(clean)
