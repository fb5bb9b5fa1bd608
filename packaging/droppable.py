"""packaging/droppable.py NAME...: of the distributions named, print those no distribution
that stays in this environment requires, so that slim-env.sh never removes a dependency
of the running suite (uvicorn needs h11 and click, the MCP SDK anyio and httpx2...).

Run with the environment's own interpreter. A requirement that only an extra asks for does
not count. Some declared requirements are never used at run time, and are not followed:
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions

# (requirer, requirement): declared, but not needed by the running suite
NOT_AT_RUN_TIME = {
    ("codeanalysisd", "onnx"),  # builds the int8 ONNX graph at install time, then goes
    ("tokenizers", "huggingface-hub"),  # from_pretrained() only; the suite reads tokenizer.json
    ("onnxruntime", "flatbuffers"),  # onnxruntime's model tools (removed by slim-env.sh)
    ("onnxruntime", "packaging"),
    ("onnxruntime", "protobuf"),
    ("libcst", "pyyaml"),  # libcst.tool (the codemod command) alone imports yaml; the suite only parses
}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(names: list[str]) -> None:
    candidates = {norm(n) for n in names}
    installed = {norm(d.metadata["Name"]): d for d in distributions()}
    kept = [n for n in installed if n not in candidates]
    needed: set[str] = set()
    while kept:
        name = kept.pop()
        for req in installed[name].requires or []:
            if "extra ==" in req.replace('"', "'").replace("extra==", "extra =="):
                continue
            found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
            if not found:
                continue
            dep = norm(found.group(0))
            if (name, dep) in NOT_AT_RUN_TIME or dep not in candidates or dep in needed:
                continue
            needed.add(dep)
            kept.append(dep)
    for n in names:
        if norm(n) in installed and norm(n) not in needed:
            print(n)
        elif norm(n) in needed:
            print(f"slim-env: keeping {n}: a distribution that stays requires it", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
