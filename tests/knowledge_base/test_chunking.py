from knowledge_base.chunking import ChunkKind, chunk_article, first_paragraph, split_passages

BODY = """Standard shipping takes 3-5 days.

## Express

Express takes 1-2 days.

It costs more.

## Costs

""" + " ".join([f"Long sentence number {i} is here." for i in range(60)])


def test_title_and_questions_become_chunks_showing_the_summary():
    chunks = chunk_article("Shipping times", BODY, ["how fast is delivery"], max_chars=300)
    assert chunks[0].kind == ChunkKind.TITLE
    assert chunks[1].kind == ChunkKind.QUESTION
    assert chunks[1].display == "Standard shipping takes 3-5 days."


def test_passages_follow_headings_and_respect_the_size_bound():
    passages = split_passages(BODY, max_chars=300)
    headings = [h for h, _ in passages]
    assert headings[0] is None and "Express" in headings and "Costs" in headings
    assert all(len(p) <= 300 for _, p in passages)
    assert sum(1 for h, _ in passages if h == "Costs") > 1  # the long section was split


def test_passage_chunks_carry_their_context():
    chunks = chunk_article("Shipping times", BODY, [], max_chars=300)
    express = [c for c in chunks if c.kind == ChunkKind.PASSAGE and "Express takes" in c.text]
    assert express[0].text.startswith("Shipping times — Express:")


def test_first_paragraph():
    assert first_paragraph(BODY) == "Standard shipping takes 3-5 days."
