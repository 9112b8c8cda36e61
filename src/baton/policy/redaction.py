"""Find personal data in text and swap it for placeholders that can be swapped back.

Baton's engine runs this before a prompt leaves for an external model provider: the provider sees
``[EMAIL_1]`` instead of ``dana@acme.example``, and the answer is restored before the next step reads it.
Detection is rules, not a model, so it is fast, deterministic and explainable in an audit:

* ``email``: ``local@domain.tld``. The domain needs a dot and an alphabetic top-level label, so
  ``root@localhost`` and ``pkg@1.2.3`` are not emails; neither is ``logo@2x.png`` (a file name).
* ``phone``: international (``+`` or ``00`` and a country code), North American and the trunk-``0``
  national formats of Europe; at least 9 digits, and never a date, a card number or an IBAN. A bare run of
  digits only counts when a word such as "phone" or "Tel." stands right before it.
* ``card``: 13 to 19 digits, plain or grouped by single spaces or dashes, starting with a payment
  industry digit (1 to 6) and passing the Luhn check.
* ``iban``: country code, check digits and the national account number, plain or in groups of four;
  the length must match the country and the ISO 13616 mod-97 check must pass. Lower case is accepted,
  since the checksum, not the case, is what makes an IBAN.

Known limits, chosen on purpose: a phone number straight after another digit group (``... 1234 020 7946
0958``) is not detected, because inside tracking numbers that shape is a false alarm; a Luhn-valid number
labelled "IMEI" is a device, not a card; a placeholder the model rewrites (``[email_1]``) is not restored.

Example:
    >>> session = Redactor().session()
    >>> session.redact({"note": "Mail dana@acme.example or call +44 20 7946 0958"})
    {'note': 'Mail [EMAIL_1] or call [PHONE_1]'}
    >>> session.restore("Sent to [EMAIL_1].")
    'Sent to dana@acme.example.'
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from baton.errors import ConfigError

DATA_CLASSES: dict[str, str] = {"email": "contact", "phone": "contact", "card": "payment_card", "iban": "financial"}
BUILTIN_KINDS: tuple[str, ...] = ("email", "phone", "card", "iban")


@dataclass(frozen=True)
class CustomPattern:
    """A project-specific kind of sensitive value, such as an employee id.

    Attributes:
        name: Names the kind; ``employee_id`` gives placeholders like ``[EMPLOYEE_ID_1]``.
        pattern: A Python regular expression matching the whole value.
        data_class: The data class policies speak of, e.g. ``"pii"``.
    """

    name: str
    pattern: str
    data_class: str


@dataclass(frozen=True)
class Detection:
    """One sensitive value found in a text, at ``text[start:end]``."""

    kind: str
    start: int
    end: int
    text: str
    data_class: str


# A detector yields (start, end) spans; `blocked` are spans already claimed by cards and IBANs.
_Span = tuple[int, int]
_Finder = Callable[[str, Sequence[_Span]], Iterator[_Span]]

# ---------------------------------------------------------------------------------------------- email

_EMAIL = re.compile(
    r"(?<![\w.%+-])"
    r"[\w%+-]+(?:\.[\w%+-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+"
    r"(?P<tld>[^\W\d_]{2,63})"
    r"(?![\w-])"
)
# Top-level labels that are really file extensions: `icon@2x.png` is an asset, not an address.
_FILE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "pdf"})


def _find_emails(text: str, blocked: Sequence[_Span]) -> Iterator[_Span]:
    for match in _EMAIL.finditer(text):
        if match["tld"].lower() not in _FILE_EXTENSIONS:
            yield match.span()


# ----------------------------------------------------------------------------------------------- card

# Where a number may start: not glued to a word, a decimal or a range, and not inside a mistyped IBAN.
_LEFT = r"(?<![\w+@])(?<!\d[.,/-])(?<![A-Z]{2}\d{2} )(?<![A-Z]{2}\d{2} [A-Z0-9]{4} )"
# Grouped forms are 4-4-4-4(-3) for most brands and 4-6-5 / 4-6-4 for Amex and Diners.
_CARD = re.compile(
    _LEFT + r"(?:[1-6]\d{12,18}"
    r"|[1-6]\d{3}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?P<tail>(?P=s)\d{1,3})?"
    r"|3\d{3}(?P<a>[ -])\d{6}(?P=a)\d{4,5})"
    r"(?!\w)(?![.,/-]\d)"
)

# Device identifiers carry a Luhn digit too; the label in front is the only way to tell them apart.
_NOT_A_CARD_CUE = re.compile(r"(?i)\b(?:imei|imeisv|meid)\b\s*(?:no\.?|number|nr\.?)?\s*[:#]?\s*$")


def luhn_valid(digits: str) -> bool:
    """True when a digit string passes the Luhn check that every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _find_cards(text: str, blocked: Sequence[_Span]) -> Iterator[_Span]:
    for match in _CARD.finditer(text):
        if _NOT_A_CARD_CUE.search(text, max(0, match.start() - 20), match.start()):
            continue
        if luhn_valid(_digits(match[0])):
            yield match.span()
        elif match["tail"] is not None:
            # A 16-digit card followed by a short group (a CVV, a quantity) is still a card.
            end = match.start("tail")
            if luhn_valid(_digits(text[match.start() : end])):
                yield match.start(), end


