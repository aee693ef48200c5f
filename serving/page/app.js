// MockMentor page: start a session, record answers with MediaRecorder (or stream them while
// spoken, hands-free: live-answer.js), stream the turn back (server-sent events), play the interviewer's sentences as they arrive,
// rate the feedback, show the report and the progress chart. A coding round swaps the answer
// box for a code editor (CodeMirror 6, vendored in vendor/codemirror.js) and a Run button.
// No network beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  session: null, token: null, turnId: null, recorder: null, chunks: [], questionNo: 0, catalogue: null,
  unsaved: null,  // the last answer until the server confirms its turn: sent again after a failure
  saved: false, failedStatus: 0,
  editor: null, problem: null,  // the coding round's editor and current problem
  thinking: null,  // {recorder, chunks, stream} while the candidate talks through their code
};
const CANDIDATE_KEY = "mockmentor.candidate_token";

function showAlert(message) {
  const box = $("alert");
  box.textContent = message;
  box.hidden = false;
}
function clearAlert() { $("alert").hidden = true; $("alert").textContent = ""; }
function setStatus(text) { $("status").textContent = text; }

// BentoML answers errors as {"error": ...} (sometimes inside a list) or with pydantic "detail".
function errorMessage(body, status) {
  const item = Array.isArray(body) ? body[0] : body;
  if (item && item.detail && item.detail.length) {
    const d = item.detail[0];
    return `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`;
  }
  return (item && item.error) || `the server answered ${status}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(path, options, attempts = 5) {
  let response;
  try {
    response = await fetch(path, { method: "POST", ...options });
  } catch (err) {
    throw new Error("Cannot reach the MockMentor server. Check that it is running, then try again.");
  }
  // Busy: the server says how long to wait; wait and send the same answer again.
  if (response.status === 503 && response.headers.get("Retry-After") && attempts > 1) {
    const wait = Number(response.headers.get("Retry-After"));
    setStatus(`The interviewer is busy with other candidates; trying again in ${wait} s…`);
    await sleep(wait * 1000);
    return call(path, options, attempts - 1);
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    const error = new Error(errorMessage(body, response.status));
    error.status = response.status;
    throw error;
  }
  return response;
}
const postJSON = async (path, body) =>
  (await call(path, { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();

// ---- audio: play each sentence as soon as it arrives, in order --------------------------
const player = { queue: [], playing: false, last: [], current: null, stopped: 0, played: 0 };
function enqueueSpeech(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
  player.queue.push(url);
  player.last.push(url);
  if (!player.playing) playNext();
}
function playNext() {
  const url = player.queue.shift();
  if (!url) { player.playing = false; return; }
  player.playing = true;
  const audio = new Audio(url);
  player.current = audio;
  audio.onended = playNext;
  audio.onerror = playNext;
  audio.play().then(() => { player.played += 1; }).catch(() => playNext());  // refused: the text is on screen
}
function replay() { player.queue.push(...player.last); if (!player.playing) playNext(); }
// Barge-in: the candidate started talking over the interviewer, who stops (the text stays on screen).
function stopSpeech() {
  if (!player.playing) return;
  player.queue = [];
  if (player.current) player.current.pause();
  player.playing = false;
  player.stopped += 1;
}

// ---- setup ------------------------------------------------------------------------------
async function loadCatalogue() {
  try {
    state.catalogue = await postJSON("/catalogue", {});
  } catch (err) { showAlert(err.message); return; }
  const role = $("role");
  role.innerHTML = "";
  for (const name of Object.keys(state.catalogue.roles)) role.add(new Option(name, name));
  fillTopics();
}
function fillTopics() {
  const topic = $("topic");
  topic.innerHTML = "";
  topic.add(new Option("All topics of this role", ""));
  for (const t of state.catalogue.roles[$("role").value] || []) {
    topic.add(new Option(state.catalogue.topic_labels[t] || t, t));
  }
  if (state.catalogue.coding_round === "ok" && state.catalogue.coding_round_roles.includes($("role").value)) {
    topic.add(new Option(state.catalogue.topic_labels["coding-round"], "coding-round"));
  }
}

async function start(event) {
  event.preventDefault();
  clearAlert();
  $("start").disabled = true;
  try {
    const body = {
      role: $("role").value, topic: $("topic").value, difficulty: $("difficulty").value,
      job_description: $("job").value, candidate_token: localStorage.getItem(CANDIDATE_KEY) || "",
    };
    const started = await postJSON("/start_session", body);
    localStorage.setItem(CANDIDATE_KEY, started.candidate_token);
    Object.assign(state, {
      session: started.session_id, token: started.session_token, turnId: null, questionNo: 1, finished: false,
    });
    $("setup").hidden = true; $("report").hidden = true; $("interview").hidden = false; $("result").hidden = true;
    showQuestion(started.reply, started.speech);
    showCoding(started.problem);
    if (started.problem) state.editor.focus(); else $("record").focus();
    listen();  // hands-free: the answer streams as soon as the candidate speaks
  } catch (err) { showAlert(err.message); }
  $("start").disabled = false;
}

function showQuestion(text, speech) {
  $("question-number").textContent = String(state.questionNo);
  $("question").textContent = text;
  $("conversation").innerHTML = "";
  player.last = [];
  for (const s of speech || []) enqueueSpeech(s.audio_wav_base64);
}

// ---- the coding round ---------------------------------------------------------------------
function showCoding(problem) {
  const coding = Boolean(problem);
  $("coding").hidden = !coding;
  document.querySelector(".answer-box").hidden = coding;
  $("result").hidden = true;
  $("run-result").hidden = true;
  $("run-code").disabled = false;
  if (coding) loadProblem(problem);
}

function loadProblem(problem) {
  state.problem = problem;
  $("problem-id").textContent = problem.id;
  $("problem-difficulty").textContent = problem.difficulty;
  $("editor").innerHTML = "";
  state.editor = MockMentorEditor.createEditor($("editor"), problem.starting_code, "Your solution (Python)", () => {
    if (!$("run-code").disabled) runCode();
  });
}

// Thinking aloud while coding: record until the next run, which sends the recording with the code.
async function toggleThinking() {
  clearAlert();
  if (state.thinking) { await stopThinking(); return; }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    showAlert("No microphone could be opened: you can still write and run your code.");
    return;
  }
  const recorder = new MediaRecorder(stream);
  const thinking = { recorder, stream, chunks: [] };
  state.thinking = thinking;
  recorder.ondataavailable = (e) => { if (e.data.size) thinking.chunks.push(e.data); };
  recorder.start();
  $("think-aloud").setAttribute("aria-pressed", "true");
  $("think-aloud").textContent = "Listening… (sent with your next run)";
}

function stopThinking() {
  const thinking = state.thinking;
  state.thinking = null;
  $("think-aloud").setAttribute("aria-pressed", "false");
  $("think-aloud").textContent = "Talk me through it";
  if (!thinking) return Promise.resolve(null);
  return new Promise((resolve) => {
    thinking.recorder.onstop = () => {
      thinking.stream.getTracks().forEach((t) => t.stop());
      resolve(new Blob(thinking.chunks, { type: thinking.recorder.mimeType || "audio/webm" }));
    };
    thinking.recorder.stop();
  });
}

async function runCode() {
  clearAlert();
  $("run-code").disabled = true;
  setStatus("Running your code against the tests…");
  try {
    const code = state.editor.state.doc.toString();
    const speech = await stopThinking();
    let turn;
    if (speech && speech.size) {
      const form = new FormData();
      form.append("session_id", state.session);
      form.append("session_token", state.token);
      form.append("code", code);
      form.append("audio", speech, "reasoning.webm");
      turn = await (await call("/run_code_spoken", { body: form })).json();
    } else {
      turn = await postJSON("/run_code", { session_id: state.session, session_token: state.token, code });
    }
    state.turnId = turn.turn_id;
    showRun(turn.run, turn.reply);
    player.last = [];
    for (const s of turn.speech) enqueueSpeech(s.audio_wav_base64);
    const said = turn.transcript ? ` and said: "${turn.transcript}"` : "";
    addToConversation($("question").textContent, `(ran my code: ${turn.run.message})${said}`, turn.reply, true);
    if (turn.finished) {
      $("question").textContent = "The coding round is over. Open your report to see a reference solution.";
      setStatus("That was the last problem.");
      return;  // Run stays disabled
    }
    if (turn.next_problem) {
      state.questionNo += 1;
      $("question-number").textContent = String(state.questionNo);
      $("question").textContent = turn.next_problem.summary;
      loadProblem(turn.next_problem);
    }
    setStatus(turn.follow_up ? "Answer aloud with “Talk me through it”, then press Run to move on." : "");
  } catch (err) { showAlert(err.message); setStatus(""); }
  $("run-code").disabled = false;
}

function showRun(run, reply) {
  $("run-result").hidden = false;
  $("run-message").textContent = run.message;
  $("run-message").className = run.status === "passed" ? "passed" : "not-passed";
  const list = $("run-failures");
  list.innerHTML = "";
  for (const test of run.tests.filter((t) => !t.passed).slice(0, 3)) {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = test.test;
    li.append("Failed: ", code);
    if (test.got !== null) li.append(` (your function returned ${test.got})`);
    if (test.error) li.append(` (${test.error})`);
    list.append(li);
  }
  $("run-output-box").hidden = !run.output;
  $("run-output").textContent = run.output;
  $("run-feedback").textContent = reply;
}

// ---- answering ----------------------------------------------------------------------------
async function toggleRecording() {
  clearAlert();
  if (state.recorder && state.recorder.state === "recording") { state.recorder.stop(); return; }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
    showAlert(denied
      ? "Microphone access was denied. Allow the microphone for this site in the browser settings, or type your answer instead."
      : "No microphone could be opened. Connect one, or type your answer instead.");
    $("type-instead").open = true;
    return;
  }
  state.chunks = [];
  const recorder = new MediaRecorder(stream);
  state.recorder = recorder;
  recorder.ondataavailable = (e) => { if (e.data.size) state.chunks.push(e.data); };
  recorder.onstop = () => {
    stream.getTracks().forEach((t) => t.stop());
    $("record").setAttribute("aria-pressed", "false");
    $("record").textContent = "Record answer";
    const blob = new Blob(state.chunks, { type: recorder.mimeType || "audio/webm" });
    const form = new FormData();
    form.append("session_id", state.session);
    form.append("session_token", state.token);
    form.append("audio", blob, "answer.webm");
    sendAnswer("/answer_audio_stream", { body: form });
  };
  recorder.start();
  $("record").setAttribute("aria-pressed", "true");
  $("record").textContent = "Stop and send";
  setStatus("Recording… press again when you are done.");
}

function sendText() {
  const text = $("typed").value.trim();
  if (!text) { showAlert("Type an answer first."); return; }
  sendAnswer("/answer_text_stream", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session_id: state.session, session_token: state.token, text }),
  });
}

function resetResult() {
  $("result").hidden = false;
  $("transcript").textContent = "…";
  $("score-block").hidden = true;
  $("delivery").textContent = "";
  $("feedback").textContent = "";
  $("rate-form").reset();
  $("rate-status").textContent = "";
  player.last = [];
}

async function sendAnswer(route, options) {
  clearAlert();
  $("resend").hidden = true;
  state.unsaved = { route, options };
  state.saved = false;
  state.failedStatus = 0;
  setStatus("Listening to your answer…");
  $("record").disabled = true; $("send-text").disabled = true;
  await pauseLive();  // hands-free: the live socket lets go of the turn first
  let shown = false;
  try {
    const response = await call(route, options);
    resetResult();
    shown = true;
    await readEvents(response, handleEvent);
    if (!state.saved && !$("alert").textContent) throw new Error("lost");
  } catch (err) {
    // Dropped mid-turn (server restarted, network gone): nothing was saved, so the answer
    // is kept and can be sent again as it is once the server is back.
    const lost = err instanceof TypeError || err.message === "lost";
    showAlert(lost
      ? "The connection to the server was lost before your answer was saved. Send it again when the server is back."
      : err.message);
    state.failedStatus = lost ? 599 : err.status || 599;  // no status: the server was unreachable
    setStatus("");
  }
  if (state.saved) {
    state.unsaved = null;
    $("typed").value = "";
  } else {
    if (shown) $("result").hidden = true;  // this answer's half-shown turn was not saved: nothing to rate
    if (state.failedStatus >= 500) $("resend").hidden = false;  // a 4xx (no speech heard) is not worth resending
  }
  $("record").disabled = live.on; $("send-text").disabled = false;
  resumeLive();
}

function resend() {
  if (state.unsaved) sendAnswer(state.unsaved.route, state.unsaved.options);
}

// Server-sent events over a POST response: "event: name\ndata: {json}\n\n".
async function readEvents(response, handler) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
      if (data) handler(JSON.parse(data));
    }
    if (done) break;
  }
}

function describeDelivery(d) {
  const parts = [`${d.words} words`];
  if (d.words_per_minute !== null) parts.push(`${d.words_per_minute} words per minute`);
  parts.push(`${d.filler_count} filler${d.filler_count === 1 ? "" : "s"}` +
    (d.filler_count ? ` (${Object.entries(d.fillers).map(([k, v]) => `${k} ×${v}`).join(", ")})` : ""));
  if (d.longest_pause_seconds !== null) parts.push(`${d.long_pauses} pause${d.long_pauses === 1 ? "" : "s"} over 2 s`);
  return parts.join(" · ");
}

function handleEvent(event) {
  if (event.event === "transcript") {
    $("transcript").textContent = event.transcript;
    $("delivery").textContent = describeDelivery(event.delivery);
    setStatus("Scoring…");
  } else if (event.event === "score" && event.off_topic) {
    // No score for an answer that did not address the question: say so, and what gave it away.
    $("score-block").hidden = false;
    $("score").textContent = "–";
    $("interval").textContent = `That doesn't seem to answer the question (${event.evidence.reasons.join("; ")}).`;
    $("interval-bar").style.width = "0";
    setStatus("The interviewer is answering…");
  } else if (event.event === "score") {
    $("score-block").hidden = false;
    $("score").textContent = event.score.toFixed(1);
    $("interval").textContent = `(likely ${event.low.toFixed(1)} to ${event.high.toFixed(1)})`;
    $("interval-bar").style.left = `${(event.low / 5) * 100}%`;
    $("interval-bar").style.width = `${((event.high - event.low) / 5) * 100}%`;
    $("score-mark").style.left = `calc(${(event.score / 5) * 100}% - 2px)`;
    // Neither the missed points nor the reference are shown mid-interview: the report reveals them.
    setStatus("The interviewer is answering…");
  } else if (event.event === "sentence") {
    $("feedback").textContent = `${$("feedback").textContent} ${event.text}`.trim();
    enqueueSpeech(event.audio_wav_base64);
  } else if (event.event === "turn") {
    state.saved = true;
    state.turnId = event.turn_id;
    addToConversation(event.question, event.transcript, event.reply);
    $("feedback").textContent = event.reply;
    setStatus(event.finished ? "That was the last question." : "");
    state.finished = event.finished;
    if (event.finished) {
      $("question").textContent = "The interview is over. Rate the feedback, then open your report.";
      $("record").disabled = true;
    } else {
      state.questionNo += event.follow_up || event.retry ? 0 : 1;
      const again = event.retry ? " (once more)" : event.follow_up ? " (follow-up)" : "";
      $("question-number").textContent = `${state.questionNo}${again}`;
      $("question").textContent = event.next_question;
    }
  } else if (event.event === "error") {
    state.failedStatus = event.status;
    showAlert(event.message);
  }
}

