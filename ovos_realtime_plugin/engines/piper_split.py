"""A piper voice cut in two: the text-to-latent half and the latent-to-audio half, so the audio can be made in pieces.

A piper voice is one ONNX graph from phoneme ids to audio. Its last part (``dec``, a HiFi-GAN vocoder) turns a
latent of 192 numbers per 256 samples into audio and is convolutional: a piece of the latent, with enough of its
neighbours around it, gives exactly that piece's audio (:mod:`.piper_stream`). Cutting the graph where the vocoder
starts (the input of ``/dec/conv_pre/Conv``) lets the first piece of a sentence be heard before the rest is made.

The cut is made once per voice file with the ``onnx`` package, in a child process (``python -m`` this module:
loading the graph costs ~150 MB that the server need not keep), and kept beside the other caches
(``$XDG_CACHE_HOME/ovos-realtime/piper/<voice path's hash>``, with the file's size and time: a changed file is
cut again). Graphs that are not
piper's usual shape (no such node, or a vocoder that needs more than the latent, like a multi-speaker voice's
speaker embedding) are not cut: that voice speaks each sentence whole.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

VOCODER_START = "/dec/conv_pre/Conv"
ENCODER, DECODER = "encoder.onnx", "decoder.onnx"
SPLIT_TIMEOUT_S = 300.0


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ovos-realtime" / "piper"


def split_voice(model: str, root: Path | None = None) -> tuple[str, str] | None:
    """The two halves of the voice at ``model`` (cut now if they are not cached for this very file), or ``None``
    if it cannot be cut. One folder per voice path: a reinstalled voice replaces its old halves."""
    stat = os.stat(model)
    path = os.path.abspath(model)
    folder = (root or cache_root()) / hashlib.sha1(path.encode()).hexdigest()[:16]
    stamp = f"{path}\n{stat.st_size}\n{stat.st_mtime_ns}\n"
    halves = str(folder / ENCODER), str(folder / DECODER)
    if _read(folder / "source") == stamp:
        return halves if all(os.path.exists(half) for half in halves) else None  # else: marked not cut
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=folder.parent))
    try:
        done = subprocess.run([sys.executable, "-m", __name__, model, str(scratch)], capture_output=True,
                              text=True, timeout=SPLIT_TIMEOUT_S, check=False)
        if done.returncode not in (0, 3):
            log.warning("cutting the piper voice %s failed (it speaks whole sentences): %s", model,
                        done.stderr.strip()[-400:])
            return None
        (scratch / "source").write_text(stamp)
        shutil.rmtree(folder, ignore_errors=True)  # the halves of the file this path held before
        try:
            scratch.rename(folder)
        except OSError:  # another process put its own there first: the same halves
            pass
    except subprocess.TimeoutExpired:
        log.warning("cutting the piper voice %s took over %.0f s (it speaks whole sentences)", model, SPLIT_TIMEOUT_S)
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return halves if all(os.path.exists(half) for half in halves) else None


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
    if len(starts) != 1 or [o.name for o in graph.output] != ["output"]:
        Path(out, "not-cut").touch()
        return False
    latent = starts[0].input[0]
    onnx.utils.extract_model(model, os.path.join(out, DECODER), [latent], ["output"])
    needs = {i.name for i in onnx.load(os.path.join(out, DECODER)).graph.input}
    if needs != {latent}:  # e.g. a speaker embedding: not cut
        os.remove(os.path.join(out, DECODER))
        Path(out, "not-cut").touch()
        return False
    onnx.utils.extract_model(model, os.path.join(out, ENCODER), inputs, [latent])
    return True


if __name__ == "__main__":
    sys.exit(0 if cut(sys.argv[1], sys.argv[2]) else 3)
