"""The report as Markdown: for a pull-request comment, a job summary, or an auditor's file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MARKS = {"passed": "✔", "failed": "✘", "inconclusive": "?", "waived": "waived"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _item_name(item: Mapping[str, Any]) -> str:
    return f"{item['check']}[{item['parameter']}]" if item["parameter"] else str(item["check"])


def render_markdown(document: Mapping[str, Any]) -> str:
    items: Sequence[Mapping[str, Any]] = document["items"]
    decision = document["decision"]
    lines = [f"## aurora-guard: promotion {decision['promotion'].upper()}", "",
             f"{decision['line']}", "",
             f"TLS floor {document['settings']['tls_floor']}; cipher allowlist "
             f"{', '.join(s['iana'] or s['code_hex'] for s in document['settings']['cipher_allowlist']['suites'])}"
             f" ({document['settings']['cipher_allowlist']['source']}). Run {document['started_at']} to "
             f"{document['finished_at']} ({document['ran_in']['system']}).", ""]
    endpoints = list(dict.fromkeys(item["endpoint"] for item in items))
    checks = list(dict.fromkeys(_item_name(item) for item in items))
    if items:
        lines += ["| control | " + " | ".join(_cell(e) for e in endpoints) + " |",
                  "|---|" + "---|" * len(endpoints)]
        state = {(item["endpoint"], _item_name(item)): MARKS[item["outcome"]] for item in items}
        lines += [f"| `{check}` | " + " | ".join(state.get((e, check), "") for e in endpoints) + " |"
                  for check in checks]
        lines.append("")
    problems = [item for item in items if item["outcome"] in ("failed", "inconclusive")]
    if problems:
        lines += ["### What blocks promotion", ""]
        for item in problems:
            lines.append(f"- **{_cell(_item_name(item))}** on `{_cell(item['endpoint'])}` "
                         f"({item['outcome']}): {_cell(item['summary'])}")
            if item.get("waiver"):
                lines.append(f"  - waiver: {_cell(item['waiver']['line'])}")
            if item["remedy"]:
                lines.append(f"  - fix: {_cell(item['remedy'])}")
            if item["hipaa_controls"]:
                lines.append(f"  - supports: {'; '.join(item['hipaa_controls'])}")
        lines.append("")
    lines += _waivers(items, document.get("waivers", {}).get("warnings", []))
    return "\n".join(lines)


def _waivers(items: Sequence[Mapping[str, Any]], warnings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Waived failures stay visible with their date, reason, ticket and fix; unused waivers are warned of."""
    waived = [item for item in items if item["outcome"] == "waived"]
    lines: list[str] = []
    if waived:
        lines += ["### Waived (not blocking until the date)", ""]
        for item in waived:
            lines.append(f"- **{_cell(_item_name(item))}** on `{_cell(item['endpoint'])}`: "
                         f"{_cell(item['waiver']['line'])}; the failure: {_cell(item['summary'])}")
            if item["remedy"]:
                lines.append(f"  - fix: {_cell(item['remedy'])}")
        lines.append("")
    if warnings:
        lines += ["### Waiver warnings", ""]
        lines += [f"- {_cell(warning['message'])}" for warning in warnings]
        lines.append("")
    return lines
