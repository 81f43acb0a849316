"""Reading the YAML files the local workspace is given (directory, app manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """The file's data; `error` with the path and what is wrong when it cannot be read."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise error(f"{path}: cannot read file: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML: {err}") from err
