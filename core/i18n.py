"""What the platform itself says to customers (the bot's own sentences, hand-off and wait
notices), in each supported language: one YAML catalogue per locale in core/messages/.

A key missing from a locale's catalogue falls back to English, so a new language can be
added one file at a time (docs/languages.md); a key missing from English is a bug and fails.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUES = Path(__file__).parent / "messages"
FALLBACK = "en"
DATE_FORMATS = {"en": "{d:%B} {d.day}, {d.year}", "zh": "{d.year}年{d.month}月{d.day}日"}


@lru_cache
def catalogue(locale: str) -> dict[str, str]:
    path = CATALOGUES / f"{locale}.yml"
    if not path.exists():
        return {}
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def locales() -> list[str]:
    return sorted(p.stem for p in CATALOGUES.glob("*.yml"))


def _catalogue_for(locale: str | None) -> dict[str, str]:
    if not locale:
        return {}
    found = catalogue(locale)
    if found:
        return found
    base = locale.split("-")[0].lower()
    return next((catalogue(name) for name in locales() if name.split("-")[0].lower() == base),
                {})


def text(key: str, locale: str | None = None, **params: Any) -> str:
    """The sentence `key` in `locale` (English when the locale lacks it), with its
    {placeholders} filled."""
    template = _catalogue_for(locale).get(key) or catalogue(FALLBACK)[key]
    return template.format(**params) if params else template


def format_date(value: date, locale: str | None = None) -> str:
    base = (locale or FALLBACK).split("-")[0].lower()
    return DATE_FORMATS.get(base, DATE_FORMATS[FALLBACK]).format(d=value)
