"""The car archive (model.tar.gz): present within its limit, or buildable from the best checkpoint."""

from __future__ import annotations

from drmodels.rules import layout
from drmodels.rules.inspection import Inspection
from drmodels.rules.limits import FileKind
from drmodels.rules.problems import Code, error, warning
from drmodels.rules.repairs import BuildCarArchive


def plan_car_archive(state: Inspection, metadata_key: str | None) -> None:
    archives = [k for k in layout.CAR_ARCHIVES if k in state.present]
    if archives:
        key = archives[0]
        if state.within_limit(key, FileKind.CAR_ARCHIVE, "the model archive"):
            state.plan(key)
        return
    best = state.best
    if best is not None and best.graph_key in state.present:
        graph = best.graph_key
        if metadata_key is None:
            return  # the missing model_metadata.json is reported already; the archive needs it
        if state.within_limit(graph, FileKind.CAR_ARCHIVE, "the model archive built from it"):
            state.plan(graph)
            state.add(
                warning(
                    Code.FILE_DOES_NOT_EXIST,
                    layout.CAR_ARCHIVES[0],
                    f"model.tar.gz is missing; it will be built from {graph}, the frozen graph of "
                    f"{best.name}, and {metadata_key}, as the car expects "
                    "(agent/model.pb + model_metadata.json).",
                    "",
                    repair=BuildCarArchive(graph, metadata_key),
                )
            )
        return
    others = sorted(k for k in state.present if layout.is_other_car_archive(k))
    graphs = sorted(k for k in state.present if layout.is_frozen_graph(k))
    has_model_dir = any(k.startswith(layout.MODEL_DIR) for k in (*state.present, *state.unusable))
    if best is None and (graphs or not has_model_dir):
        return  # which graph is needed follows from the pointer, whose problem is reported already
    seen = ""
    if best is not None and best.graph_key in state.unusable:
        seen += f" {best.graph_key} is there but {state.unusable[best.graph_key].unusable}."
    if others:
        seen += f" Found {', '.join(others)}: rename it to model.tar.gz if it is this model's car archive."
    if graphs:
        seen += f" Found {', '.join(graphs)}, but none for {best.name if best else 'the best checkpoint'}."
    wanted = (
        f"model/model_{best.iteration}.pb (the frozen graph of {best.name})"
        if best
        else "model/model_<iteration>.pb of the best checkpoint"
    )
    state.add(
        error(
            Code.FILE_DOES_NOT_EXIST,
            layout.CAR_ARCHIVES[0],
            f"The car archive is missing: neither model.tar.gz (in model/ or at the root) nor {wanted} "
            f"is there.{seen}",
            f"Upload model.tar.gz, or {wanted.split(' (')[0]} from the training output "
            "so the archive can be built.",
        )
    )
