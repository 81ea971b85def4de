#!/usr/bin/env bash
# Checks (and, as root, installs) the Debian 12 packages GridDesk needs.
#
#   install-system-deps.sh          what the app needs to run: Qt's runtime libraries (offscreen
#                                   and X11), fontconfig, a Python with venv (`make run`)
#   install-system-deps.sh --test   that plus what the tests need: poppler tools for PDF checks,
#                                   Xvfb for screenshots, mtools/dosfstools for FAT32 sticks, CUPS
#                                   with a PDF printer for the printing tests,
#                                   PostgreSQL for the office hub's tests (`make test`)
#   install-system-deps.sh --check  only say what is missing (exit 1), never install
#
# Nothing is installed and apt is not touched when everything is present; that needs no root.
# A normal user with packages missing is told (in Chinese) what to ask the administrator for.
set -euo pipefail

runtime_pkgs=(
  libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 fontconfig libdbus-1-3 libgssapi-krb5-2
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-image0
  libxcb-render-util0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libnss3 libxcomposite1 libxdamage1
  libxrandr2 libxtst6 libxi6 libasound2
)
# Debian 12 ships the CUPS PDF printer as printer-driver-cups-pdf (cups-pdf is only a virtual name,
# never "installed", so checking for it made every run call apt-get).
test_pkgs=(
  xvfb xauth poppler-utils mtools dosfstools cups printer-driver-cups-pdf cups-bsd
  postgresql
)

mode=run
install=1
for arg in "$@"; do
  case "$arg" in
    --test) mode=test ;;
    --run) mode=run ;;
    --check) install=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "未知参数：$arg（可用 --test、--check）" >&2; exit 2 ;;
  esac
done

pkgs=("${runtime_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
# A Python with venv (Debian splits it out).
python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv python3-pip)
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$mode" = test ]; then
  what="运行测试"
else
  what="运行网格台账"
fi
if [ "$install" -eq 0 ] || [ "$(id -u)" -ne 0 ]; then
  echo "${what}还缺少这些系统软件包：${missing[*]}" >&2
  echo "请让管理员（root）安装：apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "正在安装系统软件包：${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
