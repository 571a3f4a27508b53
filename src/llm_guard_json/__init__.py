"""llm_guard_json: every output of a fine-tuned model leaves in canonical form, or says why not."""

from ._batch import normalize_many
from ._deviation import CODES, Deviation, score
from ._errors import ConfigError, GuardError, OutputRejected, SchemaError
from ._field import Field
from ._limits import Limits
from ._pipeline import normalize
from ._result import Result
from ._schema import Schema, shipped_names
from .canonical import DEFAULT_CANONICALIZERS
from .guard import guard

__all__ = [
    "CODES",
    "ConfigError",
    "DEFAULT_CANONICALIZERS",
    "Deviation",
    "Field",
    "GuardError",
    "Limits",
    "OutputRejected",
    "Result",
    "Schema",
    "SchemaError",
    "guard",
    "normalize",
    "normalize_many",
    "score",
    "shipped_names",
]
__version__ = "0.1.0"
