"""Simplified Chinese formats over Django's own (settings.FORMAT_MODULE_PATH): numbers grouped
in thousands with commas as Chinese software writes them (CLDR's zh: 1,234,567), and month-day
without a leading zero."""

from __future__ import annotations

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
MONTH_DAY_FORMAT = "n月j日"
