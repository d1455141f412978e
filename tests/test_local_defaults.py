"""A standalone daemon whose mycroft.conf names no location or language takes the host's (TZ, locale); a
location or language the user set wins."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ovos_date_parser import nice_time

from ovos_realtime_plugin.daemon_settings import daemon_settings
from ovos_realtime_plugin.engines.speech import shipped_config
from ovos_realtime_plugin.host_locale import host_lang, host_timezone, local_defaults
from tests.test_daemon import descendants, kill_leftovers, spawn_standalone, terminate, text_turn, wait_healthy

FAR_ZONE = "Pacific/Kiritimati"
"""UTC+14: its clock's hour differs from UTC's and from Kansas's (ovos-config's shipped location)."""


def test_the_timezone_comes_from_tz_then_etc_localtime_then_etc_timezone(tmp_path: Path) -> None:
    assert host_timezone({"TZ": ":Europe/Lisbon"}, tmp_path) == "Europe/Lisbon"
    assert host_timezone({}, tmp_path) == "UTC"  # nothing names one
    (tmp_path / "timezone").write_text("Asia/Tokyo\n")
    assert host_timezone({}, tmp_path) == "Asia/Tokyo"
    (tmp_path / "localtime").symlink_to("/usr/share/zoneinfo/America/Sao_Paulo")
    assert host_timezone({"TZ": "not/a zone"}, tmp_path) == "America/Sao_Paulo"


def test_the_language_comes_from_the_locale_when_ovos_has_it() -> None:
    supported = {"en", "de", "pt"}
    assert host_lang(supported, {"LANG": "de_DE.UTF-8"}) == "de-DE"
    assert host_lang(supported, {"LC_ALL": "pt_BR.UTF-8", "LANG": "de_DE.UTF-8"}) == "pt-BR"
    assert host_lang(supported, {"LANG": "C.UTF-8"}) is None
    assert host_lang(supported, {"LANG": "tlh_XX.UTF-8"}) is None
    assert host_lang(supported, {}) is None


def test_only_what_mycroft_conf_leaves_as_shipped_is_taken_from_the_host() -> None:
    shipped = shipped_config()
    env = {"TZ": FAR_ZONE, "LANG": "de_DE.UTF-8"}
    found = local_defaults(shipped, shipped, env)
    assert found["location"]["timezone"]["code"] == FAR_ZONE and found["lang"] == "de-DE"
    assert found["location"]["timezone"]["offset"] == 14 * 3600 * 1000
    user = {**shipped, "lang": "pt-PT", "location": {"timezone": {"code": "Europe/Lisbon"}}}
    assert local_defaults(user, shipped, env) == {}


def test_standalone_settings_give_the_skills_the_host_zone_unless_the_user_set_a_location(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", FAR_ZONE)
    shipped = shipped_config()
    settings = daemon_settings(shipped, standalone=True)
    assert settings.skills is not None
    assert settings.skills.config["location"]["timezone"]["code"] == FAR_ZONE
    assert settings.assistant.location == settings.skills.config["location"]  # each session's own location
    lisbon = {"timezone": {"code": "Europe/Lisbon"}}
    settings = daemon_settings({**shipped, "location": lisbon}, standalone=True)
    assert settings.skills is not None and settings.skills.config["location"] == lisbon
    joined = daemon_settings(shipped)  # joining a device: its skills have their own config
    assert joined.skills is None


def spoken_times(zone: str, around: datetime.datetime) -> set[str]:
    """What the date-time skill says for the minutes around ``around`` in ``zone``."""
    return {nice_time(around.astimezone(ZoneInfo(zone)) + datetime.timedelta(minutes=m), lang="en-us",
                      speech=True, use_24hour=False, use_ampm=False) for m in (-1, 0, 1)}


async def test_a_standalone_daemon_under_tz_tells_that_zones_time(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", FAR_ZONE)  # the daemon's environment (the test's own clock is not used)
    proc, port, _ = await spawn_standalone(tmp_path)
    children: list[int] = []
    try:
        await wait_healthy(port, lambda: proc.returncode is None)
        children = descendants(proc.pid)
        answer = (await text_turn(port, "what time is it")).lower()
        now = datetime.datetime.now(datetime.timezone.utc)
        assert any(spoken in answer for spoken in spoken_times(FAR_ZONE, now)), answer
        assert not any(spoken in answer for spoken in spoken_times("America/Chicago", now)), answer
        conf = json.loads((tmp_path / "skills" / "config" / "mycroft" / "mycroft.conf").read_text())
        assert conf["location"]["timezone"]["code"] == FAR_ZONE
        await terminate(proc, children, tmp_path)
    finally:
        await kill_leftovers(proc, children)
