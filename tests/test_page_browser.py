"""The web page in a real browser (Debian's Chromium driven by Playwright), keyboard only.

A recorded clip from data/raw/speech is the browser's microphone (Chromium's fake capture
device), so the page records it with MediaRecorder, uploads webm/opus and shows what the
real models made of it. Screenshots go to tests/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import jiwer
import numpy as np
import pytest
from conftest import SPEECH, Service
from harness import decoded, plain, transcripts, with_thinking_pause

from mockmentor.coding.follow_up import follow_up_question
from mockmentor.speech.pcm import wav_bytes

pytestmark = pytest.mark.slow  # the browser and the service process

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent / "screenshots"
CLIP = SPEECH / "LJ001-0001.wav"  # 9.7 s
QUIET_NETWORK = [
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-quic", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip

if not CHROMIUM.exists():
    if os.environ.get("MOCKMENTOR_REQUIRE_BROWSER") == "1":
        raise RuntimeError(
            "MOCKMENTOR_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing (apt-get install chromium)"
        )
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def launch(playwright, microphone: bool, clip: Path = CLIP):
    args = [*QUIET_NETWORK, "--use-fake-device-for-media-stream"]
    if microphone:
        args += ["--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={clip}%noloop"]
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)


def test_interview_by_microphone_keyboard_only(playwright, service: Service) -> None:
    SHOTS.mkdir(exist_ok=True)
    browser = launch(playwright, microphone=True)
    page = browser.new_page(viewport={"width": 900, "height": 1400})
    try:
        page.goto(f"{service.url}/app/")
        page.wait_for_selector("#role option", state="attached")
        page.select_option("#role", "Software engineer")
        page.select_option("#topic", "intro-programming")
        page.focus("#start")
        page.keyboard.press("Enter")
        page.wait_for_selector("#interview:not([hidden])")
        assert page.text_content("#question").strip().endswith("?")
        assert page.evaluate("document.activeElement.id") == "record"  # focus moved to the next action
        page.screenshot(path=SHOTS / "1-question.png", full_page=True)

        # An answer that says nothing, typed: no score, no praise, and the question once more (the
        # scorer's off-topic signal, which the page and interviewer use).
        page.click("#type-instead summary")
        page.fill("#typed", "I don't know, sorry.")
        page.focus("#send-text")
        page.keyboard.press("Enter")
        page.wait_for_function("typeof state !== 'undefined' && state.turnId !== null", timeout=120_000)
        first_turn = page.evaluate("state.turnId")
        assert page.text_content("#score").strip() == "–"
        assert "doesn't seem to answer the question" in page.text_content("#interval")
        assert page.text_content("#feedback").startswith("That doesn't seem to answer the question")
        assert "(once more)" in page.text_content("#question-number")
        page.screenshot(path=SHOTS / "2-off-topic.png", full_page=True)

        page.focus("#record")
        page.keyboard.press("Space")  # start recording
        page.wait_for_function("document.querySelector('#record').getAttribute('aria-pressed') === 'true'")
        page.wait_for_timeout(10_500)  # the clip plays into the microphone
        page.keyboard.press("Space")  # stop and send
        page.wait_for_function(f"state.turnId !== null && state.turnId !== {first_turn!r}", timeout=120_000)
        transcript = page.text_content("#transcript")
        reference = transcripts()[CLIP.name]
        assert jiwer.wer(reference.lower(), transcript.lower()) < 0.15, transcript
        assert "words per minute" in page.text_content("#delivery")
        # mid-interview the page reveals neither the missed points nor the reference
        assert "Missed" not in page.text_content("#interview")
        # the interview reads as a conversation, in order: question, answer, feedback, twice
        assert page.locator("#conversation li").count() == 6
        assert page.locator("#conversation li.answer").nth(1).text_content().endswith(transcript)
        page.screenshot(path=SHOTS / "3-spoken.png", full_page=True)

        page.focus("input[name=rating][value='4']")
        page.keyboard.press("Space")
        page.fill("#deserved", "3")
        page.focus("#rate")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#rate-status').textContent.includes('Thanks')")
        session, token = page.evaluate("[state.session, state.token]")
        report = service.post("/session_report", json={"session_id": session, "session_token": token}).json()
        typed, spoken = report["answers"]
        assert typed["off_topic"] and spoken["rating"] == 4  # the rating made the round trip
        assert spoken["transcript"] == transcript
        # The page shows what the scorer said of the clip (printing history: usually off topic).
        shown = page.text_content("#score").strip()
        assert shown == ("–" if spoken["off_topic"] else f"{spoken['score']:.1f}"), (shown, spoken)

        page.focus("#finish")
        page.keyboard.press("Enter")
        page.wait_for_selector("#report:not([hidden])")
        assert page.locator("#report-table tbody tr").count() == 2
        table = page.text_content("#report-table")
        assert "did not answer the question" in table
        for answer in report["answers"]:  # after the interview: a strong answer and a tip for each
            assert answer["strong_answer"] and answer["strong_answer"][:40] in table
            assert answer["tip"] in table
        if spoken["off_topic"]:  # no answer of this session was scored: nothing to chart yet
            assert "No scored sessions yet." in page.text_content("#progress")
        else:
            assert page.locator("#progress circle").count() >= 1
        page.screenshot(path=SHOTS / "4-report.png", full_page=True)
    finally:
        browser.close()


def test_denied_microphone_and_unreachable_server_are_explained(playwright, service: Service) -> None:
    browser = launch(playwright, microphone=False)  # no fake UI: the permission prompt is refused
    page = browser.new_page()
    try:
        page.goto(f"{service.url}/app/")
        page.wait_for_selector("#role option", state="attached")
        page.click("#start")
        page.wait_for_selector("#interview:not([hidden])")
        page.click("#record")
        page.wait_for_selector("#alert:not([hidden])")
        assert "denied" in page.text_content("#alert") or "No microphone" in page.text_content("#alert")
        assert page.evaluate("document.querySelector('#type-instead').open")  # typing is offered instead

        # The server dies half way through the turn: the stream ends before the turn is saved.
        half_a_turn = (
            'event: transcript\ndata: {"event": "transcript", "transcript": "A stack", "delivery": '
            '{"words": 2, "words_per_minute": null, "filler_count": 0, "fillers": {}, '
            '"long_pauses": 0, "longest_pause_seconds": null, "seconds": null}}\n\n'
        )
        page.route(
            "**/answer_text_stream",
            lambda route: route.fulfill(status=200, content_type="text/event-stream", body=half_a_turn),
        )
        page.fill("#typed", "A stack is last in, first out.")
        page.click("#send-text")
        page.wait_for_function("document.querySelector('#alert').textContent.includes('was lost')")
        assert page.is_visible("#resend")  # the answer is kept, ready to send again

        page.unroute("**/answer_text_stream")
        page.route("**/answer_text_stream", lambda route: route.abort())  # then the server is gone
        page.click("#resend")
        page.wait_for_function("document.querySelector('#alert').textContent.includes('Cannot reach')")
        assert page.is_visible("#resend")
        page.screenshot(path=SHOTS / "5-errors.png", full_page=True)

        page.unroute("**/answer_text_stream")  # the server is back: the same answer goes through
        page.click("#resend")
        page.wait_for_function("document.querySelector('#typed').value === ''")  # cleared once saved
        assert page.text_content("#feedback") and page.is_hidden("#resend") and page.is_hidden("#alert")
    finally:
        browser.close()


def test_coding_round_keyboard_only(playwright, service: Service, coding_problems: Path) -> None:
    """A coding round in the page, keyboard only: a wrong solution typed into the editor is run with
    the candidate thinking aloud (the clip as microphone) and discussed, a right one moves to the
    next problem, and the report reveals a reference solution."""
    from mockmentor.coding.problems import load_problems

    problems = load_problems(coding_problems)
    SHOTS.mkdir(exist_ok=True)
    browser = launch(playwright, microphone=True)
    page = browser.new_page(viewport={"width": 900, "height": 1600})
    try:
        page.goto(f"{service.url}/app/")
        page.wait_for_selector("#role option", state="attached")
        page.select_option("#role", "Software engineer")
        page.select_option("#topic", "coding-round")
        page.select_option("#difficulty", "easy")
        page.focus("#start")
        page.keyboard.press("Enter")
        page.wait_for_selector("#coding:not([hidden])")
        assert page.is_hidden(".answer-box")
        first = problems[page.text_content("#problem-id").strip()]
        assert page.evaluate(
            "document.activeElement.classList.contains('cm-content')"
        )  # the editor has focus
        assert page.evaluate("state.editor.state.doc.toString()").startswith(first.prompt.lstrip("\n"))
        assert first.canonical_solution.strip() not in page.text_content("body")  # not revealed mid-round

        # Wrong: replace `pass` with `return None`, typed key by key, then Esc, Tab, Enter on Run.
        page.keyboard.press("Control+End")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("End")
        page.keyboard.press("Shift+Home")
        page.keyboard.type("return None")
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "run-code"
        page.keyboard.press("Tab")  # think aloud: the clip plays into the microphone, then run
        page.keyboard.press("Enter")
        page.wait_for_selector("#think-aloud[aria-pressed=true]")
        page.wait_for_timeout(11_000)
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("#run-result:not([hidden])", timeout=120_000)
        conversation = page.text_content("#conversation")
        assert 'and said: "' in conversation, conversation + page.text_content("#alert")
        said = conversation.split('and said: "')[1].split('"')[0]
        assert jiwer.wer(transcripts()["LJ001-0001.wav"].lower(), said.lower()) < 0.25
        assert "tests passed" in page.text_content("#run-message") or "could not be run" in page.text_content(
            "#run-message"
        )
        assert page.text_content("#run-feedback").strip().endswith("?")
        assert page.evaluate("state.editor.state.doc.toString()").rstrip().endswith("return None")
        page.screenshot(path=SHOTS / "coding-1-failed.png", full_page=True)

        # Right: back into the editor (Shift+Tab), select all, type the solution, run with Ctrl+Enter.
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(first.reference_solution)
        page.keyboard.press("Control+Enter")
        asked = follow_up_question(first.reference_solution, first.entry_point, first.test)
        page.wait_for_function(
            f"document.querySelector('#run-feedback').textContent.endsWith({asked!r})", timeout=60_000
        )
        assert page.text_content("#run-message").startswith("All ")
        assert "Talk me through it" in page.text_content("#status")
        page.screenshot(path=SHOTS / "coding-2-follow-up.png", full_page=True)
        page.keyboard.press("Control+Enter")  # run again without answering: the round moves on
        page.wait_for_function(
            f"document.querySelector('#problem-id').textContent !== {first.id!r}", timeout=60_000
        )
        assert "Next problem." in page.text_content("#run-feedback")
        assert "ran my code" in page.text_content("#conversation")
        page.screenshot(path=SHOTS / "coding-3-next-problem.png", full_page=True)

        page.focus("#finish")
        page.keyboard.press("Enter")
        page.wait_for_selector("#report-coding:not([hidden])")
        report = page.text_content("#report-coding")
        assert (
            "Solved in 3 runs" in report
            and f"Asked once it passed: {asked}" in report
            and first.canonical_solution.strip().splitlines()[0].strip() in report
        )
        assert "coding round, 1 of 1 problems solved" in page.text_content("#coding-progress")
        assert page.is_visible("#coding-pass-rate")  # pass rate over time: one point at 100 %
        assert page.locator("#coding-pass-rate circle").count() == 1
        page.screenshot(path=SHOTS / "coding-4-report.png", full_page=True)
    finally:
        browser.close()


def start_hands_free(page, service: Service) -> None:
    """An intro-programming interview started, then hands-free ticked: the microphone opens and
    the live socket streams it."""
    page.goto(f"{service.url}/app/")
    page.wait_for_selector("#role option", state="attached")
    page.select_option("#role", "Software engineer")
    page.select_option("#topic", "intro-programming")
    page.click("#start")
    page.wait_for_selector("#interview:not([hidden])")
    page.check("#hands-free")


def test_hands_free_turn_with_a_thinking_pause_and_barge_in(
    playwright, service: Service, tmp_path: Path
) -> None:
    """Hands-free: the candidate talks over the question (the interviewer stops), pauses mid-sentence
    to think (no cut-in), stops (the answer ends by itself) and hears the reply."""
    from mockmentor.model_assets import resolve
    from mockmentor.speech.transcription import SpeechToText

    audio = decoded(CLIP.name)
    ends = [w.end for w in SpeechToText(resolve("whisper-base"), threads=2).transcribe(audio).words]
    paused, _ = with_thinking_pause(audio, ends, pause_s=2.5)
    lead = np.zeros(3 * 16_000, np.float32)  # the candidate starts 3 s after the microphone opens
    microphone = tmp_path / "hands-free.wav"
    microphone.write_bytes(wav_bytes(np.concatenate([lead, paused, np.zeros(30 * 16_000, np.float32)])))
    browser = launch(playwright, microphone=True, clip=microphone)
    page = browser.new_page(viewport={"width": 900, "height": 1400})

    def wait(condition: str, timeout_s: float, what: str) -> None:
        try:
            page.wait_for_function(condition, timeout=timeout_s * 1000)
        except Exception:  # Playwright's timeout: say what the page showed
            texts = ", ".join(f"$('{i}').textContent" for i in ("live-status", "alert", "transcript"))
            shown = page.evaluate(f"[{texts}, player.stopped, player.played, live.answers]")
            raise AssertionError(f"{what} (page: {shown})") from None

    try:
        start_hands_free(page, service)
        wait("live.sending", 30, "the live socket never became ready")
        page.click("#replay")  # the interviewer says the question again as the candidate starts
        wait("player.stopped >= 1", 30, "the interviewer was not stopped when the candidate spoke")
        wait("live.answers >= 1", 60, "the answer did not end by itself")  # no button pressed
        heard = page.evaluate("player.played")
        wait("state.turnId !== null", 120, "the turn was not saved")
        wait(f"player.played > {heard}", 30, "the reply did not play")
        transcript = page.text_content("#transcript")
        assert jiwer.wer(transcripts()[CLIP.name].lower(), transcript.lower()) < 0.15, transcript
        session, token = page.evaluate("[state.session, state.token]")
        report = service.post("/session_report", json={"session_id": session, "session_token": token}).json()
        # one answer, whole: the interviewer did not cut in during the thinking pause
        assert [a["transcript"] for a in report["answers"]] == [transcript]
        assert page.locator("#conversation li.answer").count() == 1
        page.screenshot(path=SHOTS / "5-hands-free.png", full_page=True)
    finally:
        browser.close()


def test_done_sends_the_last_words_before_it(playwright, service: Service, tmp_path: Path) -> None:
    """Done mid-answer: the part-frame the worklet holds (up to 200 ms of the last words) goes to
    the service before "done", so the answer is heard up to the click, not the last full frame."""
    lead = np.zeros(5 * 16_000, np.float32)  # the candidate starts 5 s after the microphone opens
    microphone = tmp_path / "done.wav"
    microphone.write_bytes(wav_bytes(np.concatenate([lead, decoded(CLIP.name)])))
    sent: list[str | bytes] = []
    browser = launch(playwright, microphone=True, clip=microphone)
    page = browser.new_page()
    page.on("websocket", lambda socket: socket.on("framesent", lambda message: sent.append(message)))
    try:
        start_hands_free(page, service)
        page.wait_for_function("live.sending", timeout=30_000)
        page.wait_for_function("$('live-heard').textContent.length > 0", timeout=30_000)  # speaking
        page.click("#done")
        page.wait_for_function("state.turnId !== null", timeout=120_000)
        done = next(i for i, m in enumerate(sent) if isinstance(m, str) and '"done"' in m)
        frames = [m for m in sent[:done] if isinstance(m, bytes)]
        assert frames and all(len(f) == 6400 for f in frames[:-1]), [len(f) for f in frames]
        assert 0 < len(frames[-1]) < 6400, "Done did not send the part-frame the worklet held"
        transcript = page.text_content("#transcript")
        said, heard = plain(transcripts()[CLIP.name]).split(), plain(transcript).split()
        assert 3 <= len(heard) < len(said), transcript  # the answer up to Done, not the whole clip
        # a slow start may lose the first word before the socket is ready: align on the first heard
        start = next((i for i in range(3) if said[i] == heard[0]), 0)
        assert jiwer.wer(" ".join(said[start : start + len(heard)]), " ".join(heard)) < 0.25, transcript
    finally:
        browser.close()
