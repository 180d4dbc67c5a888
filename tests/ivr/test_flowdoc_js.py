"""The designer's document mapping (web/static/js/flowdoc.js, run by Node.js) for the
``sms`` node: the palette's default, its ports, and a round trip the validator accepts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpline.ivr.flow import check

FLOWDOC = Path(__file__).parents[2] / "src/helpline/web/static/js/flowdoc.js"
NODE = shutil.which("node")

SCRIPT = """
import { DEFAULTS, TYPES, joinNode, portsOf, splitNode } from "%s";
const fields = DEFAULTS.sms();
const linked = joinNode("sms", fields, { next: "bye", on_error: "sorry" });
const unlinked = joinNode("sms", { template: "balance", to: "{phone}" }, { next: "bye" });
console.log(JSON.stringify({
  listed: TYPES.includes("sms"),
  ports: portsOf("sms", fields),
  linked,
  unlinked,
  split: splitNode(linked),
}));
"""


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_the_palettes_sms_node_makes_a_valid_document() -> None:
    assert NODE is not None
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT % FLOWDOC.as_uri()],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    assert result["listed"] and result["ports"] == ["next", "on_error"]
    assert result["unlinked"] == {
        "type": "sms",
        "template": "balance",
        "to": "{phone}",
        "next": "bye",
    }, "on_error is optional"
    assert result["split"]["targets"] == {"next": "bye", "on_error": "sorry"}
    document = {
        "start": "a",
        "nodes": {
            "a": result["linked"],
            "b": {**result["unlinked"], "next": "bye"},
            "bye": {"type": "hangup"},
            "sorry": {"type": "hangup"},
        },
    }
    document["nodes"]["a"]["next"] = "b"
    report = check(document, sms_templates={"balance"})
    assert report.errors == [] and report.valid
