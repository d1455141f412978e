// The ovos-realtime voice console: plain browser APIs, no bundle. WebRTC (RTCPeerConnection + the
// "oai-events" data channel) or WebSocket (PCM16 24 kHz in and out, base64 in the events).
"use strict";
(() => {
  const RATE = 24000;
  const SEND_SAMPLES = RATE / 10; // 100 ms per input_audio_buffer.append
  const MAX_LOG = 300;
  const $ = (id) => document.getElementById(id);
  // what a test (or a curious user in the dev tools) reads: window.ovosConsole.state
  const state = { connected: false, events: [], user: [], assistant: [], audioDeltas: 0, maxRms: 0,
                  audibleFrames: 0, lastAudibleAt: 0, errors: [] };
  let call = null; // the live connection: {send, close, ctx, ...}

  function log(event) {
    state.events.push(event.type);
    const li = document.createElement("li");
    li.textContent = event.type + (event.error ? " — " + event.error.message : "");
    if (event.type === "error") li.className = "error";
    const list = $("events");
    list.prepend(li);
    while (list.children.length > MAX_LOG) list.lastChild.remove();
  }

  function transcriptLine(role, id) {
    let li = document.querySelector(`#transcript li[data-id="${CSS.escape(id)}"]`);
    if (!li) {
      li = document.createElement("li");
      li.dataset.role = role;
      li.dataset.id = id;
      $("transcript").append(li);
    }
    return li;
  }

  function onEvent(event) {
    log(event);
    switch (event.type) {
      case "conversation.item.input_audio_transcription.completed":
        state.user.push(event.transcript);
        transcriptLine("user", event.item_id).textContent = event.transcript;
        break;
      case "response.output_audio_transcript.delta":
        transcriptLine("assistant", event.item_id).textContent += event.delta;
        break;
      case "response.output_audio_transcript.done":
        state.assistant.push(event.transcript);
        transcriptLine("assistant", event.item_id).textContent = event.transcript;
        break;
      case "response.output_audio.delta":
        state.audioDeltas += 1;
        if (call && call.play) call.play(event.delta);
        break;
      case "input_audio_buffer.speech_started":
        if (call && call.stopPlayback) call.stopPlayback();
        break;
      case "error":
        state.errors.push(event.error);
        break;
    }
  }

  function sessionUpdate() {
    const session = {
      type: "realtime",
      output_modalities: ["audio"],
      audio: {
        input: { format: { type: "audio/pcm", rate: RATE }, turn_detection: { type: $("vad").value },
                 transcription: { model: "whisper-1" } },
        output: { format: { type: "audio/pcm", rate: RATE }, voice: $("voice").value },
      },
    };
    const instructions = $("instructions").value.trim();
    if (instructions) session.instructions = instructions;
    return { type: "session.update", session };
  }

  async function ephemeralKey() {
    // The server mints for its operator's key only on its own machine; elsewhere the key typed here mints.
    const headers = { "Content-Type": "application/json" };
    const typed = $("apikey").value.trim();
    if (typed) headers.Authorization = "Bearer " + typed;
    const reply = await fetch("/console/client_secret", {
      method: "POST", headers,
      body: JSON.stringify({ session: sessionUpdate().session, expires_after: { anchor: "created_at", seconds: 60 } }),
    });
    const body = await reply.json();
    if (!reply.ok) throw new Error(body.error ? body.error.message : reply.statusText);
    return body.value;
  }

  // --- measuring what we hear: the loudest 50 ms seen, and how many 50 ms were audible
  function watchLevel(ctx, node) {
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    node.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      state.maxRms = Math.max(state.maxRms, rms);
      if (rms > 0.01) { state.audibleFrames += 1; state.lastAudibleAt = performance.now(); }
    }, 50);
    return () => clearInterval(timer);
  }

  // --- the microphone, as PCM16 24 kHz (WebSocket mode). The AudioContext runs at the device's own rate (not
  // every browser connects a microphone to a context of another rate): each 24 kHz sample is the mean of the
  // input samples it spans (a box filter against aliasing).
  async function captureMic(ctx, stream, onPcm) {
    await ctx.audioWorklet.addModule("/console/capture.js");
    const source = ctx.createMediaStreamSource(stream);
    const worklet = new AudioWorkletNode(ctx, "pcm-capture");
    const step = ctx.sampleRate / RATE;
    let pending = new Float32Array(0);
    worklet.port.onmessage = ({ data }) => {
      const joined = new Float32Array(pending.length + data.length);
      joined.set(pending);
      joined.set(data, pending.length);
      const count = Math.floor(joined.length / step);
      if (count < SEND_SAMPLES) { pending = joined; return; }
      const pcm = new Int16Array(count);
      for (let i = 0; i < count; i++) {
        const from = Math.floor(i * step), to = Math.max(from + 1, Math.floor((i + 1) * step));
        let sum = 0;
        for (let j = from; j < to; j++) sum += joined[j];
        pcm[i] = Math.max(-1, Math.min(1, sum / (to - from))) * 0x7fff;
      }
      pending = joined.slice(Math.floor(count * step));
      onPcm(pcm);
    };
    source.connect(worklet);
    return () => { source.disconnect(); worklet.disconnect(); };
  }

  function toBase64(int16) {
    const bytes = new Uint8Array(int16.buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }

  function fromBase64(b64) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const pcm = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
    return Float32Array.from(pcm, (s) => s / 0x8000);
  }

  // --- the answer's audio, played as it comes (WebSocket mode)
  function player(ctx) {
    const out = ctx.createGain();
    out.connect(ctx.destination);
    let next = 0;
    let playing = new Set();
    return {
      node: out,
      play(b64) {
        const samples = fromBase64(b64);
        if (!samples.length) return;
        const buffer = ctx.createBuffer(1, samples.length, RATE);
        buffer.copyToChannel(samples, 0);
        const source = ctx.createBufferSource();
        source.buffer = buffer;
        source.connect(out);
        next = Math.max(next, ctx.currentTime + 0.05);
        source.start(next);
        next += buffer.duration;
        playing.add(source);
        source.onended = () => playing.delete(source);
      },
      stop() {
        for (const source of playing) source.stop();
        playing = new Set();
        next = 0;
      },
    };
  }

  async function openWebSocket(key, mic) {
    const ctx = new AudioContext();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/v1/realtime?model=gpt-realtime`,
                             ["realtime", "openai-insecure-api-key." + key]);
    const out = player(ctx);
    const stopLevel = watchLevel(ctx, out.node);
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("WebSocket failed")); });
    const send = (event) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(event));
    ws.onmessage = (message) => onEvent(JSON.parse(message.data));
    ws.onclose = () => hangUp("closed");
    send(sessionUpdate());
    const stopMic = await captureMic(ctx, mic, (pcm) => send({ type: "input_audio_buffer.append", audio: toBase64(pcm) }));
    return {
      send, play: out.play, stopPlayback: out.stop,
      close() { stopMic(); stopLevel(); ws.onclose = null; ws.close(); ctx.close(); },
    };
  }

  async function openWebRtc(key, mic) {
    const ctx = new AudioContext();
    const pc = new RTCPeerConnection();
    const channel = pc.createDataChannel("oai-events");
    const remote = $("remote");
    let stopLevel = () => {};
    pc.ontrack = ({ streams }) => {
      remote.srcObject = streams[0];
      stopLevel = watchLevel(ctx, ctx.createMediaStreamSource(streams[0]));
    };
    for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const reply = await fetch("/v1/realtime/calls", {
      method: "POST", body: pc.localDescription.sdp,
      headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + key },
    });
    const answer = await reply.text();
    if (!reply.ok) throw new Error(`calls: ${reply.status} ${answer}`);
    const location_ = reply.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    const send = (event) => channel.readyState === "open" && channel.send(JSON.stringify(event));
    await new Promise((resolve, reject) => {
      channel.onopen = resolve;
      setTimeout(() => reject(new Error("the data channel did not open")), 10000);
    });
    channel.onmessage = (message) => onEvent(JSON.parse(message.data));
    channel.onclose = () => hangUp("closed");
    send(sessionUpdate());
    return {
      send,
      close() {
        stopLevel();
        channel.onclose = null;
        if (location_) fetch(location_, { method: "DELETE", headers: { Authorization: "Bearer " + key } });
        pc.close();
        ctx.close();
      },
    };
  }

  function gathered(pc) { // all candidates in the offer (waits at most 2 s)
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => pc.iceGatheringState === "complete" && resolve();
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);
    });
  }

  async function connect() {
    status("connecting…");
    const mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: $("transport").value === "webrtc", noiseSuppression: false, autoGainControl: false },
    });
    const open = $("transport").value === "webrtc" ? openWebRtc : openWebSocket;
    try {
      call = await open(await ephemeralKey(), mic);
    } catch (err) {
      for (const track of mic.getTracks()) track.stop();
      throw err;
    }
    call.mic = mic;
    state.connected = true;
    $("mic").setAttribute("aria-pressed", "true");
    $("mic").textContent = "Hang up";
    status("listening (" + $("transport").value + ")");
  }

  function hangUp(why) {
    if (call) {
      call.close();
      for (const track of call.mic.getTracks()) track.stop();
    }
    call = null;
    state.connected = false;
    $("mic").setAttribute("aria-pressed", "false");
    $("mic").textContent = "Talk";
    status(why || "idle");
  }

  function status(text) { $("status").textContent = text; }

  $("mic").addEventListener("click", () => {
    if (call) return hangUp();
    connect().catch((err) => { state.errors.push({ message: String(err) }); hangUp("error: " + err.message); });
  });
  for (const id of ["voice", "vad", "instructions"]) {
    $(id).addEventListener("change", () => call && call.send(sessionUpdate()));
  }
  const wanted = new URLSearchParams(location.search).get("transport");
  if (wanted) $("transport").value = wanted;
  window.ovosConsole = { state, connect, hangUp };
})();
