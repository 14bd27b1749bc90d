"""Text and tokenizer code shared by the scripts that build the tiny models in assets/.

Sources (public domain, from Debian packages):
  King James Bible   `bible -l10000 "gen1:1-rev22:21"` (package bible-kjv): 66 books, 1189 chapters,
                     31102 verses; chapter headings and verse numbers are stripped.
  The Jargon File    /usr/share/doc/jargon-text/jargon.txt.gz (package jargon-text), version 4.4.7.

Tokenizer: SentencePiece BPE with Grok-1's trainer settings (grok-architecture.md 5.1): pad 0,
bos 1, eos 2, unk 3, Grok-1's 65 user-defined pieces at ids 4..68 (so the 256 byte pieces sit at
69..324 as in Grok-1), byte_fallback, split_digits, identity normalisation, dummy prefix on,
extra whitespace kept, whitespace-only pieces allowed. Single-threaded training for determinism.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import tempfile
from typing import Iterable

JARGON_PATH = "/usr/share/doc/jargon-text/jargon.txt.gz"

# Grok-1's user-defined pieces, ids 4..68 (grok-architecture.md 5.1).
USER_DEFINED = (["\n" * i for i in range(1, 11)] + [str(d) for d in range(10)]
                + ["\t" * i for i in range(1, 9)] + [" " * i for i in range(2, 17)]
                + ["<|separator|>", "<|mask|>"] + [f"<|control{i}|>" for i in range(1, 21)])

N_KJV_VERSES = 31102
N_KJV_CHAPTERS = 1189


# ------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------

def kjv_chapters() -> list[tuple[str, list[str]]]:
    """[(heading such as "Genesis 1", [verse text, ...]), ...] in canonical order."""
    kjv = subprocess.run(["bible", "-l10000", "gen1:1-rev22:21"], capture_output=True,
                         text=True, check=True).stdout
    chapters: list[tuple[str, list[str]]] = []
    for line in kjv.split("\n"):
        m = re.match(r"^\s+\d+ (.*)$", line)      # "  12 verse text"
        if m:
            if not chapters:
                raise RuntimeError("KJV text: a verse before the first chapter heading")
            chapters[-1][1].append(m.group(1))
        elif line.strip():                         # "Genesis 1"
            chapters.append((line.strip(), []))
    n_verses = sum(len(v) for _, v in chapters)
    if n_verses != N_KJV_VERSES or len(chapters) != N_KJV_CHAPTERS:
        raise RuntimeError(f"expected {N_KJV_VERSES} KJV verses in {N_KJV_CHAPTERS} chapters, "
                           f"got {n_verses} in {len(chapters)}")
    return chapters


def kjv_verses() -> list[str]:
    """Every verse's text, in order, without chapter headings and verse numbers."""
    return [v for _, verses in kjv_chapters() for v in verses]


def jargon_text() -> str:
    with gzip.open(JARGON_PATH, "rt", encoding="utf-8") as f:
        return f.read()


def jargon_lines() -> list[str]:
    """The Jargon File's non-blank lines, as they are (hard-wrapped, indented)."""
    return [line for line in jargon_text().split("\n") if line.strip()]


def jargon_entries(max_chars: int = 3000) -> list[list[str]]:
    """The Jargon File as documents of unwrapped paragraphs.

    Paragraphs are the blank-line separated blocks, their lines stripped and joined with one
    space. A new document starts at each lexicon entry header (":term: n.") and whenever the
    current one would pass max_chars (the front matter and the appendices have no headers).
    """
    paras = []
    for block in re.split(r"\n\s*\n", jargon_text()):
        words = " ".join(line.strip() for line in block.split("\n") if line.strip())
        if words:
            paras.append(words)
    docs: list[list[str]] = []
    size = 0
    for p in paras:
        header = re.match(r"^:[^:]+:", p) is not None
        if not docs or header or size + len(p) > max_chars:
            docs.append([])
            size = 0
        docs[-1].append(p)
        size += len(p) + 1
    return docs


# ------------------------------------------------------------------------------------------
# tokenizer
# ------------------------------------------------------------------------------------------

def _trainer_args(vocab_size: int) -> dict:
    return dict(
        model_prefix="tokenizer", model_type="bpe", vocab_size=vocab_size,
        pad_id=0, bos_id=1, eos_id=2, unk_id=3,
        pad_piece="[PAD]", bos_piece="[BOS]", eos_piece="[EOS]", unk_piece="[UNK]",
        user_defined_symbols=USER_DEFINED,
        byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        add_dummy_prefix=True, remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, max_sentencepiece_length=16,
        character_coverage=0.9995, num_threads=1, input_sentence_size=0,
        shuffle_input_sentence=False, minloglevel=2)


def train_sentencepiece(out_path: str, vocab_size: int, *, text: str | None = None,
                        input_name: str = "input.txt",
                        sentences: Iterable[str] | None = None,
                        max_sentence_length: int | None = None) -> None:
    """Trains a Grok-1-like SentencePiece BPE model and writes it to out_path.

    Give either `text` (written to a file `input_name` in a temporary directory; the trainer reads
    it line by line, and the stored trainer spec names only that relative file) or `sentences`
    (an iterator; a "sentence" may contain newlines, which then are learnt as the pieces they
    are in running text).
    """
    import sentencepiece as spm

    if (text is None) == (sentences is None):
        raise ValueError("give either text or sentences")
    args = _trainer_args(vocab_size)
    if max_sentence_length is not None:
        args["max_sentence_length"] = max_sentence_length
    with tempfile.TemporaryDirectory() as tmp:
        old = os.getcwd()
        os.chdir(tmp)       # relative names: the trainer spec stored in the model holds no tmp path
        try:
            if text is not None:
                with open(input_name, "w", encoding="utf-8") as f:
                    f.write(text)
                spm.SentencePieceTrainer.Train(input=input_name, **args)
            else:
                spm.SentencePieceTrainer.Train(sentence_iterator=iter(sentences), **args)
            with open("tokenizer.model", "rb") as f:
                data = f.read()
        finally:
            os.chdir(old)
    with open(out_path, "wb") as f:
        f.write(data)
    sp = spm.SentencePieceProcessor(model_file=out_path)
    assert sp.vocab_size() == vocab_size
    assert [sp.id_to_piece(i) for i in range(4)] == ["[PAD]", "[BOS]", "[EOS]", "[UNK]"]
    assert sp.id_to_piece(4) == "\n" and sp.id_to_piece(14) == "0" and sp.id_to_piece(69) == "<0x00>"
