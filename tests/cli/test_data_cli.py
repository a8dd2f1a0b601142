"""``jotty data scan|add|search|show``: real processes through a pipe at 80 columns, JSON output, and
one-line errors for refused input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.checks import error, ok
from tests.cli.conftest import Jotty
from tests.registry.conftest import make_data
from tests.support.openai_server import OpenAIServer, Reply, openai_server

__all__ = ["openai_server"]

JOTTY = str(Path(sys.executable).with_name("jotty"))


def piped(*args: str, db: Path) -> str:
    """Run ``jotty`` as a process with stdout piped and COLUMNS=80; its stdout."""
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)
    done = subprocess.run([JOTTY, *args, "--db", str(db)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout + done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout
    return done.stdout


def test_scan_search_show_through_a_pipe_at_80_columns(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    db = tmp_path / "jotty.db"
    out = piped("data", "scan", str(data), "--tag", "demo", "--owner", "ana", db=db)
    assert "6 sources registered" in out and "data/sales_2023.csv" in out and "csv" in out
    out = piped("data", "search", "daily temperature per city", "-k", "3", db=db)
    first = next(line for line in out.splitlines() if line.startswith(" data"))
    assert first.split()[0] == "data/weather/daily_temperatures.jsonl", out  # the best hit first, its name whole
    assert first.split()[2:4] == ["JSON", "Lines"] and first.rstrip().endswith("…"), out  # cut, not folded
    out = piped("data", "show", "data/sales_2023.csv", "--rows", "2", db=db)
    for expected in ("order_id", "integer", "ordered_on", "date", "north", "first 2 rows (more not shown)", "ana"):
        assert expected in out, expected
    out = piped("data", "show", "data/shop.db", "--table", "products", db=db)
    assert "pen" in out and "price" in out
    out = piped("data", "add", str(data / "shop.db"), "--table", "products", "--name", "shop/products", db=db)
    assert out.startswith("registered shop/products (sqlite_table, sqlite)")


def test_show_of_a_wide_table_cuts_columns_instead_of_folding_them(tmp_path: Path) -> None:
    """25 long column names at 80 columns: whole names, the rest left out and counted (they folded
    one character a line), and a short table's title on one line ("first 1 / row")."""
    wide = tmp_path / "wide.csv"
    names = [f"customer_identifier_{i}" for i in range(25)]
    wide.write_text(",".join(names) + "\n" + ",".join(f"value_number_{i}" for i in range(25)) + "\n")
    db = tmp_path / "jotty.db"
    piped("data", "add", str(wide), "--name", "wide", db=db)
    out = piped("data", "show", "wide", db=db)
    sample = out[out.index("first 1 row") :].splitlines()
    assert sample[1].split() == names[:3] and sample[3].split() == [f"value_number_{i}" for i in range(3)]
    assert "(left out at 80 columns: 22 more; --json has every column)" in out, out
    assert len(sample) == 5, out
    (tmp_path / "one.csv").write_text("id,item\n1,pen\n2,ink\n")
    piped("data", "add", str(tmp_path / "one.csv"), "--name", "one", db=db)
    out = piped("data", "show", "one", "--rows", "1", db=db)
    assert "first 1 row (more not shown)\n" in out, out
    done = subprocess.run([JOTTY, "data", "show", "wide", "--json", "--db", str(db)], capture_output=True, text=True)
    assert json.loads(done.stdout)["read"]["columns"] == names


def test_a_rescan_says_what_it_removed_through_a_pipe_at_80_columns(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    db = tmp_path / "jotty.db"
    piped("data", "scan", str(data), db=db)
    (data / "weather" / "daily_temperatures.jsonl").rename(data / "weather" / "hourly_temperatures_by_station.jsonl")
    (data / "customers.json").unlink()
    out = piped("data", "scan", str(data), "--dry-run", db=db)
    assert "would remove 2 sources whose files are gone from the folder:" in out, out
    assert "  data/customers.json\n" in out and "  data/weather/daily_temperatures.jsonl\n" in out, out
    (data / "sales_2023.csv").write_text("a,b\n1,2\n3\n")  # still there, but no longer read
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)
    done = subprocess.run(
        [JOTTY, "data", "scan", str(data), "--db", str(db)], capture_output=True, text=True, env=env, timeout=120
    )
    out, err = done.stdout, done.stderr
    assert done.returncode == 0 and "\x1b[" not in out + err, err
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "4 sources registered" in out and "data/weather/hourly_temperatures_by_station.jsonl" in out, out
    assert "removed 2 sources whose files are gone from the folder:" in out, out
    assert "  data/customers.json\n" in out and "  data/weather/daily_temperatures.jsonl\n" in out, out
    assert "is not valid CSV: line 3 has 1 fields" in err, err
    assert "data/sales_2023.csv: kept as registered (still there, not inspected this time)\n" in err, err


