"""Speech to text with faster-whisper (CTranslate2, int8 on CPU), VAD and word timestamps.

Whisper's encoder is trained on 30-second windows, and faster-whisper pads every clip to one,
so a 2-second segment costs as much as a 30-second one. CTranslate2 runs the encoder on any
shorter input, so `transcribe(..., window_s=...)` hands it only that many seconds (never fewer
than the audio). How much accuracy a short window costs is measured in `make bench`
(bench/service_latency.py), which is where the live answer's floor comes from.

Greedy decoding can loop: on audio that fills its window and stops mid-word (a draft of the
answer being spoken, live_answer.py) Whisper base said "ref ref ref refining" or read an 8 s
prefix back as 119 words. A loop costs the answer its words and the reply its time (decoding to
the 448-token limit). So each decode may write only as many tokens as anyone could say in the
audio (`token_cap`), and a live transcript that loops (`looped`) is replaced by what the upload
path hears: the full 30 s window, no prompt. An upload's own transcript that loops is decoded
once more with a window as long as the audio; if both decodes repeat only as speakers do (runs
of four or more words said twice) and neither holds more words than the audio could, the
candidate said it, and it stays (`repeated_alike`); otherwise each repetition is kept once.

A short window can also skip: Whisper base may write one segment over the whole audio and end
it after the first of several alike phrases (`skipped`). A windowed transcript with far fewer
words than its speech holds (`voiced_seconds`: a thinking pause is not speech) is heard the
upload path's way too, and the one with more words is kept.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .delivery import Word
from .pcm import SAMPLE_RATE

# faster-whisper's default: when the greedy text looks repetitive or unsure, decode the audio
# again at each rising temperature. On the project's clips the retries made the word error rate
# no better and the tail far slower (a 10 s answer: 1.1 s greedy, 13.7 s with them), so they are
# off unless asked for; bench/transcription_settings.py measures both in one run.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# Faster than anyone speaks: fast speech is about 4 words (5-6 tokens) a second.
MAX_WORDS_PER_S = 6.0
TOKENS_PER_S = 8.0
# Slower than anyone speaks for long: a transcript with fewer words a second than this, of at
# least SKIP_CHECK_S of speech, skipped some (`skipped`).
MIN_WORDS_PER_S = 1.2
SKIP_CHECK_S = 4.0
# Whisper's context is 448 tokens and a prompt takes at most 223 of them (faster-whisper).
MAX_NEW_TOKENS = 220
_NOT_WORD = re.compile(r"[^\w']+")  # punctuation and spaces: dropped when words are compared


@dataclass(frozen=True)
class Transcript:
    text: str
    words: list[Word]
    language_probability: float


def token_cap(seconds: float) -> int:
    """The most tokens a decode of `seconds` of speech may write."""
    return min(MAX_NEW_TOKENS, int(16 + TOKENS_PER_S * seconds))


def _repeated(plain: list[str], start: int) -> tuple[int, int] | None:
    """(size, copies) of the repetition that begins at `start`: one word said three times in a
    row or more, two or three words said three times, or four or more said twice ("file file
    file", "as well as the file as well as the file"); None when no speaker repeats like that."""
    for size in range(1, (len(plain) - start) // 2 + 1):
        if plain[start + size] != plain[start]:
            continue  # no second copy starts here: skip the slices (this runs on every transcript)
        first = plain[start : start + size]
        copies = 1
        while plain[start + copies * size : start + (copies + 1) * size] == first:
            copies += 1
        if copies >= (2 if size >= 4 else 3):
            return size, copies
    return None


def plain_word(word: str) -> str:
    """A word as repetitions and drafts compare it: lower case, punctuation dropped."""
    return _NOT_WORD.sub("", word.lower())


def _plain(words: list[str]) -> list[str]:
    return [plain_word(w) for w in words]


def _too_many(plain: list[str], seconds: float) -> bool:
    return len(plain) > 4 + MAX_WORDS_PER_S * seconds


def _repetitions(plain: list[str]) -> set[tuple[tuple[str, ...], int]]:
    """Each run said again (by `_repeated`'s rule), as its first copy and how many copies."""
    found = set()
    for start in range(len(plain)):
        if repeat := _repeated(plain, start):
            found.add((tuple(plain[start : start + repeat[0]]), repeat[1]))
    return found


def looped(transcript: Transcript, seconds: float) -> bool:
    """More words than the audio could hold, or a repetition speakers seldom make."""
    plain = _plain(transcript.text.split())
    return _too_many(plain, seconds) or any(_repeated(plain, start) for start in range(len(plain)))


def skipped(transcript: Transcript, seconds: float) -> bool:
    """Far fewer words than `seconds` of speech hold. In a window not much longer than the audio,
    Whisper base can write one segment over all of it and end it after the first of several
    alike phrases: "There are four ways: nonconstant pointer to constant data, nonconstant
    pointer to nonconstant data, constant pointer ..." (9.5 s) heard as its first 8 words."""
    return seconds >= SKIP_CHECK_S and len(transcript.text.split()) < MIN_WORDS_PER_S * seconds


def skipped_speech(transcript: Transcript, audio: np.ndarray) -> bool:
    """`skipped` against the audio's length, and then against its speech (`voiced_seconds`): the
    length bounds the speech, so the VAD runs only where the transcript already looks short."""
    seconds = len(audio) / SAMPLE_RATE
    return skipped(transcript, seconds) and skipped(transcript, voiced_seconds(audio))


def voiced_seconds(audio: np.ndarray) -> float:
    """Seconds of speech in `audio`, as faster-whisper's own VAD filter finds them: a thinking
    pause is no speech, so few words around one are no skip."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(audio, VadOptions())
    return sum(span["end"] - span["start"] for span in spans) / SAMPLE_RATE


def said_twice(transcript: Transcript, seconds: float) -> bool:
    """Repeats only as speakers do: runs of four or more words said twice, and no more words than
    the audio could hold (`repeated_alike` asks it of two decodes)."""
    plain = _plain(transcript.text.split())
    if _too_many(plain, seconds):
        return False
    runs = _repetitions(plain)
    return bool(runs) and all(len(words) >= 4 and copies == 2 for words, copies in runs)


def repeated_alike(first: Transcript, second: Transcript, seconds: float) -> bool:
    """Two decodes made differently both repeat only as speakers do, runs of four or more words
    said twice, and neither holds more words than the audio could: the candidate said them. A
    real answer can repeat so ("nonconstant pointer to nonconstant data, constant pointer to
    nonconstant data" holds "constant pointer to nonconstant data" twice once Whisper writes "non
    constant"), and cutting the runs dropped most of that answer. Two decodes seldom loop alike,
    and the loops that come back from both repeat a short run many times ("non-concent data,
    non-concent data, ..."). The runs need not match word for word: the two decodes spell
    them differently ("nonconcent", "non constant")."""
    return said_twice(first, seconds) and said_twice(second, seconds)


def without_repeats(transcript: Transcript) -> Transcript:
    """The transcript with each repetition said once (its words joined as the text)."""
    plain, words, kept, at = _plain([w.text for w in transcript.words]), transcript.words, [], 0
    while at < len(words):
        repeat = _repeated(plain, at)
        size, copies = repeat or (1, 1)
        kept += words[at : at + size]
        at += size * copies
    return Transcript(" ".join(w.text for w in kept), kept, transcript.language_probability)


def spread_words(text: str, start: float, end: float) -> list[Word]:
    """`text`'s words over [start, end], each for a share of it by its length: the times of a
    segment heard without word alignment. Its span is right; the gaps inside it are not measured."""
    tokens = text.split()
    lengths = np.cumsum([0] + [len(t) for t in tokens], dtype=float)
    at = start + (end - start) * lengths / max(lengths[-1], 1.0)
    return [Word(token, float(at[i]), float(at[i + 1])) for i, token in enumerate(tokens)]


def _windowed_model(model_dir: Path, threads: int, compute_type: str) -> object:
    """A WhisperModel whose encoder sees only the calling thread's window (None: the full 30 s)."""
    from faster_whisper import WhisperModel

    class WindowedWhisper(WhisperModel):
        window = threading.local()  # each request's window, on the thread that decodes it

        def encode(self, features: np.ndarray):
            frames = getattr(self.window, "frames", None)
            if frames is not None:
                # generate_segments padded the mel features to 3000 frames: give the encoder
                # back only the window (frames beyond the audio are that padding's zeros).
                features = np.ascontiguousarray(features[..., :frames])
            return super().encode(features)

    return WindowedWhisper(str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=threads)


class SpeechToText:
    """One Whisper model, loaded once. `beam_size` 1 is greedy: the latency-first choice;
    `fallback`: decode again at rising temperatures when the text looks repetitive (see
    FALLBACK_TEMPERATURES)."""

    def __init__(
        self,
        model_dir: Path,
        threads: int,
        beam_size: int = 1,
        compute_type: str = "int8",
        fallback: bool = False,
    ) -> None:
        self.model = _windowed_model(model_dir, threads, compute_type)
        self.beam_size = beam_size
        self.temperatures = FALLBACK_TEMPERATURES if fallback else (0.0,)
        self.loops = 0  # transcripts that looped and were decoded again: what the guard caught
        self.skips = 0  # decodes that skipped words (`skipped_speech`) and were decoded again

    def transcribe(
        self,
        audio: np.ndarray,
        prompt: str | None = None,
        window_s: float | None = None,
        vad: bool = True,
        word_times: bool = True,
    ) -> Transcript:
        """`prompt`: what was said before this audio (Whisper continues it: names, spelling);
        `window_s`: the encoder's window in seconds, at least the audio's length (None: 30 s);
        `word_times`: align each word (a second decoder pass); False spreads each of Whisper's
        segments over its words by their length instead (`spread_words`).
        A transcript that loops, or a windowed one that skipped words, is decoded again (see
        the top)."""
        seconds = len(audio) / SAMPLE_RATE
        heard = self._decode(audio, prompt, window_s, vad, word_times)
        loop = looped(heard, seconds)
        skip = window_s is not None and not loop and skipped_speech(heard, audio)
        self.loops, self.skips = self.loops + loop, self.skips + skip
        if prompt is None and window_s is None:
            return self._as_upload(audio, vad, heard)
        if not (loop or skip):
            return heard
        again = self._as_upload(audio, vad)
        return again if loop or len(again.text.split()) > len(heard.text.split()) else heard

    def _as_upload(self, audio: np.ndarray, vad: bool, heard: Transcript | None = None) -> Transcript:
        """What the upload path hears (`heard`, when decoded already): Whisper's 30 s window, no
        prompt, every word aligned. A decode that loops is checked against a second; one that
        skipped words is decoded again in a window as long as the audio, which on an AMD EPYC (Zen
        3) heard all four items of "There are four ways: nonconstant pointer to constant data,
        ..." where the 30 s window wrote its first eight words."""
        seconds = len(audio) / SAMPLE_RATE
        heard = self._decode(audio, None, None, vad) if heard is None else heard
        if looped(heard, seconds):
            return self._unlooped(audio, heard, vad)
        if not skipped_speech(heard, audio):
            return heard
        self.skips += 1
        again = self._decode(audio, None, seconds, vad)
        said = not looped(again, seconds) or said_twice(again, seconds)
        return again if said and len(again.text.split()) > len(heard.text.split()) else heard

    def _unlooped(self, audio: np.ndarray, heard: Transcript, vad: bool) -> Transcript:
        """An upload's transcript that loops: whole if a decode with a window as long as the audio
        repeats alike (the candidate said it), else with each repetition once."""
        seconds = len(audio) / SAMPLE_RATE
        again = self._decode(audio, None, seconds, vad)
        return heard if repeated_alike(heard, again, seconds) else without_repeats(heard)

    def _decode(
        self,
        audio: np.ndarray,
        prompt: str | None,
        window_s: float | None,
        vad: bool,
        word_times: bool = True,
    ) -> Transcript:
        seconds = len(audio) / SAMPLE_RATE
        frames = None
        if window_s is not None and seconds < 29.0:
            frames = min(3000, 2 * int(np.ceil(max(window_s, seconds + 0.1) * 50)))  # 100 mel frames/s, even
        self.model.window.frames = frames
        try:
            segments, info = self.model.transcribe(
                audio,
                language="en",
                beam_size=self.beam_size,
                temperature=list(self.temperatures),
                vad_filter=vad,  # Silero VAD: skip silence, which also stops hallucinated text in it
                word_timestamps=word_times,
                condition_on_previous_text=False,
                initial_prompt=prompt or None,
                max_new_tokens=token_cap(seconds),
            )
            words, texts = [], []
            for segment in segments:
                texts.append(segment.text.strip())
                if word_times:
                    words += [Word(w.word.strip(), float(w.start), float(w.end)) for w in segment.words or []]
                else:
                    end = min(float(segment.end), seconds)
                    words += spread_words(segment.text, float(segment.start), end)
        finally:
            self.model.window.frames = None
        return Transcript(" ".join(t for t in texts if t), words, float(info.language_probability))
