"""`drmodels sample FOLDER`: write a genuine DeepRacer model to try drmodels on, without TensorFlow."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from drmodels.cli.console import console as make_console
from drmodels.cli.options import settings
from drmodels.config import LIMIT_SETTINGS, env_name
from drmodels.rules.limits import FileKind, Limits, file_kind, human_size
from drmodels.rules.metadata import CAMERAS, LIDARS, NETWORKS
from drmodels.sample import SampleError, SampleOptions, write_sample
from drmodels.sample.model import DEFAULT_ACTIONS

NETWORK_ALIASES = {"shallow": NETWORKS[0], "standard": NETWORKS[1], "deep": NETWORKS[2]}
ALGORITHMS = ("clipped_ppo", "sac")


def parse_network(value: str) -> str:
    name = NETWORK_ALIASES.get(value.lower(), value.upper())
    if name not in NETWORKS:
        raise SampleError(
            f"--network {value!r}: use one of {', '.join(NETWORKS)} (or shallow, standard, deep)"
        )
    return name


def parse_sensors(values: list[str] | None) -> tuple[str, ...]:
    """`--sensor A --sensor B`, `--sensor A+B` or `--sensor A,B`; names as in model_metadata.json."""
    if not values:
        return ("FRONT_FACING_CAMERA",)
    known = {s.upper(): s for s in CAMERAS + LIDARS}
    out: list[str] = []
    for value in values:
        for part in value.replace(",", "+").split("+"):
            part = part.strip()
            if not part:
                continue
            name = known.get(part.upper())
            if name is None:
                raise SampleError(f"--sensor {part!r}: use one of {', '.join(CAMERAS + LIDARS)}")
            if name not in out:
                out.append(name)
    return tuple(out)


def options_from(
    network: str, sensors: list[str] | None, algorithm: str, actions: int | None, continuous: bool, car: bool
) -> SampleOptions:
    algo = algorithm.lower()
    if algo not in ALGORITHMS:
        raise SampleError(f"--algorithm {algorithm!r}: use clipped_ppo or sac")
    if actions is not None and (continuous or algo == "sac"):
        why = "--continuous" if continuous else "SAC (always continuous)"
        raise SampleError(f"--actions sets a discrete action space; it cannot be combined with {why}")
    return SampleOptions(
        network=parse_network(network),
        sensors=parse_sensors(sensors),
        algorithm=algo,
        continuous=continuous or algo == "sac",
        actions=DEFAULT_ACTIONS if actions is None else actions,
        car_archive=car,
    )


def over_limits(files: list[tuple[str, int]], limits: Limits) -> list[str]:
    """Notes on written files `drmodels check` will refuse for their size under these limits."""
    notes = []
    for key, size in files:
        kind = file_kind(key)
        if kind not in (FileKind.CAR_ARCHIVE, FileKind.CHECKPOINT):
            continue
        limit, setting = limits.rule(kind).limit, env_name(LIMIT_SETTINGS[kind])
        if size > limit:
            notes.append(
                f"{key} is {human_size(size)}, over the {human_size(limit)} limit: `drmodels check` "
                f"refuses it as the DeepRacer console would (raise {setting} to accept it)"
            )
    return notes


def sample(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Folder to write the model into (new or empty).")
    ],
    network: Annotated[
        str, typer.Option(help="neural_network: DEEP_CONVOLUTIONAL_NETWORK_SHALLOW, _NETWORK or _DEEP.")
    ] = NETWORKS[0],
    sensor: Annotated[
        list[str] | None,
        typer.Option(
            "--sensor",
            help="Sensor(s), repeatable or joined with '+': FRONT_FACING_CAMERA (default), "
            "STEREO_CAMERAS+LIDAR, ...",
        ),
    ] = None,
    algorithm: Annotated[str, typer.Option(help="Training algorithm: clipped_ppo or sac.")] = "clipped_ppo",
    actions: Annotated[
        int | None,
        typer.Option(help=f"Discrete action space of N actions (default {DEFAULT_ACTIONS}).", min=1),
    ] = None,
    continuous: Annotated[
        bool, typer.Option("--continuous", help="Continuous action space (implied by --algorithm sac).")
    ] = False,
    car_archive: Annotated[
        bool,
        typer.Option("--car-archive/--no-car-archive", help="Also write model/model.tar.gz for the car."),
    ] = True,
    force: Annotated[bool, typer.Option("--force", help="Write even if the folder is not empty.")] = False,
) -> None:
    """Write a complete DeepRacer model (checkpoints, graphs, metadata) that passes deep validation.

    Pure Python: the weights are seeded pseudo-random, the files are the ones a trainer writes.
    The same options always give the same bytes.
    """
    console = make_console()
    try:
        options = options_from(network, sensor, algorithm, actions, continuous, car_archive)
        started = time.monotonic()
        result = write_sample(folder, options, force=force)
    except (SampleError, OSError) as exc:
        console.print(f"[red]✘ {escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    elapsed = time.monotonic() - started
    md = result.metadata
    space = "continuous" if md.is_continuous else f"discrete, {md.action_count} actions"
    console.print(
        f"[bold green]✔ Wrote a sample model[/] to {escape(str(folder))} in {elapsed:.1f} s: "
        f"{md.training_algorithm}, {md.neural_network}, sensors {' + '.join(md.sensors)}, {space}; "
        f"{len(result.checkpoints)} checkpoints of {result.tensors} tensors",
        highlight=False,
    )
    for key, size in result.files:
        console.print(f"  {escape(key):<48} {human_size(size):>10}", highlight=False)
    for note in over_limits(result.files, settings().limits()):
        console.print(f"[yellow]! {escape(note)}[/]", highlight=False)
    console.print(f"\nNext: drmodels check {escape(str(folder))}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(sample)