// The interview as a conversation, in order: each question, the answer given, the feedback.
// `askedOnce`: a coding problem is stated once, however many runs it takes (a spoken question
// asked once more is shown again, as the interviewer says it again).
function addToConversation(question, answer, reply, askedOnce = false) {
  const lines = [["Interviewer", question, "asked"], ["You", answer, "answer"], ["Interviewer", reply, "reply"]];
  const asked = [...$("conversation").querySelectorAll("li.asked")].pop();
  if (askedOnce && asked && asked.lastChild.textContent === question) lines.shift();
  for (const [who, text, cls] of lines) {
    const li = document.createElement("li");
    li.className = cls;
    const name = document.createElement("strong");
    name.textContent = `${who}: `;
    li.append(name, document.createTextNode(text));
    $("conversation").append(li);
  }
}

// ---- rating, report ---------------------------------------------------------------------
async function rate(event) {
  event.preventDefault();
  const picked = document.querySelector("input[name=rating]:checked");
  if (!picked) { showAlert("Pick a rating from 1 to 5."); return; }
  const deserved = $("deserved").value;
  try {
    const saved = await postJSON("/rate_turn", {
      session_id: state.session, session_token: state.token, turn_id: state.turnId,
      rating: Number(picked.value), comment: $("comment").value,
      candidate_score: deserved === "" ? null : Number(deserved),
    });
    $("rate-status").textContent = `Thanks: rated ${saved.rating}/5.`;
  } catch (err) { showAlert(err.message); }
}

