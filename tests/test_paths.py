"""recsys_utils.paths.write_atomic: one step, never through a planted link."""

import os

import pytest

from recsys_utils.paths import write_atomic


def test_write_atomic_writes_and_leaves_nothing_beside(tmp_path):
    path = tmp_path / "out.bin"
    write_atomic(path, lambda f: f.write(b"first"))
    write_atomic(path, lambda f: f.write(b"second"))
    assert path.read_bytes() == b"second"
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_own(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def broken(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, broken)
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]


def test_a_planted_link_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "site").mkdir()
    path = tmp_path / "site" / "index.html"
    path.symlink_to(victim)
    write_atomic(path, lambda f: f.write(b"<html>"))
    assert victim.read_text() == "keep me"
    assert not path.is_symlink() and path.read_bytes() == b"<html>"


def test_the_sites_root_page_never_writes_through_a_link_planted_beside_it(tmp_path):
    """The root page used to be written to ``.index.html.<pid>.new`` first, a name
    anyone could guess and plant a link at; the write followed it."""
    from coursetools.site import _replace

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    html = tmp_path / "html"
    html.mkdir()
    (html / f".index.html.{os.getpid()}.new").symlink_to(victim)
    _replace(html / "index.html", "<html>root</html>")
    assert victim.read_text() == "keep me"
    assert (html / "index.html").read_text() == "<html>root</html>"


def test_the_written_file_gets_the_mode_a_plain_open_gives(tmp_path):
    """mkstemp makes 0600 files: a site page or a shared cache would turn private."""
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "page.html", lambda f: f.write(b"<html>"))
        os.umask(0o077)
        write_atomic(tmp_path / "private.bin", lambda f: f.write(b"x"))
    finally:
        os.umask(old)
    assert (tmp_path / "page.html").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.bin").stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
def test_a_failed_chmod_closes_the_new_file_and_keeps_the_old(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    opened = len(os.listdir("/proc/self/fd"))

    def refuse(fd, mode):
        raise PermissionError("chmod refused")

    monkeypatch.setattr(os, "fchmod", refuse)
    with pytest.raises(PermissionError, match="chmod refused"):
        write_atomic(path, lambda f: f.write(b"new"))
    assert len(os.listdir("/proc/self/fd")) == opened, "the new file's fd was left open"
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]