# ----------------------------------------------------------------------------------------------- iban

# Lengths from the SWIFT IBAN registry; a country not listed is not accepted.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_IBAN_START = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}")


def _iban_layout(length: int) -> re.Pattern[str]:
    """Either no spaces at all or single spaces between groups of four, as printed on statements."""
    groups, rest = divmod(length, 4)
    spaced = " ".join(["[A-Za-z0-9]{4}"] * groups + ([f"[A-Za-z0-9]{{{rest}}}"] if rest else []))
    return re.compile(f"(?:[A-Za-z0-9]{{{length}}}|{spaced})(?![^\\W_])")


_IBAN_LAYOUTS: dict[int, re.Pattern[str]] = {length: _iban_layout(length) for length in set(IBAN_LENGTHS.values())}


def iban_valid(compact: str) -> bool:
    """True when an IBAN without spaces has its country's length and passes the ISO 13616 mod-97 check."""
    value = compact.upper()
    if len(value) != IBAN_LENGTHS.get(value[:2], -1) or not (value.isascii() and value.isalnum()):
        return False
    if value[2:4] in {"00", "01", "99"}:  # check digits run from 02 to 98
        return False
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _find_ibans(text: str, blocked: Sequence[_Span]) -> Iterator[_Span]:
    for start in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(start[0][:2].upper())
        match = _IBAN_LAYOUTS[length].match(text, start.start()) if length else None
        if match and iban_valid(match[0].replace(" ", "")):
            yield match.span()


# ---------------------------------------------------------------------------------------------- phone

# Phones pass no checksum, so they also may not start right after another digit group: inside a 22-digit
# USPS tracking number ``9400 1000 0000 0000 0000 00`` there is no phone ``0000 0000 0000``.
_LEFT_PHONE = _LEFT + r"(?<!\d )"
_PHONE_INTERNATIONAL = re.compile(
    _LEFT_PHONE + r"(?:\+|00(?=[1-9]\d{0,2}[ .(-]))\d++(?:(?:[ .-]?\(\d{1,4}\)[ .-]?|[ .-])\d++)*+"
)
_PHONE_NORTH_AMERICA = re.compile(
    _LEFT_PHONE + r"(?:1[ .-])?"
    r"(?:\([2-9]\d{2}\) ?[2-9]\d{2}[ .-]|[2-9]\d{2}(?P<s>[ .-])[2-9]\d{2}(?P=s))\d{4}"
    r"(?!(?!x\d)\w)(?![.,/-]\d)"
)
_PHONE_NATIONAL = re.compile(_LEFT_PHONE + r"(?:\(0\d{1,4}\) ?|0\d{1,4}[ ./-])\d++(?:[ .-]\d++)*+")
_PHONE_PLAIN = re.compile(_LEFT_PHONE + r"\d{9,12}(?!\w)(?![.,/-]\d)")
# A bare run of digits is a phone number only right after a word that says so.
_PHONE_CUE = re.compile(
    r"(?i)\b(?:tel|t\u00e9l|phone|ph|mobile|mob|cell|fax|call|whatsapp|sms|telefon|telefonnummer|handy|mobil"
    r"|t\u00e9l\u00e9phone|portable|bel|telefoonnummer|mobiel)\b\.?"
    r"(?:\s*(?:no\.?|nr\.?|number|nummer|num\u00e9ro|#))?\s*[:.]?\s*$"
)
_DATE = re.compile(
    r"(?<!\d)(?:(?:19|20)\d{2}[./-](?:0?[1-9]|1[0-2])[./-](?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])[./-](?:0?[1-9]|1[0-2])[./-](?:19|20)\d{2})(?!\d)"
)
_ZIP_PLUS_FOUR = re.compile(r"\d{5}-\d{4}")
_DIGIT_RUN = re.compile(r"\d+")
_NATIONAL_AREA = re.compile(r"\(0\d{1,4}\) ?|0\d{1,4}[ ./-]")
_SEPARATOR = re.compile(r"[ .-]")
_MIN_PHONE_DIGITS = 9


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _clear_right(text: str, end: int) -> bool:
    """True when nothing glued to the right of `end` makes the number part of something longer."""
    after = text[end : end + 2]
    if not after:
        return True
    if after[0] == "x" and after[1:].isdigit():
        return True  # an extension: 415-555-0132x12
    if after[0].isalnum() or after[0] in "_@":
        return False
    return not (after[0] in ".,/-" and after[1:].isdigit())


