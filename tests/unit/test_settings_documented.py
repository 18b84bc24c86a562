"""Every setting is documented in docs/settings.md, with its environment variable."""

from __future__ import annotations

from pathlib import Path

from livepledge.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields
               if f"LIVEPLEDGE_{name.upper()}" not in text]
    assert missing == []


def test_documented_settings_exist() -> None:
    import re

    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`LIVEPLEDGE_([A-Z_]+)`", text))
    assert documented - {n.upper() for n in Settings.model_fields} == set()


def test_production_refuses_the_development_secret(tmp_path) -> None:
    import pytest

    from livepledge.record.note import Signer

    key = tmp_path / "record.key"
    key.write_text(Signer.generate("shop.example").private_key_text())
    with pytest.raises(SystemExit):
        Settings(environment="production", record_key_file=key).check_production()
    Settings(environment="production", secret_key="x" * 40, record_key_file=key).check_production()


def test_production_refuses_to_start_without_the_record_key(tmp_path) -> None:
    import pytest

    with pytest.raises(SystemExit, match="signing key"):
        Settings(environment="production", secret_key="x" * 40,
                 record_key_file=tmp_path / "absent.key").check_production()
