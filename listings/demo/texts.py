"""All demo technology and need texts, parsed from the data modules."""

from functools import cache

from . import families, needs, tech_agri
from .specs import NeedSpec, TechSpec, parse_needs, parse_technologies

TECHNOLOGY_MODULES = (tech_agri,)


@cache
def technology_specs() -> tuple[TechSpec, ...]:
    specs = []
    for module in TECHNOLOGY_MODULES:
        specs += parse_technologies(module.TECHNOLOGIES)
    specs += parse_technologies(families.technologies())
    return tuple(specs)


@cache
def need_specs() -> tuple[NeedSpec, ...]:
    return tuple(parse_needs(needs.NEEDS))
