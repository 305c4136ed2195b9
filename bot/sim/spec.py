"""The vendored Bot API schema (api.json): decodes request parameters the way the Bot API server reads them,
refusing with Telegram-like descriptions, and checks that the objects the simulator answers with conform."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import ApiError, bad_request

ARRAY = "Array of "
# Subtypes of a union name their discriminator in prose: 'always "creator"' or 'must be default'.
_DISCRIMINATOR = re.compile(r'(?:always|must be) "?([a-z_]+)"?')
_INTEGER = re.compile(r"[+-]?\d+")

# What the Bot API server calls a parameter when its JSON does not parse ("Can't parse ... JSON object").
_JSON_LABELS = {
    "reply_markup": "reply keyboard markup",
    "scope": "BotCommandScope",
    "link_preview_options": "link preview options",
    "reply_parameters": "reply parameters",
}

# Missing required parameters: the wording the real server uses for the ones a group bot meets.
_MISSING = {
    "chat_id": "chat_id is empty",
    "text": "message text is empty",
    "user_id": "invalid user_id specified",
    "message_id": "message identifier is not specified",
    "message_ids": "message identifiers are not specified",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "callback_query_id": "query is too old and response timeout expired or query ID is invalid",
    "invite_link": "invite link must be non-empty",
    "question": "poll question must be non-empty",
    "options": "poll must have at least 2 option",
}


@dataclass(frozen=True)
class UploadedFile:
    """A file that came in a multipart request (directly or through attach://name)."""

    filename: str
    content: bytes
    mime_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    def summary(self) -> dict[str, Any]:
        # What the call log shows instead of the bytes.
        return {"filename": self.filename, "size": self.size, "mime_type": self.mime_type}


class _Invalid(Exception):
    """A JSON value that does not fit its type; `owner` is the object type whose field was wrong."""

    def __init__(self, message: str, owner: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.owner = owner


class Spec:
    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data["version"]
        self.methods: dict[str, dict[str, Any]] = data["methods"]
        self.types: dict[str, dict[str, Any]] = data["types"]
        # Telegram matches method names case-insensitively ("getme" works).
        self._by_lower = {name.lower(): name for name in self.methods}
        self._discriminators: dict[str, tuple[str, str]] = {}
        for type_def in self.types.values():
            for sub in type_def.get("subtypes", ()):
                found = self._find_discriminator(sub)
                if found:
                    self._discriminators[sub] = found

    def _find_discriminator(self, type_name: str) -> tuple[str, str] | None:
        sub = self.types.get(type_name)
        if not sub or "fields" not in sub:
            return None
        for field in sub["fields"]:
            if field["required"] and field["types"] == ["String"]:
                match = _DISCRIMINATOR.search(field.get("description", ""))
                if match:
                    return field["name"], match.group(1)
        return None

    # ------------------------------------------------------------------ methods

    def canonical_method(self, name: str) -> str | None:
        return self._by_lower.get(name.lower())

    def returns(self, method: str) -> list[str]:
        return self.methods[method]["returns"]

    def object_fields(self, type_name: str) -> list[dict[str, Any]]:
        return self.types[type_name].get("fields", [])

    # ------------------------------------------------------------------ requests

    def decode_params(
        self, method: str, raw: dict[str, str], files: dict[str, UploadedFile] | None = None
    ) -> dict[str, Any]:
        """Turn the wire parameters (str -> str, non-strings JSON-encoded) into Python values.

        Unknown parameters are ignored, as Telegram ignores them. An empty value counts as absent,
        because that is how the Bot API server reads an argument.
        """
        files = files or {}
        decoded: dict[str, Any] = {}
        for field in self.methods[method].get("fields", []):
            name, types = field["name"], field["types"]
            value = raw.get(name)
            upload = files.get(name) if "InputFile" in types else None
            if upload is None and (value is None or value == ""):
                if field["required"]:
                    raise bad_request(_MISSING.get(name, f'parameter "{name}" is required'))
                continue
            decoded[name] = upload if upload is not None else self._decode_value(name, types, value, files)
        return decoded

    def _decode_value(self, name: str, types: list[str], raw: str, files: dict[str, UploadedFile]) -> Any:
        failures: list[tuple[str, ApiError]] = []
        for type_name in types:
            try:
                return self._decode_one(name, type_name, raw, files)
            except ApiError as exc:
                failures.append((type_name, exc))
        # Several candidate object types (reply_markup): report against the one the value resembles most.
        best = max(failures, key=lambda item: self._resemblance(item[0], raw))
        raise best[1]

    def _resemblance(self, type_name: str, raw: str) -> int:
        try:
            value = json.loads(raw)
        except ValueError:
            return -1
        if not isinstance(value, dict) or type_name not in self.types:
            return 0
        names = {f["name"] for f in self.types[type_name].get("fields", [])}
        return len(names & set(value))

    def _decode_one(self, name: str, type_name: str, raw: str, files: dict[str, UploadedFile]) -> Any:
        if type_name == "Integer":
            if _INTEGER.fullmatch(raw.strip()):
                return int(raw)
            raise bad_request(f'field "{name}" must be of type Integer')
        if type_name == "Float":
            try:
                return float(raw)
            except ValueError:
                raise bad_request(f'field "{name}" must be of type Float') from None
        if type_name in ("Boolean", "True"):
            lowered = raw.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0") and type_name == "Boolean":
                return False
            raise bad_request(f'field "{name}" must be of type Boolean')
        if type_name == "String":
            return raw
        if type_name == "InputFile":
            if raw.startswith("attach://") and raw[len("attach://"):] in files:
                return files[raw[len("attach://"):]]
            raise bad_request(f'field "{name}" must be an uploaded file')
        # Arrays and objects travel as JSON text.
        try:
            value = json.loads(raw)
        except ValueError:
            raise bad_request(f"can't parse {_JSON_LABELS.get(name, name)} JSON object") from None
        try:
            self._check_input(type_name, value, None, name)
        except _Invalid as exc:
            if exc.owner is None:
                raise bad_request(exc.message[0].lower() + exc.message[1:]) from None
            raise bad_request(f"can't parse {exc.owner}: {exc.message}") from None
        return value

    def _check_input(self, type_name: str, value: Any, owner: str | None, field: str) -> None:
        if type_name.startswith(ARRAY):
            if not isinstance(value, list):
                raise _Invalid(f'Field "{field}" must be of type Array', owner)
            for item in value:
                self._check_input(type_name[len(ARRAY):], item, owner, field)
            return
        if type_name in _PRIMITIVE_CHECKS:
            if not _PRIMITIVE_CHECKS[type_name](value):
                raise _Invalid(f'Field "{field}" must be of type {type_name}', owner)
            return
        type_def = self.types.get(type_name)
        if type_def is None:  # a type api.json names but does not define: accept any JSON
            return
        if not isinstance(value, dict):
            raise _Invalid(f"{type_name} must be an Object", owner or type_name)
        if "subtypes" in type_def:
            sub = self._pick_subtype(type_name, value)
            if sub is None:
                raise _Invalid("Unsupported type specified", type_name)
            self._check_input(sub, value, owner, field)
            return
        for spec_field in type_def.get("fields", []):
            fname = spec_field["name"]
            if value.get(fname) is None:
                if spec_field["required"]:
                    raise _Invalid(f'Can\'t find field "{fname}"', type_name)
                continue
            self._check_input_any(spec_field["types"], value[fname], type_name, fname)

    def _check_input_any(self, types: list[str], value: Any, owner: str, field: str) -> None:
        errors: list[_Invalid] = []
        for type_name in types:
            try:
                self._check_input(type_name, value, owner, field)
                return
            except _Invalid as exc:
                errors.append(exc)
        raise errors[0]

    def _pick_subtype(self, union: str, value: dict[str, Any]) -> str | None:
        for sub in self.types[union]["subtypes"]:
            disc = self._discriminators.get(sub)
            if disc and value.get(disc[0]) == disc[1]:
                return sub
        return None

    # ------------------------------------------------------------------ responses

    def check(self, types: str | list[str], value: Any, path: str = "result") -> list[str]:
        """Problems that make `value` not a valid instance of any of `types` (empty list: valid).

        Stricter than for requests: objects must not carry fields api.json does not define, so a typo in
        the simulator cannot slip through as an "unknown field the client ignores".
        """
        if isinstance(types, str):
            types = [types]
        best: list[str] | None = None
        for type_name in types:
            problems = self._check_out(type_name, value, path)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or []

    def _check_out(self, type_name: str, value: Any, path: str) -> list[str]:
        if type_name.startswith(ARRAY):
            if not isinstance(value, list):
                return [f"{path}: expected {type_name}, got {type(value).__name__}"]
            problems: list[str] = []
            for i, item in enumerate(value):
                problems += self._check_out(type_name[len(ARRAY):], item, f"{path}[{i}]")
            return problems
        if type_name in _PRIMITIVE_CHECKS:
            if _PRIMITIVE_CHECKS[type_name](value):
                return []
            return [f"{path}: expected {type_name}, got {value!r}"]
        type_def = self.types.get(type_name)
        if type_def is None:
            return [f"{path}: unknown type {type_name}"]
        if not isinstance(value, dict):
            return [f"{path}: expected {type_name} object, got {type(value).__name__}"]
        if "subtypes" in type_def:
            sub = self._pick_subtype(type_name, value)
            if sub is not None:
                return self._check_out(sub, value, path)
            return self.check(type_def["subtypes"], value, path) or []
        problems = []
        fields = {f["name"]: f for f in type_def.get("fields", [])}
        for key in value:
            if key not in fields:
                problems.append(f"{path}: {type_name} has no field {key!r}")
        for fname, spec_field in fields.items():
            if fname not in value:
                if spec_field["required"]:
                    problems.append(f"{path}: {type_name} lacks required field {fname!r}")
                continue
            problems += self.check(spec_field["types"], value[fname], f"{path}.{fname}")
        return problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_PRIMITIVE_CHECKS = {
    "Integer": _is_int,
    "Float": lambda v: _is_int(v) or isinstance(v, float),
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
    "String": lambda v: isinstance(v, str),
    # Inside JSON an InputFile is referenced by a string (attach://name, a file_id or a URL).
    "InputFile": lambda v: isinstance(v, str),
}


@lru_cache(maxsize=1)
def load_spec() -> Spec:
    text = resources.files(__package__).joinpath("api.json").read_text(encoding="utf-8")
    return Spec(json.loads(text))
