"""Dues check types (tax-collected 工会经费 / 建会筹备金), named after what each checks."""

from __future__ import annotations