async function finish() {
  clearAlert();
  try {
    const report = await postJSON("/session_report", { session_id: state.session, session_token: state.token });
    const history = await postJSON("/history", { candidate_token: localStorage.getItem(CANDIDATE_KEY) });
    showReport(report, history);
  } catch (err) { showAlert(err.message); }
}

function showReport(report, history) {
  $("interview").hidden = true;
  $("report").hidden = false;
  const summary = [];
  if (report.coding.length) {
    summary.push(`${report.coding.filter((p) => p.solved).length} of ${report.coding.length} coding problems solved.`);
  } else {
    summary.push(report.mean_score === null ? "No answers yet." : `Mean score ${report.mean_score} out of 5.`);
  }
  if (report.strongest_topic) summary.push(`Strongest topic: ${report.strongest_topic}.`);
  if (report.weakest_topic) summary.push(`Weakest topic: ${report.weakest_topic}.`);
  if (report.words_per_minute !== null) summary.push(`Median pace ${report.words_per_minute} words per minute.`);
  if (report.answers.length) summary.push(`${report.filler_count} filler words, ${report.long_pauses} long pauses.`);
  $("report-summary").textContent = summary.join(" ");
  $("report-advice").innerHTML = "";
  for (const advice of report.delivery_advice) {
    const li = document.createElement("li");
    li.textContent = advice;
    $("report-advice").append(li);
  }
  $("report-table").hidden = !report.answers.length;
  const body = $("report-table").querySelector("tbody");
  body.innerHTML = "";
  for (const a of report.answers) {
    const row = body.insertRow();
    const score = a.off_topic ? "did not answer the question" : `${a.score.toFixed(1)} (${a.low.toFixed(1)}–${a.high.toFixed(1)})`;
    for (const value of [a.position, a.question, a.transcript, score, a.strong_answer || "–", a.tip,
      a.delivery.words_per_minute ?? "–", a.delivery.filler_count]) {
      row.insertCell().textContent = String(value);
    }
  }
  showCodingReport(report.coding);
  const scored = history.sessions.filter((s) => s.mean_score !== null);
  const coded = history.sessions.filter((s) => s.problems_attempted > 0);
  $("score-chart").hidden = !scored.length && coded.length > 0;  // a coder's first report: one chart
  drawProgress("progress", scored, (s) => s.mean_score, 5, "", "No scored sessions yet.");
  $("coding-chart").hidden = !coded.length;
  drawProgress("coding-pass-rate", coded, (s) => Math.round((100 * s.problems_solved) / s.problems_attempted),
    100, "%", "No coding rounds yet.");
  $("coding-progress").innerHTML = "";
  for (const s of history.sessions.filter((item) => item.problems_attempted > 0)) {
    const li = document.createElement("li");
    li.textContent = `${s.created_at.slice(0, 10)}: coding round, ${s.problems_solved} of ${s.problems_attempted} problems solved`;
    $("coding-progress").append(li);
  }
  $("report-title").setAttribute("tabindex", "-1");
  $("report-title").focus();
}

