// The live video. The playback URL comes from the merchant's own streaming server:
// - a WHEP endpoint (WebRTC; its path has a "whep" segment, as SRS, MediaMTX and others give):
//   played through RTCPeerConnection, receive-only;
// - anything else (HLS .m3u8, MP4, ...): the <video> element's own source (HLS plays natively in
//   Safari and current Chrome/Edge; Firefox needs MP4 or WebRTC).
"use strict";

const LPPlayer = (() => {
  function isWhep(url) {
    try {
      return new URL(url, location.href).pathname.split("/").some((s) => s.toLowerCase() === "whep");
    } catch { return false; }
  }

  function gathered(pc, millis) {
    // WHEP without trickle ICE: send the offer once its candidates are in (or after `millis`).
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, millis);
    });
  }

  async function playWhep(video, url) {
    const pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      video.srcObject = stream;
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 2000);
    const response = await fetch(url, { method: "POST", body: pc.localDescription.sdp,
                                        headers: { "Content-Type": "application/sdp" } });
    if (!response.ok) { pc.close(); throw new Error(`WHEP ${response.status}`); }
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    return pc;
  }

  function start(video, onFailure) {
    const url = video.dataset.src;
    if (!url) return;
    if (isWhep(url)) {
      playWhep(video, url).catch((error) => { console.warn(error); onFailure(); });
    } else {
      video.addEventListener("error", onFailure, { once: true });
      video.src = url;
    }
  }

  return { start, isWhep };
})();

document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("video");
  if (!video) return;
  LPPlayer.start(video, () => {
    video.hidden = true;
    document.getElementById("video-failed").hidden = false;
  });
});
