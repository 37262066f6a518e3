#!/usr/bin/env bash
# Build the release and check it as a user receives it (.ci/run; the release workflow):
#
#   bash .ci/package.sh [DIST]     # DIST: where the sdist and wheel go (default: a temp folder)
#
# 1. build and twine from requirements/release.txt (hash-pinned), in a venv of their own;
# 2. python -m build --no-isolation (with that pinned setuptools): the sdist and the wheel;
#    twine check them;
# 3. on a release tag (GITHUB_REF_TYPE=tag), the tag must be v + the version;
# 4. the wheel in a fresh venv, its dependencies from requirements/ci.txt (hash-pinned, as
#    the action installs them), and `mktsync apply --emulator` run from there in a temp
#    copy of the example: the wheel holds what a run needs (the schema, every module), and
#    nothing is written into the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "package.sh: $*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mktsync-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
dist=$(realpath -m "${1:-$work/dist}")
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' mktsync/__init__.py)
[ -n "$version" ] || { say "no __version__ in mktsync/__init__.py"; exit 1; }
if [ "${GITHUB_REF_TYPE:-}" = tag ] && [ "${GITHUB_REF_NAME:-}" != "v$version" ]; then
  say "the tag ${GITHUB_REF_NAME:-} is not v$version, the version in mktsync/__init__.py"
  exit 1
fi

# --no-compile: these venvs live for one check, so byte-compiling every installed module
# (SQLAlchemy, cryptography...) would be time spent for nothing; Python compiles what it
# imports. The user's venv gets no pip of its own: the tools' pip installs into it
# (--python), saving an ensurepip, and it does so while the release is built: the two
# installs mostly wait on the package index. Together they halve this script's time.
pip=("$work/tools/bin/python" -m pip --quiet --disable-pip-version-check)
install=(install --no-compile --require-hashes --only-binary :all:)
python3 -m venv "$work/tools"
python3 -m venv --without-pip "$work/user"
"${pip[@]}" --python "$work/user/bin/python" "${install[@]}" -r requirements/ci.txt \
  >"$work/user.log" 2>&1 &
user_install=$!
"${pip[@]}" "${install[@]}" -r requirements/release.txt
rm -rf "$dist"
"$work/tools/bin/python" -m build --no-isolation --outdir "$dist" . >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; exit 1; }
wheel=$(ls "$dist"/mktsync-"$version"-py3-none-any.whl)
ls "$dist"/mktsync-"$version".tar.gz >/dev/null
"$work/tools/bin/twine" check --strict "$dist"/*

wait "$user_install" || { cat "$work/user.log" >&2; say "installing requirements/ci.txt failed"; exit 1; }
"${pip[@]}" --python "$work/user/bin/python" install --no-compile --no-deps "$wheel"
[ "$("$work/user/bin/mktsync" --version)" = "mktsync $version" ]
mkdir "$work/example"
cp -r campaigns.yaml data "$work/example/"
last=$(cd "$work/example" && "$work/user/bin/mktsync" apply --emulator -q)
case "$last" in
  "Everything planned was sent"*) ;;
  *) say "apply --emulator from the wheel said: $last"; exit 1 ;;
esac
say "mktsync $version: $(cd "$dist" && ls | tr '\n' ' ')built, checked, and run from the wheel"
