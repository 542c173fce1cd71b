"""Sections that one command owns inside a Markdown report another command writes (BENCHMARKS.md)."""
import pytest

from tinyengine_tflite.markdown_sections import put_section, render_section, sections, write_keeping_sections


def test_put_section_appends_then_replaces_in_place(tmp_path):
    path = tmp_path / "B.md"
    path.write_text("# Report\n\nbody\n")
    put_section(path, "evidence", "## Evidence\n\n| a | 1 |", "cmd one")
    text = path.read_text()
    assert text.startswith("# Report\n\nbody\n\n<!-- section evidence (written by `cmd one`")
    assert text.endswith("| a | 1 |\n<!-- end of section evidence -->\n")
    path.write_text(text + "\ntrailing words\n")
    put_section(path, "evidence", "## Evidence\n\n| a | 2 |", "cmd two")
    text = path.read_text()
    assert "| a | 1 |" not in text and "| a | 2 |" in text and "`cmd two`" in text
    assert text.count("<!-- section evidence") == 1
    assert text.startswith("# Report\n\nbody\n") and text.endswith("trailing words\n")


def test_put_section_creates_the_file(tmp_path):
    path = tmp_path / "sub" / "new.md"
    put_section(path, "s-1", "hello", "c")
    assert sections(path.read_text()) == {"s-1": render_section("s-1", "hello", "c")}


def test_rewriting_the_body_keeps_every_section(tmp_path):
    path = tmp_path / "B.md"
    path.write_text("# Old body\n")
    put_section(path, "one", "first", "c1")
    put_section(path, "two", "second", "c2")
    write_keeping_sections(path, "# New body\n\nnumbers\n")
    text = path.read_text()
    assert text.startswith("# New body\n\nnumbers\n") and "Old body" not in text
    assert list(sections(text)) == ["one", "two"]
    assert "first" in text and "second" in text
    write_keeping_sections(path, "# Newer body\n")        # again: still one copy of each
    assert path.read_text().count("<!-- section one") == 1


def test_section_names_are_checked(tmp_path):
    with pytest.raises(ValueError, match="section name"):
        put_section(tmp_path / "x.md", "bad name -->", "x", "c")