def _overlaps(span: _Span, blocked: Sequence[_Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in blocked)


def _phone_digit_count(candidate: str) -> int:
    return len(_digits(candidate)) - (1 if "(0)" in candidate else 0)


def _plausible_phone(candidate: str, *, max_digits: int) -> bool:
    return (
        _MIN_PHONE_DIGITS <= _phone_digit_count(candidate) <= max_digits
        and _DATE.search(candidate) is None
        and _ZIP_PLUS_FOUR.fullmatch(candidate) is None
    )


def _consistent_national(candidate: str) -> bool:
    """One separator style after the area code: ``020 7946 0958`` yes, ``01.05.2024 10`` no."""
    area = _NATIONAL_AREA.match(candidate)
    if area is None:
        return False
    separators = set(_SEPARATOR.findall(candidate, area.end()))
    area_separator = area[0][-1]
    if area_separator in " .-":
        separators.add(area_separator)
    return len(separators) <= 1


def _international_phone(candidate: str) -> bool:
    return _plausible_phone(candidate, max_digits=15)


def _national_phone(candidate: str) -> bool:
    return _plausible_phone(candidate, max_digits=12) and _consistent_national(candidate)


def _longest_phone(
    text: str, match: re.Match[str], blocked: Sequence[_Span], accept: Callable[[str], bool]
) -> _Span | None:
    """The longest prefix of `match`, ending after a digit group, that reads as a phone number.

    Shortening lets ``+44 20 7946 0958 4111 1111 1111 1111`` yield the phone and leave the card.
    """
    ends = [match.start() + run.end() for run in _DIGIT_RUN.finditer(match[0])]
    for end in reversed(ends):
        span = (match.start(), end)
        candidate = text[span[0] : end]
        if _clear_right(text, end) and not _overlaps(span, blocked) and accept(candidate):
            return span
    return None


def _find_phones(text: str, blocked: Sequence[_Span]) -> Iterator[_Span]:
    for match in _PHONE_INTERNATIONAL.finditer(text):
        found = _longest_phone(text, match, blocked, _international_phone)
        if found:
            yield found
    for match in _PHONE_NORTH_AMERICA.finditer(text):
        if not _overlaps(match.span(), blocked):
            yield match.span()
    for match in _PHONE_NATIONAL.finditer(text):
        found = _longest_phone(text, match, blocked, _national_phone)
        if found:
            yield found
    for match in _PHONE_PLAIN.finditer(text):
        if _PHONE_CUE.search(text, max(0, match.start() - 40), match.start()) and not _overlaps(match.span(), blocked):
            yield match.span()


_BUILTIN_FINDERS: dict[str, _Finder] = {
    "email": _find_emails,
    "phone": _find_phones,
    "card": _find_cards,
    "iban": _find_ibans,
}

# ------------------------------------------------------------------------------------------- redactor

_CUSTOM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*_[1-9]\d*\]")


