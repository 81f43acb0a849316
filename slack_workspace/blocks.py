"""Block Kit checks and bookkeeping, done the way Slack's servers and clients do them.

Slack fills in missing `block_id`/`action_id` values, rejects malformed blocks with
`invalid_blocks`, keeps a view's entered values in `state.values` keyed by block and action,
and its client refuses to submit a modal whose required inputs are empty. The workspace
needs the same behaviour so that payloads look like real ones.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_workspace.ids import block_id as new_block_id

JsonDict = dict[str, Any]

KNOWN_BLOCKS = {
    "actions",
    "context",
    "context_actions",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
}

# Which state.values key carries an element's value, per element type (Slack's payload shape).
_VALUE_KEY = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
}
_INITIAL_KEY = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
}


class BlocksError(Exception):
    """Blocks or a view Slack would refuse; `code` is the Web API error code to answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _is_text_object(value: object, plain_only: bool = False) -> bool:
    if not isinstance(value, Mapping) or not isinstance(value.get("text"), str):
        return False
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    return value.get("type") in allowed


def validate_blocks(blocks: object, where: str = "/blocks") -> list[JsonDict]:
    """Check the structure Slack checks, and return a copy with ids filled in."""
    if not isinstance(blocks, list):
        raise BlocksError("invalid_blocks", f"[ERROR] must be an array [json-pointer:{where}]")
    result: list[JsonDict] = []
    for i, raw in enumerate(blocks):
        pointer = f"{where}/{i}"
        if not isinstance(raw, Mapping) or raw.get("type") not in KNOWN_BLOCKS:
            raise BlocksError(
                "invalid_blocks",
                f"[ERROR] unsupported type or missing `type` [json-pointer:{pointer}]",
            )
        block: JsonDict = copy.deepcopy(dict(raw))
        kind = block["type"]
        if kind == "header" and not _is_text_object(block.get("text"), plain_only=True):
            raise BlocksError(
                "invalid_blocks", f"[ERROR] must provide `text` [json-pointer:{pointer}]"
            )
        if kind == "section" and not (
            _is_text_object(block.get("text")) or isinstance(block.get("fields"), list)
        ):
            raise BlocksError(
                "invalid_blocks",
                f"[ERROR] must provide `text` or `fields` [json-pointer:{pointer}]",
            )
        if kind in ("actions", "context") and not isinstance(block.get("elements"), list):
            raise BlocksError(
                "invalid_blocks", f"[ERROR] must provide `elements` [json-pointer:{pointer}]"
            )
        if kind == "input" and (
            not _is_text_object(block.get("label"), plain_only=True)
            or not isinstance(block.get("element"), Mapping)
        ):
            raise BlocksError(
                "invalid_blocks",
                f"[ERROR] must provide `label` and `element` [json-pointer:{pointer}]",
            )
        block.setdefault("block_id", new_block_id())
        for element in _interactive_elements(block):
            if not isinstance(element.get("type"), str):
                raise BlocksError(
                    "invalid_blocks", f"[ERROR] element without `type` [json-pointer:{pointer}]"
                )
            element.setdefault("action_id", new_block_id())
        result.append(block)
    return result


def validate_view(view: object, allowed_types: tuple[str, ...]) -> JsonDict:
    """Check a view object as views.open/update/push/publish do; invalid ones are
    `invalid_arguments` with Slack's explanatory response_metadata message."""
    if not isinstance(view, Mapping):
        raise BlocksError("invalid_arguments", "[ERROR] missing required field: view")
    kind = view.get("type")
    if kind not in allowed_types:
        raise BlocksError(
            "invalid_arguments",
            f"[ERROR] must be one of {', '.join(allowed_types)} [json-pointer:/view/type]",
        )
    if kind == "modal" and not _is_text_object(view.get("title"), plain_only=True):
        raise BlocksError(
            "invalid_arguments", "[ERROR] missing required field: title [json-pointer:/view]"
        )
    try:
        blocks = validate_blocks(view.get("blocks"), where="/view/blocks")
    except BlocksError as err:
        raise BlocksError("invalid_arguments", err.message) from err
    if kind == "modal" and any(b["type"] == "input" for b in blocks) and not view.get("submit"):
        raise BlocksError(
            "invalid_arguments",
            "[ERROR] must define `submit` to use input blocks in modals [json-pointer:/view]",
        )
    result = copy.deepcopy(dict(view))
    result["blocks"] = blocks
    return result


def _interactive_elements(block: JsonDict) -> Iterator[JsonDict]:
    kind = block.get("type")
    if kind == "actions":
        yield from (e for e in block.get("elements", []) if isinstance(e, dict))
    elif kind == "section" and isinstance(block.get("accessory"), dict):
        if block["accessory"].get("type") != "image":
            yield block["accessory"]
    elif kind == "input" and isinstance(block.get("element"), dict):
        yield block["element"]


def iter_elements(blocks: list[JsonDict]) -> Iterator[tuple[JsonDict, JsonDict]]:
    """(block, element) for every interactive element, in display order."""
    for block in blocks:
        for element in _interactive_elements(block):
            yield block, element


