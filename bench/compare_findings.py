"""Compare two findings.json files, ignoring what changes from run to run (timings, seconds, versions, the dataset's
root folder, object addresses in error messages).

`python bench/compare_findings.py before/findings.json after/findings.json` prints every difference in metrics,
finding ids and the findings themselves (kind, rows, message, detail), and exits 1 when there is one: a refactoring
that must not change results is checked with it on sample_data and real datasets.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# Keys whose values differ between two runs of the same code on the same data.
VOLATILE_KEYS = frozenset({"timings", "seconds", "started", "finished", "created", "generated", "tool", "scan",
                           "traceback", "images_per_second", "from_cache", "decoded", "cache",
                           "root"})  # where the dataset was read from (two checkouts audit the same files)
ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # Python object addresses in error messages




def scrubbed(value: Any) -> Any:
    """The value without volatile keys, at any depth."""
    if isinstance(value, dict):
        return {k: scrubbed(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [scrubbed(v) for v in value]
    if isinstance(value, str):
        return ADDRESS.sub(" at 0x...", value)
    return value


def differences(before: dict, after: dict) -> list[str]:
    """Human-readable differences between two findings.json documents (empty when the results are identical)."""
    out: list[str] = []
    old, new = scrubbed(before), scrubbed(after)
    for name in sorted(set(old.get("metrics", {})) | set(new.get("metrics", {}))):
        a, b = old.get("metrics", {}).get(name), new.get("metrics", {}).get(name)
        if a != b:
            out.append(f"metric {name}: {a} -> {b}")
    old_findings = {f["id"]: f for f in old.get("findings", [])}
    new_findings = {f["id"]: f for f in new.get("findings", [])}
    for missing in sorted(set(old_findings) - set(new_findings)):
        out.append(f"finding {missing} gone: {old_findings[missing]['kind']}: {old_findings[missing]['message']}")
    for added in sorted(set(new_findings) - set(old_findings)):
        out.append(f"finding {added} new: {new_findings[added]['kind']}: {new_findings[added]['message']}")
    for same in sorted(set(old_findings) & set(new_findings)):
        if old_findings[same] != new_findings[same]:
            changed = [k for k in old_findings[same] if old_findings[same].get(k) != new_findings[same].get(k)]
            out.append(f"finding {same} changed in {', '.join(changed)}")
    for key in sorted(set(old) | set(new)):
        if key not in ("metrics", "findings") and old.get(key) != new.get(key):
            out.append(f"{key} differs")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: compare_findings.py BEFORE.json AFTER.json", file=sys.stderr)
        return 2
    before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in argv)
    found = differences(before, after)
    for line in found:
        print(line)
    print(f"{len(found)} difference(s); {len(before.get('metrics', {}))} metrics, "
          f"{len(before.get('findings', []))} findings compared")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
