"""docs/architecture.md's picture and table are the imports as they are: regenerate them
with `scripts/architecture.py` when the layout changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_architecture_page_describes_the_code():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "architecture.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_drawing_names_every_component():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import architecture
    finally:
        sys.path.pop(0)
    graph = architecture.build()
    svg = (ROOT / "docs" / "architecture.svg").read_text(encoding="utf-8")
    for component in graph.components:
        assert f">{component}<" in svg or component in svg, component
    # The layers follow the arrows: nothing imports, at start, a component above its own.
    layer = architecture.layers(graph)
    cyclic = {c for group in architecture.cycles(graph) for c in group}
    for comp, targets in graph.eager.items():
        for target in targets:
            assert layer[target] < layer[comp] or {comp, target} <= cyclic, (comp, target)
