"""Import paths resolve beside the flow file first, without two flows' modules replacing each other."""

from __future__ import annotations

import sys
from pathlib import Path

from jotty.spec import load_flow

CHAIN = 'flow:\n  pattern: chain\n  steps:\n    - agent: {kind: function, function: "%s"}\n'


def flow_in(directory: Path, function: str, module: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory.joinpath(*module.split("."))
    if "." in module:
        for parent in [directory.joinpath(*module.split(".")[:i]) for i in range(1, module.count(".") + 1)]:
            parent.mkdir(exist_ok=True)
            (parent / "__init__.py").touch()
    target.with_suffix(".py").write_text(source)
    path = directory / "flow.yaml"
    path.write_text(CHAIN % function)
    return path


async def test_two_flows_with_their_own_same_named_module(tmp_path: Path) -> None:
    one = flow_in(tmp_path / "one", "helpers_x:run", "helpers_x", "def run(x):\n    return 'one'\n")
    two = flow_in(tmp_path / "two", "helpers_x:run", "helpers_x", "def run(x):\n    return 'two'\n")
    try:
        assert (await load_flow(one).run("")).output == "one"
        assert (await load_flow(two).run("")).output == "two"
        assert (await load_flow(one).run("")).output == "one"  # the first one is still its own
    finally:
        sys.modules.pop("helpers_x", None)


async def test_a_module_imports_its_neighbours(tmp_path: Path) -> None:
    (tmp_path / "shared_words_y.py").write_text("WORD = 'neighbour'\n")
    path = flow_in(
        tmp_path, "main_y:run", "main_y", "from shared_words_y import WORD\n\ndef run(x):\n    return WORD\n"
    )
    try:
        assert (await load_flow(path).run("")).output == "neighbour"
        assert str(tmp_path) not in sys.path  # the directory is on sys.path only while the module loads
    finally:
        sys.modules.pop("main_y", None)
        sys.modules.pop("shared_words_y", None)


async def test_package_modules_and_dotted_attributes(tmp_path: Path) -> None:
    source = "class Tools:\n    @staticmethod\n    def run(x):\n        return 'nested ' + x\n"
    path = flow_in(tmp_path, "pkg_z.sub:Tools.run", "pkg_z.sub", source)
    try:
        assert (await load_flow(path).run("ok")).output == "nested ok"
    finally:
        sys.modules.pop("pkg_z.sub", None)
        sys.modules.pop("pkg_z", None)


async def test_installed_modules_resolve_from_sys_path(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(CHAIN % "textwrap:dedent")
    assert (await load_flow(path).run("  indented")).output == "indented"
