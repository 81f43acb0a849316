"""The feature flags, defined once as data. Everything else derives from `FLAGS`: evaluation,
the entity's validation, `/flags` parsing, listing and help, and flags.yaml loading.

A new flag is one `Flag(...)` here, added to `FLAGS`, plus the workflow code that reads it
(`FlagsEvaluation.value(NEW_FLAG)`, behind a new patch id). Its state is stored under `key` with
empty settings until someone sets it, so states stored before it existed still decode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from domain.review_rules import Strictness

V = TypeVar("V")
E = TypeVar("E", bound=StrEnum)


class FlagValues(Generic[V]):
    """The values a kind of flag takes: the words people type for each (the first word of a
    value is how it is shown) and the Python type it is stored as."""

    def __init__(self, python_type: type[V], words: Mapping[str, V]) -> None:
        self.python_type = python_type
        self.words = dict(words)
        self._adapter: TypeAdapter[V] = TypeAdapter(python_type)

    @property
    def shown(self) -> tuple[str, ...]:
        """One word per value, as listed in help: ("on", "off")."""
        return tuple(dict.fromkeys(self.render(v) for v in self.words.values()))

    def parse(self, flag_name: str, text: str) -> V:
        try:
            return self.words[text.strip().lower()]
        except KeyError:
            accepted = "/".join(self.words)
            raise ValueError(f"{flag_name} takes {accepted}, not '{text}'.") from None

    def render(self, value: V) -> str:
        return next(word for word, v in self.words.items() if v == value)

    def encode(self, value: V) -> Any:
        """As stored in JSON (activity results, entity state)."""
        return self._adapter.dump_python(value, mode="json")

    def decode(self, raw: Any) -> V:
        return self._adapter.validate_python(raw)


def choice(enum: type[E]) -> FlagValues[E]:
    return FlagValues(enum, {member.value: member for member in enum})


ON_OFF: FlagValues[bool] = FlagValues(
    bool, {"on": True, "off": False, "true": True, "false": False}
)


@dataclass(frozen=True, eq=False)
class Flag(Generic[V]):
    name: str  # as typed in `/flags` and flags.yaml; also what rollout buckets hash
    description: str
    values: FlagValues[V]
    default: V
    # What `/flags <flag> rollout <percent>` rolls out when no value is given: the change.
    rollout_value: V

    @property
    def key(self) -> str:
        """Field name in the stored state and in the evaluation result: automated_review_enabled."""
        return self.name.replace("-", "_")

    def show(self, value: V | None) -> str:
        return UNSET if value is None else self.values.render(value)

    def parse(self, text: str) -> V:
        return self.values.parse(self.name, text)

    def __str__(self) -> str:
        return self.name


UNSET = "(unset)"

# --- the registry ---------------------------------------------------------------------------

AUTOMATED_REVIEW: Flag[bool] = Flag(
    name="automated-review-enabled",
    description="whether requests get the automated review (else a person decides)",
    values=ON_OFF,
    default=False,
    rollout_value=True,
)
REVIEW_STRICTNESS: Flag[Strictness] = Flag(
    name="review-strictness",
    description="which rules the review applies (strict: the `strict:` section of rules.yaml)",
    values=choice(Strictness),
    default=Strictness.STANDARD,
    rollout_value=Strictness.STRICT,
)

# Readers look this up as `flag_registry.FLAGS` when they run, never copy it at import: what is
# here is what exists.
FLAGS: tuple[Flag[Any], ...] = (AUTOMATED_REVIEW, REVIEW_STRICTNESS)
