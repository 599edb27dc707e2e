"""The accessibility audit: axe-core (vendored in tests/e2e/vendor, never served by the app) run in
the page as it is at that moment, failing the test on any violation.

`audit(page)` checks one state; `audit_everywhere(page, show)` calls `show(page)` (which opens a
page and brings it to a state) at desktop and phone sizes in light and dark, auditing each. The
language is a parameter: an audit of the Chinese interface passes `language="zh-Hans"`, and the
page's `<html lang>` must then say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from playwright.sync_api import Page

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")

# WCAG 2.2 A and AA, and axe's best practices (one h1, every part of the page in a landmark...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
COLOR_SCHEMES = ("light", "dark")


class AccessibilityViolation(AssertionError):
    pass


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary'].strip()}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


def audit(
    page: Page, *, language: str = "en", label: str = "", disable: Iterable[str] = ()
) -> None:
    """Fail with every axe-core violation of the page in its current state."""
    actual = page.evaluate("() => document.documentElement.lang")
    assert actual == language, f"{label or page.url}: <html lang={actual!r}>, not {language!r}"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, so the page's Content-Security-Policy (which
        # refuses inline scripts) neither blocks it nor reports it.
        page.evaluate(f"() => {{ {AXE_SOURCE}\n; window.axe = axe; }}")
    results = page.evaluate(
        """async ([tags, disabled]) => {
            const rules = Object.fromEntries(disabled.map((id) => [id, { enabled: false }]));
            return await axe.run(document, {
                runOnly: { type: "tag", values: tags }, rules, resultTypes: ["violations"],
            });
        }""",
        [TAGS, list(disable)],
    )
    if results["violations"]:
        raise AccessibilityViolation(
            f"axe-core found violations at {label or page.url}:\n{describe(results['violations'])}"
        )


def audit_everywhere(
    page: Page,
    show: Callable[[Page], None],
    *,
    language: str = "en",
    sizes: Iterable[str] = ("desktop", "phone"),
    color_schemes: Iterable[str] = COLOR_SCHEMES,
    name: str = "",
) -> None:
    """Bring the page to a state with `show(page)` at each size and colour scheme, and audit it."""
    for size in sizes:
        for scheme in color_schemes:
            page.set_viewport_size(SIZES[size])
            page.emulate_media(color_scheme=scheme)
            show(page)
            audit(page, language=language, label=f"{name or page.url} ({size}, {scheme})")
    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme="light")
