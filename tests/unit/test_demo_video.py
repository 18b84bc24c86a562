"""The demo's looping test video: made locally with PyAV (no download), a real WebM that decodes
to the frames written, made once and kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from livepledge.demo_video import DEMO_VIDEO, FPS, HEIGHT, SECONDS, WIDTH, make_demo_video


def test_the_demo_video_is_a_webm_of_the_frames_written_and_is_made_once(tmp_path: Path):
    av = pytest.importorskip("av", reason="the `video` extra (./dev installs it)")
    made = make_demo_video(tmp_path)
    assert made == tmp_path / DEMO_VIDEO
    with av.open(str(made)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("vp8", WIDTH, HEIGHT)
        frames = sum(1 for _ in container.decode(stream))
    assert frames == FPS * SECONDS
    assert not list(tmp_path.rglob("*.partial.webm"))
    stamp = made.stat().st_mtime_ns
    assert make_demo_video(tmp_path) == made and made.stat().st_mtime_ns == stamp  # kept
