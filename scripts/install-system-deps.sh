#!/usr/bin/env bash
# Installs the Debian packages GridDesk needs when they are missing: Qt's runtime libraries
# (offscreen and X11), poppler tools for PDF checks, Xvfb for screenshots, CUPS with a PDF printer
# for the printing tests, PostgreSQL for the office hub's tests (and a street office's hub). Safe to run again; does nothing when all are present.
set -euo pipefail
pkgs=(
  libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libgssapi-krb5-2
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-image0
  libxcb-render-util0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libnss3 libxcomposite1 libxdamage1
  libxrandr2 libxtst6 libxi6 libasound2
  xvfb xauth poppler-utils fontconfig mtools dosfstools cups cups-pdf cups-bsd
  postgresql
)
missing=()
# A Python with venv (Debian splits it out).
python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv python3-pip)
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "GridDesk needs these system packages: ${missing[*]}" >&2
  echo "Run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