def _compile_custom(custom: CustomPattern) -> re.Pattern[str]:
    if not _CUSTOM_NAME.fullmatch(custom.name):
        raise ConfigError(
            f"custom redaction pattern name {custom.name!r} is invalid; use letters, digits and underscores, "
            "starting with a letter (it becomes the placeholder, e.g. [EMPLOYEE_ID_1])"
        )
    if custom.name.lower() in BUILTIN_KINDS:
        raise ConfigError(f"custom redaction pattern {custom.name!r} reuses a built-in kind; choose another name")
    try:
        return re.compile(custom.pattern)
    except re.error as exc:
        raise ConfigError(
            f"custom redaction pattern {custom.name!r} has an invalid regex {custom.pattern!r}: {exc}; fix the regex"
        ) from exc


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """A copy of a JSON-like value with `change` applied to every string; dict keys stay as they are."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: _map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_map_strings(item, change) for item in value)
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _non_overlapping(candidates: list[Detection]) -> list[Detection]:
    """Keep the longest candidates (then the earliest) so that no two detections share a character."""
    starts: list[int] = []
    kept: list[Detection] = []
    for candidate in sorted(candidates, key=lambda d: (d.start - d.end, d.start)):
        index = bisect.bisect_right(starts, candidate.start)
        before_clear = index == 0 or kept[index - 1].end <= candidate.start
        after_clear = index == len(kept) or kept[index].start >= candidate.end
        if before_clear and after_clear:
            starts.insert(index, candidate.start)
            kept.insert(index, candidate)
    return kept


class Redactor:
    """Detects sensitive values in text and JSON-like data.

    Example:
        >>> redactor = Redactor(custom=[CustomPattern("employee_id", r"\\bEMP-\\d{6}\\b", "pii")])
        >>> [(d.kind, d.text) for d in redactor.detect("EMP-004211 paid with 4111 1111 1111 1111")]
        [('employee_id', 'EMP-004211'), ('card', '4111 1111 1111 1111')]
    """

    def __init__(self, kinds: Iterable[str] = BUILTIN_KINDS, custom: Sequence[CustomPattern] = ()) -> None:
        self._kinds = tuple(dict.fromkeys(kinds))
        unknown = [kind for kind in self._kinds if kind not in _BUILTIN_FINDERS]
        if unknown:
            raise ConfigError(
                f"unknown redaction kind(s) {', '.join(map(repr, unknown))}; built-in kinds are "
                f"{', '.join(BUILTIN_KINDS)} (add others as custom patterns)"
            )
        names = [pattern.name for pattern in custom]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"custom redaction pattern(s) {', '.join(map(repr, duplicates))} defined twice")
        self._custom = [(pattern, _compile_custom(pattern)) for pattern in custom]

    def detect(self, text: str) -> list[Detection]:
        """Every sensitive value in `text`, sorted by position and never overlapping.

        Where two candidates overlap, the longer wins, then the earlier one.
        """
        # Cards and IBANs are found even when not asked for: their digits must never be read as a phone.
        claimed = {kind: list(_BUILTIN_FINDERS[kind](text, ())) for kind in ("card", "iban")}
        blocked = claimed["card"] + claimed["iban"]
        candidates: list[Detection] = []
        for kind in self._kinds:
            spans = claimed[kind] if kind in claimed else _BUILTIN_FINDERS[kind](text, blocked)
            candidates += [Detection(kind, start, end, text[start:end], DATA_CLASSES[kind]) for start, end in spans]
        for custom, regex in self._custom:
            candidates += [
                Detection(custom.name, m.start(), m.end(), m[0], custom.data_class)
                for m in regex.finditer(text)
                if m.end() > m.start()
            ]
        return _non_overlapping(candidates)

    def classes(self, value: Any) -> set[str]:
        """The data classes found in any string of a JSON-like value (dict keys are not scanned)."""
        return {detection.data_class for text in _strings(value) for detection in self.detect(text)}

    def session(self) -> RedactionSession:
        """A fresh placeholder table for one model call: redact the request, restore the response."""
        return RedactionSession(self)


class RedactionSession:
    """Stable placeholders for one call: the same text always gets the same placeholder.

    Placeholders look like ``[EMAIL_1]``, ``[PHONE_2]``, ``[CARD_1]``, ``[IBAN_1]`` or ``[EMPLOYEE_ID_1]``;
    numbering is per kind. The same value always maps to the same placeholder so a model can still tell
    that two mentions are one person, and distinct values never share one so restoring is exact.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._placeholders: dict[str, str] = {}  # original -> placeholder
        self._originals: dict[str, str] = {}  # placeholder -> original
        self._counts: dict[str, int] = {}
        self._classes: set[str] = set()

    @property
    def replaced(self) -> dict[str, str]:
        """Placeholder -> original text, for everything redacted so far (a copy)."""
        return dict(self._originals)

    def found_classes(self) -> set[str]:
        """The data classes of everything redacted so far, for policy checks and the audit trail."""
        return set(self._classes)

    def redact(self, value: Any) -> Any:
        """A copy of a JSON-like value with every detected value in every string replaced by its placeholder.

        Dict keys and non-string values are returned unchanged.
        """
        return _map_strings(value, self._redact_text)

    def restore(self, value: Any) -> Any:
        """A copy of a JSON-like value with this session's placeholders put back to the original text.

        Placeholders this session did not issue are left as they are.
        """
        return _map_strings(value, self._restore_text)

    def _redact_text(self, text: str) -> str:
        pieces: list[str] = []
        position = 0
        for detection in self._redactor.detect(text):
            pieces += [text[position : detection.start], self._placeholder(detection)]
            position = detection.end
        pieces.append(text[position:])
        return "".join(pieces)

    def _restore_text(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self._originals.get(m[0], m[0]), text)

    def _placeholder(self, detection: Detection) -> str:
        self._classes.add(detection.data_class)
        existing = self._placeholders.get(detection.text)
        if existing is not None:
            return existing
        prefix = detection.kind.upper()
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        placeholder = f"[{prefix}_{self._counts[prefix]}]"
        self._placeholders[detection.text] = placeholder
        self._originals[placeholder] = detection.text
        return placeholder
