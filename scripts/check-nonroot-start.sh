#!/usr/bin/env bash
# An office PC, as CI can show it: a normal user (no root, no make) checks the system packages,
# installs GridDesk into a venv of their own as README's "For an office PC" says, and starts it
# (the command line, then the window offscreen, which quits once it is shown).
#
# Run as root (CI): the steps run as `nobody` with HOME in a fresh temporary folder. Run as a
# normal user: the steps run as that user.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
home="$(mktemp -d /tmp/griddesk-office-XXXXXX)"
trap 'rm -rf "$home"' EXIT
# The user's own copy of the program (a normal user cannot write into root's checkout).
tar -C "$src" --exclude=.venv --exclude=.git --exclude='*.egg-info' --exclude=build -cf - . \
  | tar -C "$home" --one-top-level=griddesk -xf -
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  chown -R nobody "$home"
  as_user=(runuser -u nobody --)
fi
"${as_user[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" LANG=C.UTF-8 \
  QT_QPA_PLATFORM=offscreen bash -euo pipefail -c '
    cd "$HOME"
    echo "user: $(id -un) ($(id -u)), HOME=$HOME"
    bash griddesk/scripts/install-system-deps.sh --check
    python3 -m venv "$HOME/venv"
    "$HOME/venv/bin/pip" install -q --disable-pip-version-check -e "$HOME/griddesk"
    "$HOME/venv/bin/griddesk" --help | head -3
    db="$HOME/first-day.sqlite"
    "$HOME/venv/bin/griddesk" demo --db "$db" --households 20
    "$HOME/venv/bin/griddesk" info --db "$db"
    GRIDDESK_EXIT_WHEN_SHOWN=1 timeout 120 "$HOME/venv/bin/griddesk" gui --db "$db" | grep -q WINDOW_SHOWN
    echo "the window opened for $(id -un)"
    ls "$HOME/.config/GridDesk/GridDesk.conf" >/dev/null
  '
echo "office PC check: GridDesk installs and starts without root"
