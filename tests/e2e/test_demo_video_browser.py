"""In a real browser: `livepledge demo --video` gives the room a looping test video made on this
machine (PyAV), served by the app itself, and it plays — no CDN, no download."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import lp_env, run_cli
from tests.e2e.test_console_browser import DEVICES, patient_expect, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_demo_room_plays_its_test_video(browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import json

    pytest.importorskip("av", reason="the `video` extra (./dev installs it)")
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_MEDIA_DIR=str(tmp_path / "media"))
    demo = json.loads(run_cli(["demo", "--seed-only", "--json", "--video", "--buyers", "1"],
                              env).stdout)
    base = server_factory(env).base_url
    sid = demo["session_id"]
    session = httpx.get(f"{base}/api/v1/sessions/{sid}").json()
    assert session["playback_url"] == "/demo/stream.webm"
    served = httpx.get(f"{base}/demo/stream.webm")
    assert (served.status_code, served.headers["content-type"]) == (200, "video/webm")
    assert served.content[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a Matroska/WebM file

    context = browser.new_context(**DEVICES["desktop"], timezone_id="Asia/Shanghai",
                                  locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/live/{sid}")
    # it plays: time advances past a second, and it loops (8 s of video)
    page.wait_for_function("() => { const v = document.getElementById('video');"
                           " return v && v.loop && v.currentTime > 1 && !v.paused; }",
                           timeout=20_000)
    assert page.get_by_test_id("video").get_attribute("data-engine") == "native"
    shot(page, "room-demo-video-desktop")
    context.close()
