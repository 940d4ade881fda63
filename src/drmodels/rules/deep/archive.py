"""The car's model.tar.gz: listed by streaming (never extracted), hostile members refused.

The car (aws-deepracer-systems-pkg model_loader) runs `tarfile.extractall` with no member checks,
then wants exactly one `*.pb` anywhere and `model_metadata.json` at the archive root. SageMaker and
DeepRacer-for-Cloud write `agent/model.pb` + `model_metadata.json` (+ sometimes training logs).
So drmodels refuses what would be dangerous to extract (absolute paths, `..`, links, devices,
duplicated names, a compression bomb) and what the car would ignore, and checks that the archive's
metadata and graph agree with the model folder. Nothing is ever written to disk: members are read
from the gzip stream in order; only model_metadata.json and the graph are kept in memory, capped.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import BinaryIO

from drmodels.formats.car_archive import GRAPH_MEMBER, METADATA_MEMBER
from drmodels.formats.tar import INFLATE_ERROR, KINDS, Bomb, Gunzip, hostile, normal_name
from drmodels.rules.deep.graph import check_frozen_graph
from drmodels.rules.limits import MiB
from drmodels.rules.metadata import ModelMetadata, parse_model_metadata
from drmodels.rules.problems import Code, Problem, error, warning


@dataclass(frozen=True)
class ArchiveLimits:
    max_expanded_bytes: int = 1024 * MiB
    """Total uncompressed size of all members; more is treated as a compression bomb."""
    max_members: int = 10_000
    max_metadata_bytes: int = 1 * MiB
    max_graph_bytes: int = 500 * MiB


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    kind: str


@dataclass
class ArchiveInspection:
    members: list[Member] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    metadata_json: bytes | None = None
    graph_name: str | None = None
    graph: bytes | None = None


def inspect_archive(
    stream: BinaryIO, path: str, limits: ArchiveLimits = ArchiveLimits()
) -> ArchiveInspection:
    """List a .tar.gz by streaming it; keep model_metadata.json and the single .pb in memory."""
    out = ArchiveInspection()
    fix_hostile = (
        "Rebuild the archive with only agent/model.pb and model_metadata.json "
        "(e.g. `tar -czf model.tar.gz agent/model.pb model_metadata.json` in the model folder)."
    )

    def refuse(text: str, fix: str = fix_hostile) -> None:
        out.problems.append(error(Code.MODEL_VALIDATION_SERVICE_ERROR, path, f"{path}: {text}", fix))

    header_slack = 1024 * limits.max_members + MiB
    try:
        gunzip = io.BufferedReader(Gunzip(stream, limits.max_expanded_bytes + header_slack), 1 << 20)
        tar = tarfile.open(fileobj=gunzip, mode="r|")  # noqa: SIM115 - read in the loop below
        declared = 0
        seen: set[str] = set()
        pbs: list[str] = []
        for info in tar:
            if len(out.members) >= limits.max_members:
                refuse(f"has more than {limits.max_members} members; refused as a possible archive bomb")
                return out
            name = normal_name(info.name)
            out.members.append(Member(name, info.size, KINDS.get(info.type, repr(info.type))))
            reason = hostile(info)
            if reason is not None:
                refuse(reason)
                continue
            if name in seen and not info.isdir():
                refuse(f"member `{name}` appears twice; extraction would silently keep the last copy")
            seen.add(name)
            declared += info.size
            if info.size > limits.max_expanded_bytes or declared > limits.max_expanded_bytes:
                refuse(
                    f"member `{name}` declares {info.size} bytes, bringing the archive to {declared} "
                    f"uncompressed bytes, past the cap of {limits.max_expanded_bytes}; refused as a "
                    "compression bomb",
                    "Rebuild the archive from the model's frozen graph and metadata.",
                )
                return out
            if not info.isfile():
                continue
            if name == METADATA_MEMBER:
                out.metadata_json = _read_member(tar, info, limits.max_metadata_bytes, refuse, name)
            elif name.endswith(".pb"):
                pbs.append(name)
                if len(pbs) == 1 or name == GRAPH_MEMBER:
                    out.graph_name = name
                    out.graph = _read_member(tar, info, limits.max_graph_bytes, refuse, name)
        _expected(out, pbs, refuse)
    except Bomb as exc:
        refuse(
            f"expands past {limits.max_expanded_bytes} bytes ({exc.args[0]} bytes decompressed so far); "
            "refused as a compression bomb",
            "Rebuild the archive from the model's frozen graph and metadata.",
        )
    except (OSError, EOFError, tarfile.TarError, zlib.error, INFLATE_ERROR, ValueError) as exc:
        where = f" after member `{out.members[-1].name}`" if out.members else ""
        refuse(
            f"is not a valid gzip-compressed tar archive{where}: {exc}",
            "Upload the model.tar.gz the trainer produced, or rebuild it.",
        )
    return out


def _read_member(
    tar: tarfile.TarFile, info: tarfile.TarInfo, cap: int, refuse: Callable[..., None], name: str
) -> bytes | None:
    if info.size > cap:
        refuse(f"member `{name}` is {info.size} bytes, more than the {cap} bytes allowed for it")
        return None
    handle = tar.extractfile(info)
    if handle is None:
        return None
    parts = []
    while part := handle.read(1 << 20):  # bounded reads: tarfile's stream copies grow with the read size
        parts.append(part)
    return b"".join(parts)


def _expected(out: ArchiveInspection, pbs: list[str], refuse: Callable[..., None]) -> None:
    fix = "Rebuild the archive with agent/model.pb and model_metadata.json at its root."
    if not pbs:
        refuse(
            f"has no frozen graph: `{GRAPH_MEMBER}` is missing and no member ends in .pb "
            f"(members: {', '.join(m.name for m in out.members[:8]) or 'none'})",
            fix,
        )
    elif len(pbs) > 1:
        refuse(
            f"holds {len(pbs)} .pb files ({', '.join(pbs[:8])}); the car loads an archive only when it "
            "finds exactly one",
            fix,
        )
    if out.metadata_json is None and not any(m.name == METADATA_MEMBER for m in out.members):
        refuse(
            f"has no `{METADATA_MEMBER}` at its root; the car reads the model's sensors and actions from it",
            fix,
        )


def _differences(a: ModelMetadata, b: ModelMetadata) -> list[str]:
    out = []
    for f in fields(ModelMetadata):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "sensors":
            x, y = sorted(x), sorted(y)
        if f.name == "version":
            continue
        if x != y:
            out.append(f"{f.name}: {x!r} in the archive, {y!r} in the model folder")
    return out


def check_archive(
    stream: BinaryIO,
    path: str,
    folder_metadata: ModelMetadata | None,
    limits: ArchiveLimits = ArchiveLimits(),
) -> tuple[list[Problem], list[Member]]:
    """Everything wrong with a car archive: safety, expected members, metadata agreement, its graph."""
    found = inspect_archive(stream, path, limits)
    problems = list(found.problems)
    metadata = folder_metadata
    if found.metadata_json is not None:
        member_path = f"{path}!{METADATA_MEMBER}"
        parsed, issues = parse_model_metadata(member_path, found.metadata_json)
        problems.extend(replace(p, path=path) for p in issues)
        if parsed is not None and folder_metadata is not None:
            diffs = _differences(parsed, folder_metadata)
            if diffs:
                problems.append(
                    error(
                        Code.MODEL_VALIDATION_SERVICE_ERROR,
                        path,
                        f"{path}: the archive's model_metadata.json disagrees with the model folder's: "
                        + "; ".join(diffs),
                        "Rebuild the archive from the model's current frozen graph and model_metadata.json, "
                        "or "
                        "restore the folder's model_metadata.json.",
                    )
                )
        metadata = folder_metadata or parsed
    if found.graph is not None and found.graph_name is not None:
        if found.graph_name != GRAPH_MEMBER:
            problems.append(
                warning(
                    Code.MODEL_VALIDATION_SERVICE_ERROR,
                    path,
                    f"{path}: the graph is `{found.graph_name}`, not `{GRAPH_MEMBER}`; "
                    "the car accepts any single `.pb`, other tools (DREM, DeepRacer for Cloud) read "
                    f"{GRAPH_MEMBER}",
                    f"Rename the member to {GRAPH_MEMBER}.",
                )
            )
        graph_problems = check_frozen_graph(found.graph, metadata, f"{path}!{found.graph_name}")
        problems.extend(replace(p, path=path) for p in graph_problems)
    return problems, found.members
