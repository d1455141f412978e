"""A piper voice cut in two: the text-to-latent half and the latent-to-audio half, so the audio can be made in pieces.

A piper voice is one ONNX graph from phoneme ids to audio. Its last part (``dec``, a HiFi-GAN vocoder) turns a
latent of 192 numbers per 256 samples into audio and is convolutional: a piece of the latent, with enough of its
neighbours around it, gives exactly that piece's audio (:mod:`.piper_stream`). Cutting the graph where the vocoder
starts (the input of ``/dec/conv_pre/Conv``) lets the first piece of a sentence be heard before the rest is made.

The cut is made once per voice file with the ``onnx`` package, in a child process (``python -m`` this module:
loading the graph costs ~150 MB that the server need not keep), and kept beside the other caches
(``$XDG_CACHE_HOME/ovos-realtime/piper/<voice path's hash>``, with the file's size and time: a changed file is
cut again). Graphs that are not
piper's usual shape (no such node, or inputs beyond a single-speaker voice's: a multi-speaker voice's speaker id)
are not cut, and neither is a voice whose cache cannot be written: that voice speaks each sentence whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

VOCODER_START = "/dec/conv_pre/Conv"
ENCODER, DECODER = "encoder.onnx", "decoder.onnx"
SOURCE, NOT_CUT = "source", "not-cut"  # the file the halves were cut from; the mark of a voice that is not cut
ENCODER_INPUTS = {"input", "input_lengths", "scales"}  # a single-speaker piper voice's (no "sid")
SPLIT_TIMEOUT_S = 300.0


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ovos-realtime" / "piper"


def split_voice(model: str, root: Path | None = None) -> tuple[str, str] | None:
    """The two halves of the voice at ``model`` (cut now if they are not cached for this very file), or ``None``
    if it cannot be cut or the cache cannot be written (then the voice speaks whole sentences). One folder per
    voice path: a reinstalled voice replaces its old halves."""
    try:
        return _split(model, root or cache_root())
    except OSError as exc:
        log.warning("cannot cut the piper voice %s (it speaks whole sentences): %s", model, exc)
        return None


def discard(halves: tuple[str, str]) -> None:
    """Forget halves that would not load (a cut interrupted by a power loss): the next start cuts again."""
    shutil.rmtree(Path(halves[0]).parent, ignore_errors=True)


def _split(model: str, root: Path) -> tuple[str, str] | None:
    stat = os.stat(model)
    path = os.path.abspath(model)
    folder = root / hashlib.sha1(path.encode()).hexdigest()[:16]
    stamp = f"{path}\n{stat.st_size}\n{stat.st_mtime_ns}\n"
    if _read(folder / SOURCE) != stamp or not (_cut_here(folder) or (folder / NOT_CUT).exists()):
        root.mkdir(parents=True, exist_ok=True)
        _cut_into(model, folder, stamp)
    if _read(folder / SOURCE) != stamp or not _cut_here(folder):
        return None
    return str(folder / ENCODER), str(folder / DECODER)


def _cut_here(folder: Path) -> bool:
    return all((folder / half).exists() for half in (ENCODER, DECODER))


def _cut_into(model: str, folder: Path, stamp: str) -> None:
    """Cut ``model`` in a scratch folder beside ``folder``, then put it in place (the old one moved aside first,
    so no reader sees a folder half deleted)."""
    _sweep(folder)
    scratch = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=folder.parent))
    try:
        done = subprocess.run([sys.executable, "-m", __name__, model, str(scratch)], capture_output=True,
                              text=True, timeout=SPLIT_TIMEOUT_S, check=False)
        if done.returncode not in (0, 3):
            log.warning("cutting the piper voice %s failed (it speaks whole sentences): %s", model,
                        done.stderr.strip()[-400:])
            return
        (scratch / SOURCE).write_text(stamp)
        if _read(folder / SOURCE) == stamp and _cut_here(folder):
            return  # another process cut the same file meanwhile: its halves are these
        aside = Path(tempfile.mkdtemp(prefix=f"{folder.name}.old-", dir=folder.parent))  # rename replaces it
        with contextlib.suppress(FileNotFoundError):
            folder.rename(aside)
        with contextlib.suppress(OSError):  # another process put its own there first (the stamp tells)
            scratch.rename(folder)
        shutil.rmtree(aside, ignore_errors=True)
    except subprocess.TimeoutExpired:
        log.warning("cutting the piper voice %s took over %.0f s (it speaks whole sentences)", model, SPLIT_TIMEOUT_S)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _sweep(folder: Path) -> None:
    """Remove what cuts of this voice left behind when their process was killed (older than a cut may take)."""
    for left in folder.parent.glob(f"{folder.name}.*"):
        with contextlib.suppress(OSError):
            if time.time() - left.stat().st_mtime > SPLIT_TIMEOUT_S:
                shutil.rmtree(left, ignore_errors=True)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def cut(model: str, out: str) -> bool:
    """Write the two halves of ``model`` into ``out``; ``False`` (and a ``not-cut`` mark) if it is not cut."""
    import onnx  # type: ignore[import-untyped]
    import onnx.utils  # type: ignore[import-untyped]

    graph = onnx.load(model, load_external_data=False).graph
    starts = [node for node in graph.node if node.name == VOCODER_START]
    inputs = [i.name for i in graph.input]
    if len(starts) != 1 or [o.name for o in graph.output] != ["output"] or not set(inputs) <= ENCODER_INPUTS:
        Path(out, NOT_CUT).touch()
        return False
    latent = starts[0].input[0]
    onnx.utils.extract_model(model, os.path.join(out, DECODER), [latent], ["output"])
    needs = {i.name for i in onnx.load(os.path.join(out, DECODER)).graph.input}
    if needs != {latent}:  # e.g. a speaker embedding: not cut
        os.remove(os.path.join(out, DECODER))
        Path(out, NOT_CUT).touch()
        return False
    onnx.utils.extract_model(model, os.path.join(out, ENCODER), inputs, [latent])
    return True


if __name__ == "__main__":
    sys.exit(0 if cut(sys.argv[1], sys.argv[2]) else 3)
