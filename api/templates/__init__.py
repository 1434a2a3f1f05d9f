"""Jinja2 templates for what people read: icon arrays (SVG) and the printable summary."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).resolve().parent


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE),
        autoescape=select_autoescape(enabled_extensions=("html", "svg", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