def find_element(
    blocks: list[JsonDict], action_id: str, block_id: str | None = None
) -> tuple[JsonDict, JsonDict] | None:
    for block, element in iter_elements(blocks):
        if element.get("action_id") == action_id and block_id in (None, block.get("block_id")):
            return block, element
    return None


def _options(element: JsonDict) -> list[JsonDict]:
    options = [o for o in element.get("options", []) if isinstance(o, dict)]
    for group in element.get("option_groups", []):
        options.extend(o for o in group.get("options", []) if isinstance(o, dict))
    return options


def _option(element: JsonDict, raw: object) -> JsonDict | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, Mapping):
        return dict(raw)
    for option in _options(element):
        if option.get("value") == raw:
            return option
    return None


def state_entry(element: JsonDict, raw: object) -> JsonDict:
    """One `state.values[block_id][action_id]` entry as Slack sends it, from a raw value a
    person typed or picked (a string, an option value, or a list of option values)."""
    kind = str(element.get("type"))
    key = _VALUE_KEY.get(kind, "value")
    entry: JsonDict = {"type": kind}
    if key == "selected_option":
        entry[key] = _option(element, raw)
    elif key == "selected_options":
        values = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
        entry[key] = [o for o in (_option(element, v) for v in values) if o is not None]
    elif key.endswith("s") and key.startswith("selected_"):
        entry[key] = list(raw) if isinstance(raw, list) else ([] if not raw else [raw])
    else:
        entry[key] = None if raw in (None, "") else str(raw)
    return entry


def initial_raw(element: JsonDict) -> object:
    """The element's initial value, in the raw form `state_entry` accepts."""
    key = _VALUE_KEY.get(str(element.get("type")), "value")
    initial = element.get(_INITIAL_KEY[key])
    if isinstance(initial, dict) and key == "selected_option":
        return initial.get("value")
    if isinstance(initial, list) and key == "selected_options":
        return [o.get("value") for o in initial if isinstance(o, dict)]
    return initial


def entry_is_empty(entry: JsonDict) -> bool:
    return all(v in (None, "", []) for k, v in entry.items() if k != "type")


def build_state(
    blocks: list[JsonDict], submitted: Mapping[str, Mapping[str, object]], previous: JsonDict
) -> JsonDict:
    """Full `state.values` for the view's stateful elements: what was submitted now, else what
    was entered before, else the element's initial value (Slack sends every input's state)."""
    values: JsonDict = {}
    for block, element in iter_elements(blocks):
        if element.get("type") in ("button", "overflow", "workflow_button"):
            continue
        bid, aid = str(block["block_id"]), str(element["action_id"])
        if bid in submitted and aid in submitted[bid]:
            entry = state_entry(element, submitted[bid][aid])
        elif aid in previous.get(bid, {}):
            entry = previous[bid][aid]
        else:
            entry = state_entry(element, initial_raw(element))
        values.setdefault(bid, {})[aid] = entry
    return values


def keep_state(blocks: list[JsonDict], previous: JsonDict) -> JsonDict:
    """On views.update Slack keeps entered values for inputs whose block_id and action_id are
    unchanged; everything else starts again from its initial value."""
    kept: JsonDict = {}
    for block, element in iter_elements(blocks):
        bid, aid = str(block["block_id"]), str(element["action_id"])
        if aid in previous.get(bid, {}):
            kept.setdefault(bid, {})[aid] = previous[bid][aid]
    return kept


def client_errors(blocks: list[JsonDict], values: JsonDict) -> dict[str, str]:
    """Checks Slack's own client makes before it sends a view_submission at all."""
    errors: dict[str, str] = {}
    for block in blocks:
        if block.get("type") != "input":
            continue
        element = block["element"]
        bid, aid = str(block["block_id"]), str(element["action_id"])
        entry = values.get(bid, {}).get(aid, {"type": element.get("type")})
        if entry_is_empty(entry):
            if not block.get("optional", False):
                errors[bid] = "Please complete this required field."
            continue
        value = entry.get("value")
        if element.get("type") == "number_input" and isinstance(value, str):
            message = _number_error(element, value)
            if message:
                errors[bid] = message
        if element.get("type") == "plain_text_input" and isinstance(value, str):
            min_length = element.get("min_length")
            max_length = element.get("max_length")
            if isinstance(min_length, int) and len(value) < min_length:
                errors[bid] = f"Please enter at least {min_length} characters."
            if isinstance(max_length, int) and len(value) > max_length:
                errors[bid] = f"Please enter no more than {max_length} characters."
    return errors


def _number_error(element: JsonDict, value: str) -> str | None:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return "Please enter a number."
    if not number.is_finite():
        return "Please enter a number."
    if not element.get("is_decimal_allowed", False) and number != number.to_integral_value():
        return "Please enter a whole number."
    low, high = element.get("min_value"), element.get("max_value")
    try:
        if low is not None and number < Decimal(str(low)):
            return f"Please enter a number at least {low}."
        if high is not None and number > Decimal(str(high)):
            return f"Please enter a number at most {high}."
    except InvalidOperation:
        return None  # a malformed bound is the app's problem; Slack would reject the view
    return None
