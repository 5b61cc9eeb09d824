"""The search page's result cards and facet lists, written out in Python.

A results page repeats the same small card twenty times and the facet checkboxes some forty times;
through the template engine that was about half of the page's own time (each ``{{ }}`` is a lookup,
a localisation check and an escape). These tags produce the same markup directly: every value is
escaped with ``conditional_escape`` (the highlighted title and snippet are already-safe strings built
from escaped text and our own <em> tags), and the words are the same translatable strings as before.
"""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


def _e(value) -> str:
    return conditional_escape("" if value is None else value)


@register.simple_tag
def search_hits(hits) -> SafeString:
    """<ol class="hits"> of result cards (search.selectors.Hit)."""
    budget = gettext("预算")
    out = ['<ol class="hits">\n']
    for hit in hits:
        aid = ""
        if hit.aid:
            aid = (
                '<span class="badge badge-aid">'
                + _e(gettext("%(region)s援藏") % {"region": hit.region_label})
                + "</span>"
            )
        maturity = ""
        if hit.maturity_label:
            trl = f" · TRL {_e(hit.trl)}" if hit.trl else ""
            maturity = f'<span class="badge badge-neutral">{_e(hit.maturity_label)}{trl}</span>'
        tags = "".join(f'<span class="tag-chip">{_e(label)}</span> ' for label in hit.tag_labels)
        price = (budget + " " if hit.kind == "need" else "") + hit.price_display
        out.append(
            f'  <li class="card search-hit" data-kind="{_e(hit.kind)}" data-pk="{_e(hit.pk)}">\n'
            f'    <h3 class="card-title"><a href="{_e(hit.url)}">{_e(hit.title_html)}</a></h3>\n'
            f'    <p class="card-meta">\n'
            f'      <span class="badge badge-neutral">{_e(hit.kind_label)}</span>\n'
            f"      {_e(hit.organisation)}\n"
            f"      {aid}\n"
            f"    </p>\n"
            f'    <p class="snippet">{_e(hit.snippet_html)}</p>\n'
            f'    <p class="small">\n'
            f'      <span class="badge badge-info">{_e(hit.field_label)}</span>\n'
            f"      {maturity}\n"
            f"      {tags}\n"
            f'      <span class="price">{_e(price)}</span>\n'
            f"    </p>\n"
            f"  </li>\n"
        )
    out.append("</ol>")
    return mark_safe("".join(out))  # noqa: S308 - every value above went through conditional_escape


@register.simple_tag
def search_facets(facets) -> SafeString:
    """One <fieldset> of checkboxes per facet that has values (search.selectors.Facet)."""
    out = []
    for facet in facets:
        if not facet.values:
            continue
        name = _e(facet.name)
        out.append(f'<fieldset class="facet" data-facet="{name}">\n  <legend>{_e(facet.label)}</legend>\n')
        for value in facet.values:
            checked = " checked" if value.selected else ""
            out.append(
                f'  <label class="facet-value">\n'
                f'    <input type="checkbox" name="{name}" value="{_e(value.value)}"{checked}>\n'
                f'    <span class="facet-label">{_e(value.label)}</span>\n'
                f'    <span class="facet-count">{_e(value.count)}</span>\n'
                f"  </label>\n"
            )
        out.append("</fieldset>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above went through conditional_escape