// Each coding problem: the result of the last run, the final code and, revealed now, a reference.
function showCodingReport(problems) {
  $("report-coding").hidden = !problems.length;
  const list = $("report-coding-list");
  list.innerHTML = "";
  for (const p of problems) {
    const section = document.createElement("section");
    const title = document.createElement("h4");
    title.textContent = `${p.problem_id} (${p.difficulty}): ${p.summary}`;
    const result = document.createElement("p");
    result.className = p.solved ? "passed" : "not-passed";
    result.textContent = `${p.solved ? "Solved" : "Not solved"} in ${p.runs} run${p.runs === 1 ? "" : "s"}. Last run: ${p.last_run.message}`;
    const mine = document.createElement("pre");
    mine.textContent = p.final_code || "(no code kept)";
    const reference = document.createElement("pre");
    reference.textContent = p.reference_solution;
    const [h1, h2] = [document.createElement("h5"), document.createElement("h5")];
    h1.textContent = "Your final code";
    h2.textContent = "A reference solution";
    section.append(title, result);
    if (p.follow_up) {
      const asked = document.createElement("p");
      asked.textContent = `Asked once it passed: ${p.follow_up}`;
      section.append(asked);
    }
    for (const words of p.said) {
      const said = document.createElement("p");
      said.textContent = `You said: “${words}”`;
      section.append(said);
    }
    section.append(h1, mine, h2, reference);
    list.append(section);
  }
}

