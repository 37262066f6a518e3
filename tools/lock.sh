#!/usr/bin/env bash
# Regenerate the hash-pinned lock files (pip-tools' pip-compile, run with Python 3.11 as
# the CI jobs are):
#
#   requirements/ci.txt       what the CI jobs install to run mktsync (action.yml, the GitLab
#                             example, .ci/package.sh): its dependencies with every extra,
#                             and the setuptools that builds it without a download
#   requirements/release.txt  what builds and checks the release (build, twine, setuptools)
#
#   .venv/bin/pip install pip-tools && bash tools/lock.sh            # keep pins, add what is new
#   bash tools/lock.sh --upgrade                                     # move every pin forward
#
# Commit both files; tests/release checks that ci.txt pins every dependency pyproject.toml
# declares, at a version it allows.
set -euo pipefail
cd "$(dirname "$0")/.."
compile=(.venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras
         --no-emit-index-url --no-emit-find-links "$@")
"${compile[@]}" --extra sql --extra postgres --build-deps-for wheel \
  --output-file requirements/ci.txt pyproject.toml
"${compile[@]}" --output-file requirements/release.txt requirements/release.in
