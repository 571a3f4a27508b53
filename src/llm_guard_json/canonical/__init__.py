"""Domain canonicalizers, found by the name a schema gives in `x-canonical`.

Each is a plain function `(value, field) -> (value, deviations)`: it reshapes what it can
read, reports each change as a `canon.*` deviation with a path relative to its field, and
returns a value it cannot read unchanged, for the generic rules to finish or report.
`DEFAULT_CANONICALIZERS` is read-only; add your own with `DEFAULT_CANONICALIZERS | {"mine": fn}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._types import Canonicalizer
from .blood_pressure import canonicalize_blood_pressure
from .duration import canonicalize_duration
from .education import canonicalize_education
from .phone import canonicalize_phone_cn
from .salary import canonicalize_salary
from .skills import canonicalize_skills

DEFAULT_CANONICALIZERS: Mapping[str, Canonicalizer] = MappingProxyType(
    {
        "blood_pressure": canonicalize_blood_pressure,
        "duration": canonicalize_duration,
        "education": canonicalize_education,
        "phone_cn": canonicalize_phone_cn,
        "salary": canonicalize_salary,
        "skills": canonicalize_skills,
    }
)

__all__ = [
    "DEFAULT_CANONICALIZERS",
    "canonicalize_blood_pressure",
    "canonicalize_duration",
    "canonicalize_education",
    "canonicalize_phone_cn",
    "canonicalize_salary",
    "canonicalize_skills",
]