// A line over the candidate's sessions, oldest first: `value` maps a session to [0, top].
function drawProgress(svgId, sessions, value, top, unit, empty) {
  const svg = $(svgId);
  const ns = "http://www.w3.org/2000/svg";
  svg.innerHTML = "";
  const w = 520, h = 200, pad = 42;
  const add = (name, attrs, text) => {
    const el = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  const y = (v) => h - pad - (v / top) * (h - 2 * pad);
  for (const v of [0, top / 2, top]) {
    add("line", { x1: pad, x2: w - 10, y1: y(v), y2: y(v), stroke: "#d5d9e0" });
    add("text", { x: 4, y: y(v) + 4 }, `${v}${unit}`);
  }
  if (!sessions.length) { add("text", { x: pad + 10, y: h / 2 }, empty); return; }
  const x = (i) => pad + (sessions.length === 1 ? (w - pad) / 2 : (i / (sessions.length - 1)) * (w - pad - 20));
  add("polyline", { points: sessions.map((s, i) => `${x(i)},${y(value(s))}`).join(" "),
    fill: "none", stroke: "#1f5fbf", "stroke-width": 2 });
  sessions.forEach((s, i) => {
    add("circle", { cx: x(i), cy: y(value(s)), r: 4, fill: "#1f5fbf" });
    add("text", { x: x(i) - 12, y: h - 8 }, s.created_at.slice(5, 10));
  });
}

function again() {
  $("report").hidden = true;
  $("coding").hidden = true;
  document.querySelector(".answer-box").hidden = false;
  $("setup").hidden = false;
  $("record").disabled = false;
  $("start").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("role").addEventListener("change", fillTopics);
  $("start-form").addEventListener("submit", start);
  $("record").addEventListener("click", toggleRecording);
  $("send-text").addEventListener("click", sendText);
  $("resend").addEventListener("click", resend);
  $("replay").addEventListener("click", replay);
  $("rate-form").addEventListener("submit", rate);
  $("finish").addEventListener("click", finish);
  $("again").addEventListener("click", again);
  $("run-code").addEventListener("click", runCode);
  $("think-aloud").addEventListener("click", toggleThinking);
  if (!window.MediaRecorder || !navigator.mediaDevices) {
    showAlert("This browser cannot record audio here; type your answers instead.");
  }
  loadCatalogue();
});
