#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine for keras-mcunet: system packages (the Cortex-M toolchain, espeak-ng
# for the keyword-spotting default data) and the pinned Python stack, with this repository installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."
packages="gcc gcc-arm-none-eabi libnewlib-arm-none-eabi"
[ -f .ci/apt-packages.txt ] && packages="$packages $(grep -v '^#' .ci/apt-packages.txt | tr '\n' ' ')"
missing=""
for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# '.[test]': every extra ([all]: nas, bench, samples) and the test tools.
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
