// Hands-free answers: the microphone streams 16 kHz PCM (pcm-worklet.js) over a WebSocket to
// /live/answer while the candidate speaks. The server transcribes as they go, shows a countdown
// when they stop (speaking again cancels it; "let me think" holds it), ends the answer by
// silence, and streams the turn back as the upload path does. The next answer's socket opens as
// soon as a turn is saved, so talking over the interviewer stops the interviewer (barge-in).
"use strict";

const FRAME_SAMPLES = 3200;  // 200 ms at 16 kHz
const FLUSH_WAIT_MS = 250;  // Done waits this long at most for the worklet's last part-frame
const live = {
  on: false, context: null, node: null, stream: null, socket: null, sending: false, answers: 0, paused: false,
  flushing: null,
};

async function openMicrophone() {
  live.stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
  });
  live.context = new AudioContext({ sampleRate: 16000 });
  await live.context.audioWorklet.addModule("pcm-worklet.js");
  const node = new AudioWorkletNode(live.context, "pcm-frames", { processorOptions: { frameSamples: FRAME_SAMPLES } });
  node.port.onmessage = (e) => {
    if (e.data === "flushed") { if (live.flushing) live.flushing(); return; }
    if (live.sending && live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(e.data);
  };
  live.node = node;
  const mute = live.context.createGain();
  mute.gain.value = 0;  // the worklet must be pulled by the graph to run; nothing is heard
  live.context.createMediaStreamSource(live.stream).connect(node).connect(mute).connect(live.context.destination);
}

function closeMicrophone() {
  if (live.socket) live.socket.close(1000, "hands-free switched off");
  if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
  if (live.context) live.context.close();
  Object.assign(live, { context: null, node: null, stream: null, socket: null, sending: false, flushing: null });
  $("done").hidden = true;
  $("live-status").textContent = "";
  $("live-heard").textContent = "";
}

function handsFreeOff() {
  $("hands-free").checked = false;
  live.on = false;
  $("record").disabled = false;
  closeMicrophone();
}

async function toggleHandsFree() {
  clearAlert();
  live.on = $("hands-free").checked;
  $("record").disabled = live.on;
  if (!live.on) { closeMicrophone(); return; }
  try {
    await openMicrophone();
  } catch (err) {
    $("hands-free").checked = false; live.on = false; $("record").disabled = false;
    showAlert("The microphone could not be opened for hands-free answers; press Record answer instead.");
    return;
  }
  listen();
}

function answering() {
  return live.on && !live.paused && state.session && !state.problem && !state.finished;
}

// A typed answer takes the turn: the live socket cancels (nothing of it is saved) and waits.
function pauseLive() {
  live.paused = true;
  const socket = live.socket;
  if (!socket) return Promise.resolve();
  return new Promise((resolve) => {
    socket.addEventListener("close", () => resolve(), { once: true });
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "cancel" }));
    else socket.close();
  });
}

function resumeLive() {
  live.paused = false;
  listen();
}

// One answer per socket: open it, stream frames until the server ends the answer, then the turn.
function listen() {
  if (!answering() || live.socket) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/live/answer`);
  socket.binaryType = "arraybuffer";
  live.socket = socket;
  socket.onopen = () => socket.send(JSON.stringify({
    session_id: state.session, session_token: state.token, hands_free: true,
  }));
  socket.onmessage = (message) => onLiveEvent(JSON.parse(message.data));
  socket.onclose = (e) => {
    live.socket = null; live.sending = false; live.flushing = null;
    $("done").hidden = true;
    if (live.paused) return;  // cancelled for a typed answer
    if (e.code !== 1000 && e.reason) showAlert(e.reason);
    else if (e.code !== 1000) showAlert("The connection to the server was lost; nothing of that answer was saved.");
    if (e.code === 1000 || e.code === 1009) setTimeout(listen, 0);
    else handsFreeOff();  // refused or lost (1013: the service is busy): the record button still works
  };
}

function onLiveEvent(event) {
  if (event.event === "ready") {
    live.sending = true;
    $("done").hidden = false;
    $("live-status").textContent = "Listening… just talk; the answer ends when you stop.";
  } else if (event.event === "listening") {
    if (event.speaking) stopSpeech();  // barge-in: the candidate talks over the interviewer
    $("live-heard").textContent = event.heard;
    $("live-status").textContent = event.countdown_s !== null
      ? `Finishing in ${event.countdown_s.toFixed(1)} s… keep talking to go on.`
      : event.reason === "asked for time" ? "Take your time. Go on when you are ready, or press Done."
      : event.speaking ? "Listening…" : $("live-status").textContent;
  } else if (event.event === "end") {
    live.sending = false;
    live.answers += 1;
    $("done").hidden = true;
    $("live-status").textContent = event.by === "silence" ? "Got it." : "";
    $("live-heard").textContent = "";
    resetResult();
    state.saved = false;
    $("transcript").textContent = event.transcript;
    setStatus("Scoring…");
  } else {
    handleEvent(event);
  }
}

// Done: the worklet first sends the part-frame it holds (the last words said), then "done"
// follows it on the socket. Should the worklet not answer (a suspended audio context), Done
// goes anyway after FLUSH_WAIT_MS.
function done() {
  const socket = live.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN || live.flushing) return;
  let sent = false;
  const send = () => {
    if (sent) return;
    sent = true;
    live.flushing = null;
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "done" }));
  };
  live.flushing = send;
  if (live.node) live.node.port.postMessage("flush");
  setTimeout(send, live.node ? FLUSH_WAIT_MS : 0);
}

window.addEventListener("DOMContentLoaded", () => {
  $("hands-free").addEventListener("change", toggleHandsFree);
  $("done").addEventListener("click", done);
  if (!window.AudioWorkletNode || !window.WebSocket) $("hands-free").disabled = true;
});
