"""What an inspection produces: every problem found, and the copy plan."""

from __future__ import annotations

from dataclasses import dataclass, field

from drmodels.rules.metadata import ModelMetadata
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Problem


@dataclass(frozen=True)
class Plan:
    """The objects an import copies, and whether it builds the car archive from a frozen graph."""

    checkpoints: tuple[str, ...] = ()
    objects: tuple[ObjectInfo, ...] = ()
    build_car_archive: bool = False
    car_archive_graph: str | None = None
    """Key of the model_<iteration>.pb the car archive is built from, when build_car_archive."""
    model_metadata: str | None = None
    """Key of the model_metadata.json the model is described by."""

    def as_dict(self) -> dict[str, object]:
        return {
            "checkpoints": list(self.checkpoints),
            "objects": [{"key": o.key, "size": o.size} for o in self.objects],
            "build_car_archive": self.build_car_archive,
            "car_archive_graph": self.car_archive_graph,
            "model_metadata": self.model_metadata,
        }


@dataclass
class Report:
    source: str
    problems: list[Problem] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    metadata: ModelMetadata | None = None
    """The parsed model_metadata.json the plan uses, for the deep checks."""
    root_off: bool = False
    """The source is a level off (the model/ or ip/ folder itself, or above the model): its one problem
    says so, and nothing else was judged."""

    @property
    def importable(self) -> bool:
        return not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def as_dict(self, checkpoints: list[dict[str, object]] | None = None) -> dict[str, object]:
        """The same keys every time; `checkpoints` (the deep checks' tensors) is null without them."""
        return {
            "source": self.source,
            "importable": self.importable,
            "problems": [p.as_dict() for p in self.problems],
            "plan": self.plan.as_dict(),
            "checkpoints": checkpoints,
        }
