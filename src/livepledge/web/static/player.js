// The live video. The playback URL comes from the merchant's own streaming server:
// - a WHEP endpoint (WebRTC; its path has a "whep" segment, as SRS, MediaMTX and others give):
//   played through RTCPeerConnection, receive-only;
// - HLS (.m3u8): natively where the browser can (Safari, current Chrome/Edge), otherwise through
//   hls.js (Media Source Extensions; Firefox), served by this server from the npm package at
//   /vendor/hls.min.js and loaded only when needed;
// - anything else (MP4, WebM, ...): the <video> element's own source.
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

  function isHls(url) {
    try {
      return new URL(url, location.href).pathname.toLowerCase().endsWith(".m3u8");
    } catch { return false; }
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.appendChild(script);
    });
  }

  async function playHlsJs(video, url, onFailure) {
    await loadScript("/vendor/hls.min.js");
    if (!window.Hls || !window.Hls.isSupported()) throw new Error("hls.js unsupported here");
    const hls = new window.Hls();
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) { console.warn("hls.js", data.type, data.details); hls.destroy(); onFailure(); }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.dataset.engine = "hls.js";
    return hls;
  }

  function playNative(video, url, onFailure) {
    video.addEventListener("error", onFailure, { once: true });
    video.dataset.engine = "native";
    // a recorded file (MP4, WebM: the demo's test pattern) plays in a loop in a live room
    if (!isHls(url)) video.loop = true;
    video.src = url;
  }

  function start(video, onFailure) {
    const url = video.dataset.src;
    if (!url) return;
    if (isWhep(url)) {
      video.dataset.engine = "whep";
      playWhep(video, url).catch((error) => { console.warn(error); onFailure(); });
    } else if (isHls(url) && !video.canPlayType("application/vnd.apple.mpegurl")) {
      playHlsJs(video, url, onFailure).catch((error) => {
        console.warn(error);
        playNative(video, url, onFailure);  // without hls.js: try anyway, then say it failed
      });
    } else {
      playNative(video, url, onFailure);
    }
  }

  return { start, isWhep, isHls };
})();

document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("video");
  if (!video) return;
  LPPlayer.start(video, () => {
    video.hidden = true;
    document.getElementById("video-failed").hidden = false;
  });
});
