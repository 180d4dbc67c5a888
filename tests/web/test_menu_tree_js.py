"""The tree-menu editor's mapping (web/static/js/menu_tree.js, run by Node.js): a tree
becomes a document the validator accepts, the document reads back as the same tree, and
documents that are more than a menu tree are refused without being touched."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpline.ivr.flow import check

MENU_TREE = Path(__file__).parents[2] / "src/helpline/web/static/js/menu_tree.js"
NODE = shutil.which("node")

SCRIPT = """
import { fromDocument, newDest, newTree, toDocument } from "%s";
const tree = newTree();
tree.extra = { language: "ko" };
tree.root.prompt.text.en = "Sales 1, support 2";
tree.root.prompt.text.ko = "영업 1, 지원 2";
const sub = newDest("menu");
sub.menu.prompt.names = ["support-menu"];
sub.menu.keys.push({ key: "1", dest: { kind: "queue", queue: "support" } });
sub.menu.keys.push({ key: "*", dest: { kind: "back" } });
const bye = newDest("hangup");
bye.prompt.text.en = "Bye";
sub.menu.keys.push({ key: "#", dest: bye });
tree.root.keys.push({ key: "1", dest: { kind: "queue", queue: "sales" } });
tree.root.keys.push({ key: "2", dest: sub });
tree.root.keys.push({ key: "9", dest: { kind: "voicemail", box: "office" } });
tree.root.keys.push({ key: "0", dest: { kind: "agent", agent: "agent2002" } });
const doc = toDocument(tree);
const refused = JSON.parse(process.argv[1]).map((d) => fromDocument(d));
console.log(JSON.stringify({ tree, doc, back: fromDocument(doc), refused }));
"""

HTTP_FLOW: dict[str, Any] = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "http", "url": "https://crm.example/x", "next": "bye", "on_error": "bye"},
        "bye": {"type": "hangup"},
    },
}
LOOP_FLOW: dict[str, Any] = {
    "start": "a",
    "nodes": {
        "a": {"type": "menu", "prompt": {"names": ["x"]}, "options": {"1": "b"}, "on_fail": "z"},
        "b": {"type": "menu", "prompt": {"names": ["y"]}, "options": {"1": "b"}, "on_fail": "z"},
        "z": {"type": "hangup"},
    },
}
EXTRA_FIELD_FLOW: dict[str, Any] = {
    "start": "a",
    "nodes": {
        "a": {"type": "menu", "prompt": {"names": ["x"]}, "options": {"1": "q"}, "on_fail": "z"},
        "q": {"type": "queue", "queue": "sales", "priority": 5},
        "z": {"type": "hangup"},
    },
}
PLAIN_QUEUE = {"type": "queue", "queue": "sales"}


def _run(refused: list[dict[str, Any]]) -> dict[str, Any]:
    assert NODE is not None
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT % MENU_TREE.as_uri(), json.dumps(refused)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_a_tree_maps_to_a_valid_document_and_back() -> None:
    published = check(
        {**EXTRA_FIELD_FLOW, "nodes": {**EXTRA_FIELD_FLOW["nodes"], "q": PLAIN_QUEUE}}
    )
    assert published.document is not None
    result = _run([HTTP_FLOW, LOOP_FLOW, EXTRA_FIELD_FLOW, published.document.to_json()])
    doc = result["doc"]
    assert doc["start"] == "main" and doc["language"] == "ko"
    nodes = doc["nodes"]
    assert sorted(nodes) == [
        "goodbye",
        "main",
        "main_0",
        "main_1",
        "main_2",
        "main_2_1",
        "main_2_hash",
        "main_9",
    ]
    assert nodes["main"]["options"] == {
        "1": "main_1",
        "2": "main_2",
        "0": "main_0",
        "9": "main_9",
    }
    assert nodes["main"]["prompt"] == {"text": {"en": "Sales 1, support 2", "ko": "영업 1, 지원 2"}}
    assert nodes["main_2"]["options"] == {"1": "main_2_1", "*": "main", "#": "main_2_hash"}
    assert nodes["main_2_1"] == {"type": "queue", "queue": "support"}
    assert nodes["main_2_hash"] == {"type": "hangup", "prompt": {"text": {"en": "Bye"}}}
    assert nodes["main_0"] == {"type": "transfer", "agent": "agent2002"}
    assert nodes["main_9"] == {"type": "voicemail", "box": "office"}
    report = check(doc)
    assert report.errors == [] and report.warnings == []
    assert result["back"] == {"tree": result["tree"]}
    http, loop, extra, normalized = result["refused"]
    assert "http" in http["error"]
    assert "not a branch" in loop["error"]
    assert "priority" in extra["error"]
    assert "error" not in normalized, "fields at their defaults (as published) are no loss"
    assert normalized["tree"]["root"]["keys"] == [
        {"key": "1", "dest": {"kind": "queue", "queue": "sales", "id": "q"}}
    ], "the document's own node id is kept"


DESIGNED_FLOW: dict[str, Any] = {
    "start": "welcome",
    "nodes": {
        "welcome": {
            "type": "menu",
            "prompt": {"names": ["menu"]},
            "options": {"1": "sales_q", "2": "main_2", "3": "welcome_3"},
            "timeout": 5,
            "retries": 2,
            "on_fail": "bye",
        },
        "sales_q": {"type": "queue", "queue": "sales"},
        "main_2": {"type": "voicemail", "box": "office"},
        "welcome_3": {"type": "hangup"},
        "bye": {"type": "hangup"},
    },
}

EDIT_SCRIPT = """
import { fromDocument, toDocument } from "%s";
const read = fromDocument(JSON.parse(process.argv[1]));
const same = toDocument(read.tree);
read.tree.root.keys.push({ key: "4", dest: { kind: "queue", queue: "support" } });
read.tree.root.keys.push({ key: "5", dest: { kind: "queue", queue: "support" } });
read.tree.root.keys[1].key = "9";
console.log(JSON.stringify({ read, same, edited: toDocument(read.tree) }));
"""


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_a_designed_flow_keeps_its_node_ids_through_the_tree_editor() -> None:
    assert NODE is not None
    out = subprocess.run(
        [
            *(NODE, "--input-type=module", "-e", EDIT_SCRIPT % MENU_TREE.as_uri()),
            json.dumps(DESIGNED_FLOW),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    assert "error" not in result["read"]
    # Read and written back untouched: the same document, ids and all.
    assert result["same"] == DESIGNED_FLOW
    edited = result["edited"]
    assert edited["start"] == "welcome"
    options = edited["nodes"]["welcome"]["options"]
    # Moved keys keep their node; new keys get derived ids that avoid the kept ones
    # ("welcome_3" stays the hang-up's, so nothing is renumbered).
    assert options == {
        "1": "sales_q",
        "9": "main_2",
        "3": "welcome_3",
        "4": "welcome_4",
        "5": "welcome_5",
    }
    assert edited["nodes"]["welcome"]["on_fail"] == "bye"
    report = check(edited)
    assert report.errors == []
