"""All demo technology and need texts, parsed from the data modules."""

from functools import cache

from . import (
    families,
    families_extra,
    needs,
    tech_agri,
    tech_build_other,
    tech_culture_it,
    tech_eco,
    tech_energy,
    tech_health,
)
from .specs import NeedSpec, TechSpec, parse_needs, parse_technologies

TECHNOLOGY_MODULES = (tech_agri, tech_energy, tech_eco, tech_health, tech_culture_it, tech_build_other)


@cache
def technology_specs() -> tuple[TechSpec, ...]:
    specs = []
    for module in TECHNOLOGY_MODULES:
        specs += parse_technologies(module.TECHNOLOGIES)
    for family_list in (families.FAMILIES, families_extra.FAMILIES):
        specs += parse_technologies(families.render(family_list))
    return tuple(specs)


@cache
def need_specs() -> tuple[NeedSpec, ...]:
    return tuple(parse_needs(needs.NEEDS))
