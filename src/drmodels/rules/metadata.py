"""model_metadata.json: the schema of what real trainers write, and the simulation app's refusals."""

from __future__ import annotations

from dataclasses import dataclass, field

CAMERAS = ("observation", "FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS")
LIDARS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
NETWORKS = (
    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "DEEP_CONVOLUTIONAL_NETWORK",
    "DEEP_CONVOLUTIONAL_NETWORK_DEEP",
)


@dataclass(frozen=True)
class LidarConfig:
    num_sectors: int = 8
    num_values_per_sector: int = 8
    clipping_dist: float = 2.0


@dataclass(frozen=True)
class ModelMetadata:
    """A model_metadata.json normalised the way the simulation app reads it."""

    sensors: tuple[str, ...]
    """Sensor names as written ('observation' stays lower-case), simapp defaults applied."""
    neural_network: str
    training_algorithm: str
    """'clipped_ppo' or 'sac'."""
    action_space_type: str
    """'discrete' or 'continuous'."""
    discrete_actions: tuple[tuple[float, float], ...] = ()
    """(steering_angle, speed) per action, in list order; empty when continuous."""
    steering_range: tuple[float, float] | None = None
    speed_range: tuple[float, float] | None = None
    lidar_config: LidarConfig = field(default_factory=LidarConfig)
    version: float | None = None

    @property
    def is_continuous(self) -> bool:
        return self.action_space_type == "continuous"

    @property
    def action_count(self) -> int:
        return len(self.discrete_actions)
