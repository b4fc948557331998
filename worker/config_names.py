"""Unknown setting names: a typo is refused naming what was probably meant, the rest warned.

Every name an operator can write is checked against ``Settings``'s fields (nested ones too):
``BOOKYFLOW_*`` environment variables, ``BOOKYFLOW_*`` keys of ``.env`` and the keys of the TOML
file (top level and inside tables such as ``[http]`` or ``[jobs.ari]``). A name close to a valid
one (``difflib``) is refused (exit 78): ``unknown setting BOOKYFLOW_HORIZN_DAYS (did you mean
BOOKYFLOW_HORIZON_DAYS?)``. Another unknown name at the top level is warned about once, not
fatal; inside a table it is refused, as the nested models forbid extra keys anyway.

Never checked: the live tests' ``BOOKYFLOW_LIVE_*``, the variables Kubernetes injects for a
Service named ``bookyflow-...`` (``BOOKYFLOW_WORKER_SERVICE_HOST``, ``..._PORT_8081_TCP_ADDR``)
and the names read outside ``Settings`` (``READ_ELSEWHERE``). Only names are ever reported,
never values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["NameReport", "did_you_mean", "known_paths", "scan_names"]

PREFIX = "BOOKYFLOW_"
# Read from the environment before (or instead of) ``Settings``: allowed, never reported.
READ_ELSEWHERE = frozenset({"CONFIG_FILE"})
_NOT_OURS = (
    re.compile(r"LIVE_\w*"),  # tests/live
    # Kubernetes service links of a Service "bookyflow[-...]" (docker links have the same shape).
    re.compile(r"(\w+_)?SERVICE_HOST"),
    re.compile(r"(\w+_)?SERVICE_PORT(_\w+)?"),
    re.compile(r"(\w+_)?PORT_\d+_(TCP|UDP|SCTP)(_(ADDR|PORT|PROTO))?"),
)
# ``<SERVICE>_PORT=tcp://10.0.0.7:8081``: only with that value, so BOOKYFLOW_HEALT_PORT=8081
# is still a typo.
_SERVICE_PORT = re.compile(r"(\w+_)?PORT")
_SERVICE_URL = re.compile(r"(tcp|udp|sctp)://", re.IGNORECASE)
CUTOFF = 0.8

Path_ = tuple[str, ...]


def known_paths(model: type[BaseModel], parent: Path_ = ()) -> Iterator[Path_]:
    """Every settable key path of ``model``: ``("horizon_days",)``, ``("jobs", "ari", ...)``."""
    for name, info in model.model_fields.items():
        path = (*parent, name)
        yield path
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from known_paths(annotation, path)


def did_you_mean(model: type[BaseModel], path: Path_) -> Path_ | None:
    """The valid path closest to ``path`` (a misspelt key or a misplaced ``__``), if any."""
    known = {"__".join(p): p for p in known_paths(model)}
    match = difflib.get_close_matches("__".join(path), known, n=1, cutoff=CUTOFF)
    return known[match[0]] if match else None


@dataclass
class NameReport:
    """What the scan found: ``refused`` problems (one phrase each) and ``warnings`` (the name
    and where it was: ``environment``, ``.env`` or the TOML file's path).

    ``paths`` are the key paths named in ``refused``, so that pydantic's own "extra inputs"
    error for the same key is not reported twice.
    """

    refused: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    paths: set[Path_] = field(default_factory=set)


def scan_names(
    model: type[BaseModel],
    *,
    environ: Mapping[str, str],
    dotenv: Mapping[str, str | None],
    toml: Mapping[str, Any] | None,
    toml_name: str = "",
    also_top: frozenset[str] = frozenset(),
) -> NameReport:
    """Check the names of every source; ``also_top`` are extra TOML top-level keys (``sites``)."""
    report = NameReport()
    known = set(known_paths(model))
    for source, names in (("environment", environ), (".env", dotenv)):
        for name, value in sorted(names.items()):
            if name.upper().startswith(PREFIX):
                _check_env(model, known, name, value or "", source, report)
    if toml is not None:
        _check_table(model, known, toml, (), toml_name, also_top, report)
    return report


def _check_env(
    model: type[BaseModel],
    known: set[Path_],
    name: str,
    value: str,
    source: str,
    report: NameReport,
) -> None:
    rest = name[len(PREFIX) :].upper()
    if rest in READ_ELSEWHERE or _not_ours(rest, value):
        return
    path = tuple(rest.lower().split("__"))
    if path in known:
        return
    guess = did_you_mean(model, path)
    hint = f" (did you mean {PREFIX}{'__'.join(guess).upper()}?)" if guess else ""
    nested = len(path) > 1 and path[:1] in known  # a table's key: its model forbids extras
    where = " in .env" if source == ".env" else ""
    message = f"unknown setting {name}{where}{hint}"
    _found(report, path, message, (name, source), fatal=bool(guess) or nested)


def _not_ours(rest: str, value: str) -> bool:
    if any(pattern.fullmatch(rest) for pattern in _NOT_OURS):
        return True
    return bool(_SERVICE_PORT.fullmatch(rest) and _SERVICE_URL.match(value))


def _check_table(
    model: type[BaseModel],
    known: set[Path_],
    table: Mapping[str, Any],
    parent: Path_,
    where: str,
    also_top: frozenset[str],
    report: NameReport,
) -> None:
    """The keys of one TOML table, then of its sub-tables that are settings models."""
    for key, value in table.items():
        path = (*parent, str(key))
        if not parent and key in also_top:
            continue
        if path not in known:
            guess = did_you_mean(model, path)
            hint = f" (did you mean {'.'.join(guess)}?)" if guess else ""
            message = f"unknown setting {'.'.join(path)} in {where}{hint}"
            name = (".".join(path), where)
            _found(report, path, message, name, fatal=bool(guess) or bool(parent))
        elif isinstance(value, Mapping):
            _check_table(model, known, value, path, where, also_top, report)


def _found(
    report: NameReport, path: Path_, message: str, name: tuple[str, str], *, fatal: bool
) -> None:
    if fatal:
        report.refused.append(message)
        report.paths.add(path)
    else:
        report.warnings.append(name)
