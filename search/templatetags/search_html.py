"""The search page's result cards and facet lists, written out in Python.

A results page repeats the same small card twenty times and the facet checkboxes some forty times;
through the template engine that was about half of the page's own time (each ``{{ }}`` is a lookup,
a localisation check and an escape). These tags produce the same markup directly: every value is
escaped as ``conditional_escape`` does it (the highlighted title and snippet are already-safe strings
built from escaped text and our own <em> tags), and the words are the same translatable strings.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from django import template
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


def _e(value) -> str:
    """conditional_escape, without its lazy-string wrapper (this runs a few hundred times a page)."""
    if isinstance(value, SafeData):
        return value
    return html.escape("" if value is None else str(value))


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
    return mark_safe("".join(out))  # noqa: S308 - every value above went through _e


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
    return mark_safe("".join(out))  # noqa: S308 - every value above went through _e


def _querystring(request, **changes) -> str:
    """What ``{% querystring key=value … %}`` gives (None removes a key), escaped for an attribute."""
    params = {key: list(values) for key, values in request.GET.lists()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = [value]
    if not params and not request.GET:
        return ""
    return html.escape("?" + urlencode([(key, str(v)) for key, values in params.items() for v in values]))


@register.simple_tag(takes_context=True)
def search_kind_tabs(context, form) -> SafeString:
    """The 全部 / 科技成果 / 技术需求 tabs: the same query for another kind, from page 1."""
    request = context.request
    current = form["kind"].value() or ""
    links = []
    for value, label in form.fields["kind"].choices:
        here = ' aria-current="page"' if current == value else ""
        links.append(f'    <a href="{_querystring(request, kind=value, page=None)}"{here}>{_e(label)}</a>\n')
    return mark_safe("".join(links))  # noqa: S308 - every value above went through _e or html.escape


@register.simple_tag(takes_context=True)
def search_pagination(context, result) -> SafeString:
    """上一页 · 1 … 4 5 [6] 7 8 … 20 · 下一页, and 共 N 条,第 x / y 页 (nothing when there is one page)."""
    if result.pages <= 1:
        return mark_safe("")
    request = context.request
    previous, following = gettext("上一页"), gettext("下一页")
    out = [f'<nav class="pagination" aria-label="{_e(gettext("分页"))}">\n']
    if result.has_previous:
        out.append(f'  <a href="{_querystring(request, page=result.page - 1)}" rel="prev">{_e(previous)}</a>\n')
    else:
        out.append(f'  <span class="disabled">{_e(previous)}</span>\n')
    for number in result.page_numbers:
        if number is None:
            out.append('  <span class="disabled">…</span>\n')
        elif number == result.page:
            out.append(f'  <span class="current" aria-current="page">{number}</span>\n')
        else:
            out.append(f'  <a href="{_querystring(request, page=number)}">{number}</a>\n')
    if result.has_next:
        out.append(f'  <a href="{_querystring(request, page=result.page + 1)}" rel="next">{_e(following)}</a>\n')
    else:
        out.append(f'  <span class="disabled">{_e(following)}</span>\n')
    summary = gettext("共 %(total)s 条,第 %(number)s / %(pages)s 页") % {
        "total": result.total,
        "number": result.page,
        "pages": result.pages,
    }
    out.append(f'</nav>\n<p class="muted small">{_e(summary)}</p>\n')
    return mark_safe("".join(out))  # noqa: S308 - every value above went through _e or html.escape
