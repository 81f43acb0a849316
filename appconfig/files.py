"""Loading the YAML configuration files (rules, directory, catalog) into pydantic models.

An invalid file is refused with the file, the field path and the reason. A `ReloadingFile`
re-reads its file when it changes and keeps serving the last good version when the new one
is invalid, so a typo in production never takes the running process down.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigFileError(Exception):
    """A configuration file that cannot be used, with a message a person can act on."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


@dataclass(frozen=True)
class Loaded(Generic[ModelT]):
    value: ModelT
    version: str  # short content hash: recorded with every decision that used this file


def load_yaml_model(path: Path, model: type[ModelT]) -> Loaded[ModelT]:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigFileError(path, [f"cannot read file: {err.strerror}"]) from err
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigFileError(path, [f"not valid YAML: {err}"]) from err
    try:
        value = model.model_validate(data if data is not None else {})
    except ValidationError as err:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in err.errors()
        ]
        raise ConfigFileError(path, problems) from err
    return Loaded(value=value, version=hashlib.sha256(raw).hexdigest()[:12])


class ReloadingFile(Generic[ModelT]):
    """A config file that is re-read when its modification time or size changes.

    The first load must succeed (a process must not start on a broken file); later broken
    versions are logged and ignored until fixed.
    """

    def __init__(self, path: Path, model: type[ModelT]) -> None:
        self.path = path
        self._model = model
        self._stamp = self._stat()
        self._current = load_yaml_model(path, model)
        self.last_error: ConfigFileError | None = None

    def _stat(self) -> tuple[int, int]:
        try:
            st = os.stat(self.path)
        except OSError:
            return (0, 0)
        return (st.st_mtime_ns, st.st_size)

    def get(self) -> Loaded[ModelT]:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._current = load_yaml_model(self.path, self._model)
                self.last_error = None
                log.info("reloaded %s (version %s)", self.path, self._current.version)
            except ConfigFileError as err:
                self.last_error = err
                log.error("keeping the last good version of %s: %s", self.path, err)
        return self._current
