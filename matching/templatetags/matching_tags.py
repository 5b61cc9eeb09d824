"""{% matching_panel technology can_edit %}: the owner's box on a technology page (leads link, why buyers passed).

An inclusion tag so the listings view needs no change: the tag asks the selector, the template only shows.
"""

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("matching/_technology_panel.html")
def matching_panel(technology, can_edit):
    if not can_edit:
        return {"show": False}
    return {"show": True, "technology": technology, "summary": selectors.dismissal_summary(technology=technology)}