def test_json_output_and_filters(jotty: Jotty, tmp_path: Path) -> None:
    data = make_data(tmp_path)
    report = json.loads(ok(jotty("data", "scan", str(data), "--dry-run", "--json")))
    assert report["registered"] is False and len(report["sources"]) == 6
    assert report["removed"] == [] and report["kept"] == []
    assert json.loads(ok(jotty("data", "search", "--json"))) == []
    ok(jotty("data", "scan", str(data), "--json"))
    added = json.loads(ok(jotty("data", "add", str(data / "customers.json"), "--name", "crm", "-t", "crm", "--json")))
    assert (
        added["name"] == "crm" and added["tags"] == ["crm"] and added["schema"][1] == {"name": "age", "type": "integer"}
    )
    hits = json.loads(ok(jotty("data", "search", "customers", "--tag", "crm", "--json")))
    assert [h["source"]["name"] for h in hits] == ["crm"]
    listed = json.loads(ok(jotty("data", "search", "--format", "csv", "--json")))
    assert [h["source"]["name"] for h in listed] == ["data/sales_2023.csv"]
    shown = json.loads(ok(jotty("data", "show", "crm", "--rows", "1", "--json")))
    assert shown["read"]["rows"] == [{"name": "ann", "age": 31}] and shown["read"]["truncated"]


def test_each_scope_is_a_registry_of_its_own(jotty: Jotty, tmp_path: Path) -> None:
    data = make_data(tmp_path)
    ok(jotty("data", "add", str(data / "customers.json"), "--name", "crm", "--scope", "team"))
    ok(jotty("data", "add", str(data / "sales_2023.csv"), "--name", "crm"))
    team = json.loads(ok(jotty("data", "show", "crm", "--rows", "0", "--scope", "team", "--json")))
    assert team["format"] == "json" and team["location"].endswith("customers.json")
    assert json.loads(ok(jotty("data", "show", "crm", "--rows", "0", "--json")))["format"] == "csv"
    listed = json.loads(ok(jotty("data", "search", "customers", "-s", "team", "--json")))
    assert [h["source"]["format"] for h in listed] == ["json"]
    ok(jotty("data", "scan", str(data / "weather"), "--scope", "team"))
    assert "no data source is registered as 'weather'" in error(jotty("data", "show", "weather"))
    assert "no data source is registered as 'weather'" in error(jotty("data", "remove", "weather"))
    ok(jotty("data", "remove", "weather", "--scope", "team"))
    assert json.loads(ok(jotty("data", "show", "crm", "--rows", "0", "--json")))["format"] == "csv"


def test_refused_input_is_a_one_line_error(jotty: Jotty, tmp_path: Path) -> None:
    data = make_data(tmp_path)
    ok(jotty("data", "add", str(data / "weather"), "--name", "weather"))
    assert "no data source is registered as 'nope'" in error(jotty("data", "show", "nope"))
    assert "leaves the registered folder" in error(jotty("data", "show", "weather", "--path", "../shop.db"))
    missing = error(jotty("data", "show", "weather", "--path", "nope.jsonl"))
    assert "list the folder with read('weather') or `jotty data show weather`" in missing, missing
    os.mkfifo(tmp_path / "pipe.csv")
    piped_in = error(jotty("data", "add", str(tmp_path / "pipe.csv")))
    assert "(a pipe, socket or device): only files are registered" in piped_in, piped_in  # "register a folder"
    assert "plain identifier" in error(jotty("data", "add", str(data / "shop.db"), "--table", "x; DROP TABLE y"))
    assert "not a folder" in error(jotty("data", "scan", str(data / "sales_2023.csv")))
    (data / "bad.json").write_text("{oops")
    assert "found 1 problem" in error(jotty("data", "scan", str(data), "--strict"))
    assert json.loads(ok(jotty("data", "search", "--json")))[0]["source"]["name"] == "weather"
    down = error(jotty("data", "add", "postgresql://ana:secretpw@127.0.0.1:1/shop", "--table", "public.orders"))
    assert "cannot reach the PostgreSQL server of the table at postgresql://ana:***@127.0.0.1:1/shop" in down, down
    assert "secretpw" not in down  # error() checks it is one line: psycopg's hint was a second
    redis = error(jotty("data", "search", "x", "--db", "redis://127.0.0.1:6379/0", db_path=None))
    assert redis.startswith("error: the data registry cannot live in redis"), redis  # it said "memory cannot"


