"""Runtime settings from the environment (DRMODELS_*), turned into the pure rules' Limits."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from drmodels.rules.limits import Limits, MiB


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRMODELS_")

    data_dir: Path = Path("drmodels-data")
    model_tar_max_bytes: int = 500 * MiB
    checkpoint_file_max_bytes: int = 500 * MiB
    control_file_max_bytes: int = 1 * MiB
    reward_function_max_bytes: int = 1 * MiB

    def limits(self) -> Limits:
        return Limits(
            model_tar_bytes=self.model_tar_max_bytes,
            checkpoint_file_bytes=self.checkpoint_file_max_bytes,
            control_file_bytes=self.control_file_max_bytes,
            reward_function_bytes=self.reward_function_max_bytes,
        )
