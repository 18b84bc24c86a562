"""In a real browser: the live page plays a WebRTC (WHEP) stream and an HLS stream (natively, or
through hls.js where the browser has no native HLS) from the merchant's streaming server, and says
so plainly when a stream cannot be played, while the room keeps working."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_live_room_browser import ARGS, browser  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# Host candidates as plain loopback addresses (not mDNS names) so two pages can connect.
WEBRTC_ARGS = [*ARGS, "--disable-features=WebRtcHideLocalIpsWithMdns"]

# The streaming server's side, played by a second page: a canvas stream answers the offer.
ANSWER_OFFER = """async (offer) => {
  const pc = new RTCPeerConnection();
  (window.peers = window.peers || []).push(pc);
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  for (const track of window.stream.getTracks()) pc.addTrack(track, window.stream);
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 3000);
  });
  return pc.localDescription.sdp;
}"""
CANVAS_SOURCE = """<canvas id=c width=320 height=180></canvas><script>
  const c = document.getElementById("c"), g = c.getContext("2d"); let n = 0;
  setInterval(() => { g.fillStyle = `hsl(${n++ % 360} 80% 50%)`; g.fillRect(0, 0, 320, 180); }, 50);
  window.stream = c.captureStream(20);
</script>"""


def session_with_video(base: str, merchant_token: str, shop_id: int, anchor_id: int,
                       playback_url: str) -> int:
    response = httpx.post(f"{base}/api/v1/shops/{shop_id}/sessions", headers={
        "Authorization": f"Bearer {merchant_token}"}, json={
        "title": "视频测试", "anchor_id": anchor_id, "playback_url": playback_url,
        "scheduled_at": datetime.now(UTC).isoformat()})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def world(tmp_path, server_factory):  # type: ignore[no-untyped-def]
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=3)
    server = server_factory(env)
    session = httpx.get(f"{server.base_url}/api/v1/sessions/{demo['session_id']}").json()
    return server.base_url, demo, session["anchor"]["id"]


def test_a_whep_stream_plays(world) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_live_room_browser import CHROMIUM

    base, demo, anchor_id = world
    whep = "http://stream.invalid:1985/rtc/v1/whep/?app=live&stream=demo"
    sid = session_with_video(base, demo["merchant_token"], demo["shop_id"], anchor_id, whep)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=WEBRTC_ARGS)
        source = instance.new_page()
        source.set_content(CANVAS_SOURCE)
        viewer = instance.new_page()
        offers: list[str] = []

        def streaming_server(route) -> None:  # type: ignore[no-untyped-def]
            offers.append(route.request.post_data or "")
            answer = source.evaluate(ANSWER_OFFER, offers[-1])
            route.fulfill(status=201, body=answer, headers={
                "Content-Type": "application/sdp", "Access-Control-Allow-Origin": "*"})

        viewer.route("http://stream.invalid:1985/**", streaming_server)
        viewer.goto(f"{base}/live/{sid}")
        # a function, not a string: the page's CSP forbids evaluating strings (no unsafe-eval)
        viewer.wait_for_function(
            "() => document.getElementById('video').videoWidth === 320", timeout=20000)
        assert len(offers) == 1 and "a=recvonly" in offers[0]
        assert viewer.locator("#video-failed").is_hidden()
        instance.close()


def test_a_stream_that_cannot_play_says_so_and_the_room_still_works(browser, world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    base, demo, anchor_id = world
    for url in (f"{base}/static/no-such-stream.mp4", f"{base}/no-such/whep"):
        sid = session_with_video(base, demo["merchant_token"], demo["shop_id"], anchor_id, url)
        page = browser.new_page()
        page.goto(f"{base}/live/{sid}")
        expect(page.locator("#video-failed")).to_be_visible()
        expect(page.locator("#video-failed")).to_contain_text("视频暂时无法播放")
        expect(page.get_by_test_id("seller")).to_contain_text("星河优选旗舰店")
        page.close()


HLS_DIR = Path(__file__).parent / "media" / "hls"
HLS_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
             ".m4s": "video/iso.segment"}
# What a browser without native HLS (Firefox) answers; Media Source Extensions stay available.
NO_NATIVE_HLS = """(() => {
  const real = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : real.call(this, type);
  };
})();"""


def serve_hls(route) -> None:  # type: ignore[no-untyped-def]
    """The merchant's streaming server: the test pattern's playlist and segments."""
    name = route.request.url.rsplit("/", 1)[-1].split("?")[0]
    path = HLS_DIR / name
    if not path.is_file():
        route.fulfill(status=404, body="")
        return
    route.fulfill(status=200, body=path.read_bytes(), headers={
        "Content-Type": HLS_TYPES[path.suffix], "Access-Control-Allow-Origin": "*"})


@pytest.mark.parametrize("native", [False, True], ids=["hls.js", "native"])
def test_an_hls_stream_plays_with_or_without_native_hls(browser, world, native) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, demo, anchor_id = world
    url = "http://stream.invalid/live/demo/index.m3u8"
    sid = session_with_video(base, demo["merchant_token"], demo["shop_id"], anchor_id, url)
    page = browser.new_page()
    if not native:
        page.add_init_script(NO_NATIVE_HLS)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.route("http://stream.invalid/**", serve_hls)
    page.goto(f"{base}/live/{sid}")

    page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 320", timeout=20000)
    engine = page.eval_on_selector("#video", "v => v.dataset.engine")
    assert engine == ("native" if native else "hls.js")
    assert (f"{base}/vendor/hls.min.js" in fetched) is not native  # loaded only when needed
    assert page.locator("#video-failed").is_hidden()
    page.close()
