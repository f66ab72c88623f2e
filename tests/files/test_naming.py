"""The filename and sniffing rules on their own (their HTTP behaviour is in test_upload)."""

from hypothesis import given
from hypothesis import strategies as st

from backoffice.files.naming import content_disposition, safe_filename
from backoffice.files.sniffing import sniff_content_type


@given(st.text())
def test_safe_filename_never_holds_a_path_or_a_control_character(raw: str) -> None:
    name = safe_filename(raw)
    assert name
    assert len(name) <= 255
    assert "/" not in name
    assert "\\" not in name
    assert not name.startswith(".")
    assert all(ch.isprintable() or ch == " " for ch in name)


def test_control_characters_are_dropped() -> None:
    assert safe_filename("new\nline\r.png") == "newline.png"
    assert safe_filename(None) == "upload"


@given(st.text(min_size=1))
def test_content_disposition_is_one_header_line_with_an_ascii_fallback(raw: str) -> None:
    value = content_disposition(safe_filename(raw))
    assert value.startswith('attachment; filename="')
    assert value.isascii()
    assert "\r" not in value
    assert "\n" not in value
    fallback = value.split('"')[1]
    assert '"' not in fallback


def test_content_disposition_keeps_the_exact_name_encoded() -> None:
    assert content_disposition('dä "x".png') == (
        "attachment; filename=\"d_ _x_.png\"; filename*=UTF-8''d%C3%A4%20%22x%22.png"
    )


def test_text_needs_valid_utf8_and_no_binary_controls() -> None:
    assert sniff_content_type(b"plain\ttext\f\r\n", "a", None) == "text/plain"
    assert sniff_content_type(b"x,y\n", "a.CSV", None) == "text/csv"
    assert sniff_content_type(b"x,y\n", "a", "text/csv; charset=utf-8") == "text/csv"
    assert sniff_content_type(b"\x7fELF", "a.txt", "text/plain") is None
    assert sniff_content_type(b"bell\x07", "a.txt", "text/plain") is None
    assert sniff_content_type(b"RIFF\x00\x00\x00\x00WAVE", "a.webp", "image/webp") is None


def test_long_names_are_cut_keeping_a_short_extension() -> None:
    assert safe_filename("b" * 300) == "b" * 255
    assert safe_filename("c" * 300 + ".tar.gz") == "c" * 252 + ".gz"
    assert safe_filename("d" * 300 + "." + "e" * 20) == ("d" * 300 + "." + "e" * 20)[:255]
