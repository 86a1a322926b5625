"""A session file streamwatch did not write (made by hand, by an older version, edited) is redacted as it
is read: no secret it holds reaches the screen, the index or an export, which all read it through the core."""

import json

import pytest

from streamwatch.cli import main
from streamwatch.core.recording import load_session, session_lines
from streamwatch.export import FORMATS, export_beside
from tests import secretfile
from tests.secretfile import leaked


@pytest.fixture
def crafted(home):
    return secretfile.write(home / "sessions")


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_session_list_and_stats_show_no_secret_and_the_index_holds_none(capsys, home, crafted):
    code, out, err = run_cli(capsys, "sessions")
    assert code == 0 and "why does my key [redacted] fail?" in out
    assert leaked(out + err) == []
    code, out, err = run_cli(capsys, "sessions", "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["prompt"] == "why does my key [redacted] fail?"
    assert leaked(out + err) == []
    code, out, err = run_cli(capsys, "stats", "--json")
    assert code == 0 and json.loads(out)["total"]["streams"] == 1
    assert leaked(out + err) == []
    stored = b"".join(path.read_bytes() for path in home.glob("index.sqlite3*"))
    assert b"why does my key [redacted] fail?" in stored, "the row was written"
    assert leaked(stored) == []


def test_analyze_shows_no_secret_and_the_same_verdict(capsys, crafted):
    code, text, err = run_cli(capsys, "analyze", crafted)
    assert code == 1 and "transport_error" in text and leaked(text + err) == []
    code, out, err = run_cli(capsys, "analyze", crafted, "--json")
    verdict = json.loads(out)
    assert verdict["text"] == "Your key [redacted] and token [redacted] were echoed. "
    assert verdict["error"]["message"] == "peer closed connection; the request sent x-api-key [redacted]"
    assert leaked(out + err) == []


@pytest.mark.parametrize("name", FORMATS)
def test_no_export_holds_a_secret(capsysbinary, tmp_path, crafted, name):
    code = main(["export", str(crafted), "--format", name])
    out, err = capsysbinary.readouterr()
    assert code == 0 and out, err
    assert leaked(out + err) == []
    written = export_beside(crafted, tmp_path, name, 5.0)
    assert written.read_bytes() == out and written.parent == tmp_path, "what `e` writes is what export prints"


def test_the_report_and_curl_keep_what_is_no_secret(capsysbinary, crafted):
    main(["export", str(crafted), "--format", "report"])
    report = capsysbinary.readouterr().out.decode()
    assert "why does my key [redacted] fail?" in report and "x-api-key [redacted]" in report
    main(["export", str(crafted), "--format", "curl"])
    curl = capsysbinary.readouterr().out.decode()
    assert "https://api.anthropic.com/v1/messages?beta=[redacted]&key=[redacted]" in curl
    assert '"api_key": "[redacted]"' in curl and '"user_id": "u1"' in curl


def test_the_jsonl_export_of_a_hand_made_file_is_a_session_redacted_that_reads_back_the_same(capsysbinary, crafted):
    main(["export", str(crafted), "--format", "jsonl"])
    out, err = capsysbinary.readouterr()
    assert "exported as read, redacted" in err.decode()
    again = crafted.with_name("again.jsonl")
    again.write_bytes(out)
    first, second = load_session(crafted), load_session(again)
    assert second.skipped == [] and not second.redaction.changed, "nothing is left to redact"
    assert b"".join(session_lines(second)) == out
    assert [vars(r) for r in second.attempts] == [vars(r) for r in first.attempts]
    assert second.header == first.header


def test_a_file_streamwatch_wrote_reads_unchanged_and_exports_as_it_is(capsysbinary, tmp_path):
    from tests import sessions

    for path in sessions.write_sample(tmp_path / "sample"):
        if path.name.endswith("unreadable.jsonl") or b"streamwatch" not in path.read_bytes()[:40]:
            continue
        session = load_session(path)
        assert not session.redaction.changed, path.name
        main(["export", str(path), "--format", "jsonl"])
        out, err = capsysbinary.readouterr()
        assert out == path.read_bytes() and err == b""
