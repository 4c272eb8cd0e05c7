"""Every REST request the bridge sends, checked against the official OpenAPI spec in `../shared/` (read
there, never copied: a clone without it runs unvalidated, and the tests that need it skip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[3] / "shared"
SPEC_PATH = SHARED / "mattermost-api" / "mattermost-openapi-v4.yaml"
FIXTURES = SHARED / "fixtures" / "mattermost"


class SpecValidator:
    """Checks requests against the official spec, loaded leniently (see its NOTICE)."""

    _cache: dict[Path, Any] = {}

    def __init__(self, spec_path: Path) -> None:
        import yaml
        from openapi_core import Config, OpenAPI

        if spec_path not in self._cache:
            with spec_path.open(encoding="utf-8") as stream:
                spec = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loaders
            spec["servers"] = [{"url": "http://emulator"}]
            self._cache[spec_path] = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self._api = self._cache[spec_path]

    def problems(
        self, method: str, path: str, query: dict[str, list[str]], raw_body: bytes, content_type: str | None
    ) -> str | None:
        from openapi_core.testing import MockRequest

        args = {key: values[-1] for key, values in query.items()}
        mock = MockRequest(
            "http://emulator",
            method.lower(),
            path,
            args=args,
            data=raw_body or None,
            content_type=content_type or "application/json",
            headers={"Authorization": "Bearer x"},
        )
        try:
            self._api.validate_request(mock)
        except Exception as error:
            cause = getattr(error, "__cause__", None)
            return f"{method} {path}: {type(error).__name__}: {error} {cause or ''}".strip()
        return None
