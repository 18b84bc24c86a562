"""The demo's video: a short looping test pattern (colour bars, a moving marker and a clock
stripe), encoded locally with PyAV (the `video` extra; FFmpeg's libvpx inside the wheel) into a
WebM every browser plays. Nothing is downloaded; without PyAV the demo runs without video and
says so (docs/operations.md, "Video")."""

from __future__ import annotations

from pathlib import Path

DEMO_VIDEO = "demo/stream.webm"  # under the media directory; served at /demo/stream.webm
WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 25, 8
BARS = ((192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192),
        (192, 0, 0), (0, 0, 192))


def available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def make_demo_video(media_dir: Path) -> Path | None:
    """Write the test pattern once (kept if already there); None when PyAV is missing."""
    target = media_dir / DEMO_VIDEO
    if target.is_file() and target.stat().st_size > 0:
        return target
    if not available():
        return None
    import av
    import numpy as np

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.webm")
    base = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for i, colour in enumerate(BARS):
        base[:, i * WIDTH // len(BARS):(i + 1) * WIDTH // len(BARS)] = colour
    frames = FPS * SECONDS
    with av.open(str(partial), "w") as out:
        stream = out.add_stream("libvpx", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8", "b": "600k"}
        for n in range(frames):
            picture = base.copy()
            x = n * WIDTH // frames  # a marker crossing once per loop
            picture[HEIGHT - 60:HEIGHT - 20, max(0, x - 20):x + 20] = 255
            second = n // FPS  # a stripe per second, so a still frame is easy to spot
            picture[10:30, 10:10 + 40 * (second + 1)] = (255, 255, 255)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    partial.replace(target)  # never a half-written file in place
    return target