@pytest.mark.parametrize(
    ("option", "value", "accepted"),
    [
        ("--kind", "bucket", "file, folder, sqlite_table, postgres_table, run_output"),
        ("--format", "bogus", "csv, tsv, json, jsonl, text, binary, sqlite, postgres, folder"),
    ],
)
def test_a_wrong_kind_or_format_is_a_usage_error_naming_what_is_accepted(
    tmp_path: Path, option: str, value: str, accepted: str
) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)
    args = [JOTTY, "data", "search", "x", option, value, "--db", str(tmp_path / "data.db")]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == "", done  # --format bogus was "no data source matches", exit 0
    assert all(len(line) <= 80 for line in done.stderr.splitlines()), done.stderr
    said = " ".join(done.stderr.replace("│", " ").split())
    assert f"Invalid value for {option}: {value!r} is not one of {accepted}" in said, said
    assert not (tmp_path / "data.db").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["search", "x", "--scope", "no spaces"], "Invalid value for --scope: scope 'no spaces' is not a valid name"),
        (["scan", "DATA", "--scope", "a!b"], "--scope: scope 'a!b' is not a valid name"),
        (["show", "weather", "-s", "a!b"], "--scope: scope 'a!b' is not a valid name"),
        (["remove", "weather", "-s", "a!b"], "--scope: scope 'a!b' is not a valid name"),
        (["search", "x", "--tag", "no spaces"], "Invalid value for --tag: a tag is 1-64 letters"),
        (["scan", "DATA", "--tag", "a!b"], "--tag: a tag is 1-64 letters, digits and _ . : / -, got 'a!b'"),
        (["add", "DATA/weather", "--tag", "a!b"], "--tag: a tag is 1-64 letters"),
        (["scan", "DATA", "--name", "../up"], "Invalid value for --name: a source name is 1-200 letters"),
        (["add", "DATA/weather", "--name", "a b"], "--name: a source name is 1-200 letters"),
        (["add", "DATA/weather", "--owner", "o" * 201], "--owner: owner has 201 characters; at most 200"),
        (["scan", "DATA", "--owner", "o" * 201], "--owner: owner has 201 characters; at most 200"),
        (["add", "DATA/weather", "-d", "d" * 4001], "--description: description has 4001 characters; at most 4000"),
        (["search", "x", "--owner", ""], "Invalid value for --owner: filter owner takes a non-empty text value"),
        (["search", "x", "--column", ""], "--column: filter column takes a non-empty text value, got ''"),
        (["search", "x", "--run", ""], "--run: filter run_id takes a non-empty text value, got ''"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_and_changes_nothing(tmp_path: Path, args: list[str], said: str) -> None:
    # each exited 1, as a runtime error does
    data = make_data(tmp_path)
    db = tmp_path / "data.db"
    piped("data", "add", str(data / "weather"), "--name", "weather", db=db)
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)

    def registered() -> str:
        listing = [JOTTY, "data", "search", "--json", "--db", str(db)]
        return subprocess.run(listing, capture_output=True, text=True, env=env, check=True, timeout=120).stdout

    before = registered()
    given = [arg.replace("DATA", str(data)) for arg in args]
    done = subprocess.run(
        [JOTTY, "data", *given, "--db", str(db)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2 and done.stdout == "", done
    assert "Traceback" not in done.stderr and "\x1b[" not in done.stderr, done.stderr
    assert all(len(line) <= 80 for line in done.stderr.splitlines()), done.stderr
    assert said in " ".join(done.stderr.replace("│", " ").split()), done.stderr
    assert registered() == before


def test_scan_with_llm_descriptions(
    jotty: Jotty, tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOTTY_LLM_MODEL", "test-model")
    monkeypatch.setenv("JOTTY_LLM_BASE_URL", openai_server.base_url)
    openai_server.rule = lambda request: Reply("A file the model described.")
    data = make_data(tmp_path)
    report = json.loads(ok(jotty("data", "scan", str(data / "weather"), "--llm", "--json")))
    described = [s for s in report["sources"] if s["kind"] == "file"]
    assert [(s["description"], s["described_by"]) for s in described] == [("A file the model described.", "llm")]
    assert len(openai_server.completions) == 1


def test_show_of_a_source_whose_file_is_gone_keeps_the_registration_and_remove_unregisters_it(
    jotty: Jotty, tmp_path: Path
) -> None:
    """`data show` of a file deleted or broken since it was registered printed only the error, hiding
    what was registered; the error says "remove NAME", which the command line could not do."""
    gone = tmp_path / "gone.csv"
    gone.write_text("order_id,region\n1,north\n")
    ok(jotty("data", "add", str(gone), "--name", "gone"))
    gone.unlink()
    shown = jotty("data", "show", "gone")
    assert shown.exit_code == 1 and "order_id" in shown.stdout and "CSV table about gone" in shown.stdout, shown.output
    assert shown.stderr.startswith("error: the file of gone") and shown.stderr.count("\n") == 1, shown.stderr
    as_json = jotty("data", "show", "gone", "--json")
    assert as_json.exit_code == 1
    out = json.loads(as_json.stdout)
    assert out["name"] == "gone" and out["read"] is None and "is gone" in out["read_error"]
    assert "not a file in gone" not in shown.stderr
    ok(jotty("data", "add", str(tmp_path), "--name", "here"))
    assert "is not a file in here" in error(jotty("data", "show", "here", "--path", "nope.csv"))  # only the error

    assert json.loads(ok(jotty("data", "remove", "gone", "--json"))) == {"removed": "gone"}
    assert "no data source is registered as 'gone'" in error(jotty("data", "show", "gone"))
    assert "no data source is registered as 'gone'" in error(jotty("data", "remove", "gone"))
    assert ok(jotty("data", "remove", "here")) == "removed here (its data is untouched)\n"
    assert tmp_path.is_dir()
