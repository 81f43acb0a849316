"""Programmable Web API faults: "the next N calls to method M answer 429 / ok:false / 500 / hang".

A bad day at Slack, on demand, per test. Faults are consumed in the order they were added; a
fault answers the next `times` calls that match it (method name, or "*" for any method, and
optionally some argument values), then it is used up. Every Web API call is also recorded, so
a test can assert what the app asked for and what it was answered.

The same plan is driven in-process (`LocalSlackWorkspace.inject_fault`) or over HTTP
(`/control/faults`, see the README) for apps running in another process.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal["rate_limited", "error", "http_error", "timeout"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


class FaultSpecError(ValueError):
    """A fault description that cannot be used; the message says which field is wrong."""


@dataclass
class Fault:
    method: str  # a Web API method ("chat.postMessage") or "*" for every method
    kind: FaultKind
    times: int = 1  # how many matching calls it answers before it is used up
    retry_after: int = 1  # rate_limited: the Retry-After header, in seconds
    error: str = "internal_error"  # error: the `error` code of the ok:false answer
    status: int = 500  # http_error: the HTTP status (body `{"ok": false, ...}` as Slack's)
    seconds: float = 60.0  # timeout: how long the call hangs before it answers 504
    # Carry the call out, then answer with the fault: "posted, but the answer was lost".
    apply: bool = False
    # Only calls whose arguments have these values (compared as text), e.g. {"channel": "D1"}.
    match: dict[str, str] = field(default_factory=dict)
    id: int = 0
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(self.times - self.used, 0)

    def matches(self, method: str, args: dict[str, Any]) -> bool:
        if self.method not in ("*", method):
            return False
        return all(str(args.get(key, "")) == value for key, value in self.match.items())

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "remaining": self.remaining}

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """A fault from the control API's JSON; FaultSpecError names the bad field."""
        if not isinstance(data, dict):
            raise FaultSpecError("the body must be a JSON object")
        allowed = {"method", "kind", "times", "retry_after", "error", "status", "seconds"}
        allowed |= {"apply", "match"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise FaultSpecError(f"unknown fields: {', '.join(unknown)}")
        method, kind = data.get("method"), data.get("kind")
        if not isinstance(method, str) or not method:
            raise FaultSpecError("method: give a Web API method name or '*'")
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"kind: one of {', '.join(FAULT_KINDS)}")
        match = data.get("match", {})
        if not isinstance(match, dict):
            raise FaultSpecError("match: an object of argument name -> value")
        try:
            fault = cls(
                method=method,
                kind=kind,
                times=int(data.get("times", 1)),
                retry_after=int(data.get("retry_after", 1)),
                error=str(data.get("error", "internal_error")),
                status=int(data.get("status", 500)),
                seconds=float(data.get("seconds", 60.0)),
                apply=bool(data.get("apply", False)),
                match={str(k): str(v) for k, v in match.items()},
            )
        except (TypeError, ValueError) as err:
            raise FaultSpecError(f"a numeric field is not a number: {err}") from err
        fault.check()
        return fault

    def check(self) -> None:
        if self.times < 1:
            raise FaultSpecError("times: at least 1")
        if self.kind == "rate_limited" and self.retry_after < 0:
            raise FaultSpecError("retry_after: 0 or more seconds")
        if self.kind == "http_error" and not 400 <= self.status <= 599:
            raise FaultSpecError("status: an HTTP error status, 400 to 599")
        if self.kind == "timeout" and self.seconds <= 0:
            raise FaultSpecError("seconds: more than 0")


@dataclass(frozen=True)
class ApiCall:
    """One Web API call as the workspace saw it (the token left out)."""

    method: str
    args: dict[str, Any]
    http_status: int
    ok: bool
    error: str | None
    fault: str | None  # the fault kind that answered it, if any
    at: float  # time.time()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The faults waiting to happen and the log of calls: the owner of both."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 0
        self.calls: list[ApiCall] = []

    def add(self, fault: Fault) -> Fault:
        fault.check()
        self._next_id += 1
        fault.id = self._next_id
        self._faults.append(fault)
        return fault

    def take(self, method: str, args: dict[str, Any]) -> Fault | None:
        """The fault that answers this call, counting it as used; None: answer normally."""
        for fault in self._faults:
            if fault.remaining and fault.matches(method, args):
                fault.used += 1
                return fault
        return None

    def pending(self) -> list[Fault]:
        return [f for f in self._faults if f.remaining]

    def clear(self) -> None:
        self._faults.clear()

    def record(
        self,
        method: str,
        args: dict[str, Any],
        *,
        http_status: int,
        body: dict[str, Any],
        fault: Fault | None,
    ) -> None:
        self.calls.append(
            ApiCall(
                method=method,
                args={k: v for k, v in args.items() if k != "token"},
                http_status=http_status,
                ok=bool(body.get("ok")),
                error=body.get("error") if not body.get("ok") else None,
                fault=fault.kind if fault is not None else None,
                at=time.time(),
            )
        )
