"""Split an article into retrievable pieces: its title, each alternative question, and the
body cut at headings and paragraphs into passages of bounded size."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ChunkKind(StrEnum):
    TITLE = "title"
    QUESTION = "question"
    PASSAGE = "passage"


@dataclass(frozen=True)
class Chunk:
    kind: ChunkKind
    text: str  # what is embedded
    display: str  # what is shown to the customer when this chunk matched


_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def split_passages(body: str, max_chars: int) -> list[tuple[str | None, str]]:
    """(section heading, passage) pairs; paragraphs are merged up to max_chars."""
    passages: list[tuple[str | None, str]] = []
    heading: str | None = None
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            passages.append((heading, "\n\n".join(buffer)))
            buffer.clear()

    for block in re.split(r"\n\s*\n", body.strip()):
        block = block.strip()
        if not block:
            continue
        match = _HEADING.match(block.splitlines()[0])
        if match:
            flush()
            heading = match.group(1).strip()
            rest = "\n".join(block.splitlines()[1:]).strip()
            if not rest:
                continue
            block = rest
        for piece in _bounded(block, max_chars):
            if buffer and len("\n\n".join([*buffer, piece])) > max_chars:
                flush()
            buffer.append(piece)
    flush()
    return passages


def _bounded(block: str, max_chars: int) -> list[str]:
    """Cut an over-long paragraph at sentence ends (or hard, as a last resort)."""
    if len(block) <= max_chars:
        return [block]
    pieces: list[str] = []
    current = ""
    for sentence in re.split(r"(?<=[.!?])\s+", block):
        while len(sentence) > max_chars:
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def first_paragraph(body: str) -> str:
    for heading, passage in split_passages(body, max_chars=10_000):
        if heading is None:
            return passage.split("\n\n")[0]
    return body.strip().split("\n\n")[0]


def chunk_article(
    title: str, body: str, alternative_questions: list[str], max_chars: int
) -> list[Chunk]:
    summary = first_paragraph(body)
    chunks = [Chunk(ChunkKind.TITLE, title, summary)]
    chunks += [Chunk(ChunkKind.QUESTION, q, summary) for q in alternative_questions if q.strip()]
    for heading, passage in split_passages(body, max_chars):
        # The title gives a passage its topic; the heading narrows it.
        context = f"{title} — {heading}" if heading else title
        chunks.append(Chunk(ChunkKind.PASSAGE, f"{context}: {passage}", passage))
    return chunks
