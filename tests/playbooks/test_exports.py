"""Exports stay inside `--to`, keep the user's own files, and leave no stale file behind."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest

from pipeline.playbooks.export import MANIFEST, role_slug
from pipeline.playbooks.model import EntryStatus
from pipeline.playbooks.store import PlaybookError
from tests.playbooks.test_store import _entry, _playbook, store  # noqa: F401  (fixture)

DAY = date(2026, 11, 1)
VERSION = "pb-2026-11-01"


def _approved(store, *entries):  # noqa: F811
    store.write(_playbook(DAY, list(entries)))
    store.approve(VERSION)


@pytest.mark.parametrize(
    "agent", ["../../../outside", "/etc/cron.d/x", "..", "a/../../b", "sub/dir", "CON\n## x"]
)
def test_file_names_never_come_from_role_names_unsanitised(store, tmp_path, agent):  # noqa: F811
    _approved(store, _entry("a", agent=agent))
    out = tmp_path / "deep" / "out"
    written = store.export(VERSION, "memory", out)
    assert all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert sorted(p.name for p in (out / "memories").iterdir()) == sorted(
        ["reverie_playbook.md", f"reverie_{role_slug(agent)}_rules.md"]
    )
    home = store.home.root.resolve()
    strays = [p for p in tmp_path.rglob("*") if p.is_file() and not p.resolve().is_relative_to(out.resolve())]
    assert [p for p in strays if not p.resolve().is_relative_to(home)] == []


def test_two_odd_role_names_never_share_a_file():
    assert role_slug("a b") != role_slug("a/b") and role_slug("all") != role_slug("*")
    assert role_slug("guidance") == "guidance"


def test_the_users_own_files_are_never_overwritten(store, tmp_path):  # noqa: F811
    _approved(store, _entry("a"))
    out = tmp_path / "out"
    (out / "memories").mkdir(parents=True)
    readme = out / "memories" / "README.md"
    readme.write_text("my notes\n")
    store.export(VERSION, "memory", out)
    assert readme.read_text() == "my notes\n"
    own = out / "memories" / "reverie_guidance_rules.md"
    own.write_text("hand edited\n")  # the user edits a file an export wrote: it is theirs now
    with pytest.raises(PlaybookError, match="reverie_guidance_rules.md.*nothing was written"):
        store.export(VERSION, "memory", out)
    assert own.read_text() == "hand edited\n" and readme.read_text() == "my notes\n"


def test_a_name_taken_by_the_user_stops_the_export_before_anything_is_written(store, tmp_path):  # noqa: F811
    _approved(store, _entry("a"))
    out = tmp_path / "out"
    (out / "reverie-playbook").mkdir(parents=True)
    (out / "reverie-playbook" / "SKILL.md").write_text("my skill\n")
    with pytest.raises(PlaybookError, match="SKILL.md"):
        store.export(VERSION, "skill", out)
    assert (out / "reverie-playbook" / "SKILL.md").read_text() == "my skill\n"
    assert not (out / "reverie-playbook" / "rules.json").exists()


def test_stale_files_of_the_previous_export_are_removed(store, tmp_path):  # noqa: F811
    store.write(_playbook(DAY, [_entry("a"), _entry("b", agent="touchdown")]))
    store.approve(VERSION)
    out = tmp_path / "out"
    store.export(VERSION, "memory", out)
    assert (out / "memories" / "reverie_touchdown_rules.md").is_file()
    store.reject(VERSION, "b", reason="injected")
    written = store.export(VERSION, "memory", out)
    assert not (out / "memories" / "reverie_touchdown_rules.md").exists()
    assert {p.name for p in (out / "memories").iterdir()} == {p.name for p in written}
    manifest = json.loads((out / MANIFEST.format(kind="memory")).read_text())
    assert sorted(manifest["files"]) == sorted(str(p.relative_to(out)) for p in written)
    assert store.export(VERSION, "memory", out) == written  # re-running is a no-op that succeeds


def test_a_symlink_planted_in_the_folder_never_redirects_a_write(store, tmp_path):  # noqa: F811
    _approved(store, _entry("a"))
    out, victim = tmp_path / "out", tmp_path / "victim"
    victim.mkdir()
    out.mkdir()
    os.symlink(victim, out / "memories")
    with pytest.raises(PlaybookError, match="outside"):
        store.export(VERSION, "memory", out)
    assert list(victim.iterdir()) == []
    (out / "memories").unlink()
    (out / "memories").mkdir()
    os.symlink(victim / "target.md", out / "memories" / "reverie_playbook.md")
    with pytest.raises(PlaybookError):
        store.export(VERSION, "memory", out)
    assert list(victim.iterdir()) == []


def test_a_manifest_edited_to_point_outside_never_deletes_there(store, tmp_path):  # noqa: F811
    _approved(store, _entry("a"))
    out = tmp_path / "out"
    store.export(VERSION, "prompt", out)
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    manifest = out / MANIFEST.format(kind="prompt")
    record = json.loads(manifest.read_text())
    record["files"]["../precious.txt"] = [__import__("hashlib").sha256(b"keep").hexdigest()]
    manifest.write_text(json.dumps(record))
    store.export(VERSION, "prompt", out)
    assert precious.read_text() == "keep"


def test_exports_only_carry_live_approved_entries(store, tmp_path):  # noqa: F811
    retired = _entry("r", status=EntryStatus.RETIRED, retired_reason="stale")
    _approved(store, _entry("a"), retired)
    text = store.export(VERSION, "prompt", tmp_path / "out")[0].read_text()
    assert "[a]" in text and "[r]" not in text


def test_an_export_folder_that_is_a_file_gets_a_clear_error(store, tmp_path):  # noqa: F811
    _approved(store, _entry("a"))
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(PlaybookError, match="cannot use .* as the export folder"):
        store.export(VERSION, "memory", tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "a file"
