#!/usr/bin/env bash
# sigattn setup: installs the Debian packages the project needs (only those missing), then the npm
# dependencies (only when package-lock.json changed). Idempotent: a second run takes seconds.
# Supported: Debian 12 (bookworm) and Ubuntu 24.04 (noble). Run it as it is, in a root shell or as a user:
# as a user it calls sudo for apt-get only, so node_modules stays yours (do not prefix the whole script with sudo).
#
#   tools/setup.sh            install what is missing
#   tools/setup.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

cd "$(dirname "$0")/.."
CHECK_ONLY=0
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=1

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# Debian packages and why we need them.
#   mesa-vulkan-drivers  lavapipe, the CPU Vulkan driver: WebGPU (Dawn) on hosts without a GPU; must be Mesa ≥ 25
#   libvulkan1           the Vulkan loader Dawn opens
#   dataset-fashion-mnist  /usr/share/datasets/fashion-mnist (quickstart, vision experiments)
#   espeak-ng libespeak-ng1 sox  synthetic speech corpus for the ASR experiments
#   bible-kjv-text bible-kjv     KJV text corpus for language modelling (public domain)
PACKAGES=(mesa-vulkan-drivers libvulkan1 dataset-fashion-mnist espeak-ng libespeak-ng1 sox bible-kjv-text bible-kjv)
MESA_MIN_MAJOR=25

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else SUDO=(); fi
fi

. /etc/os-release 2>/dev/null || true
DISTRO="${ID:-unknown}-${VERSION_ID:-unknown}"

installed_version() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | awk '$3=="installed"{print $4}'; }
mesa_ok() {
  local v; v=$(installed_version mesa-vulkan-drivers)
  [[ -n "$v" ]] && [[ "${v%%.*}" =~ ^[0-9]+$ ]] && (( ${v%%.*} >= MESA_MIN_MAJOR ))
}

step "checking Node.js (need ≥ 20.19)"
command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20 (Debian/Ubuntu: apt-get install nodejs npm, or NodeSource 20.x)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "node $(node --version) is too old: sigattn needs Node.js ≥ 20.19"
echo "node $(node --version), npm $(npm --version)"

step "checking Debian packages on ${DISTRO}"
MISSING=()
for p in "${PACKAGES[@]}"; do
  if [[ "$p" == mesa-vulkan-drivers ]]; then mesa_ok || MISSING+=("$p"); continue; fi
  [[ -n "$(installed_version "$p")" ]] || MISSING+=("$p")
done
if (( ${#MISSING[@]} == 0 )); then
  echo "all present: ${PACKAGES[*]} (mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers))"
else
  echo "missing: ${MISSING[*]}"
  if (( CHECK_ONLY )); then exit 1; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    die "apt-get is not available, so these cannot be installed: ${MISSING[*]}.
Install them with your distribution's package manager (Mesa's Vulkan drivers must be version ≥ ${MESA_MIN_MAJOR}),
or copy /usr/share/datasets/fashion-mnist from another machine and set data.path in your config."
  fi
  if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
    die "not root and sudo is not installed, so these cannot be installed: ${MISSING[*]}.
Have root run: apt-get install ${MISSING[*]} (see tools/setup.sh for Mesa ≥ ${MESA_MIN_MAJOR} on Debian 12), then rerun tools/setup.sh."
  fi
  export DEBIAN_FRONTEND=noninteractive
  MESA_TARGET=()
  case "$DISTRO" in
    debian-12)
      # Debian 12's own Mesa is 22.3, whose lavapipe gives Dawn no WebGPU adapter; backports has 25.x.
      if [[ ! -f /etc/apt/sources.list.d/sigattn-backports.sources ]] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        step "enabling bookworm-backports (for Mesa ≥ ${MESA_MIN_MAJOR})"
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
          | "${SUDO[@]}" tee /etc/apt/sources.list.d/sigattn-backports.sources >/dev/null
      fi
      MESA_TARGET=(-t bookworm-backports)
      ;;
    ubuntu-24.04) ;;  # noble-updates carries Mesa 25.x
    *) echo "warning: ${DISTRO} is not a tested distribution (Debian 12, Ubuntu 24.04); trying anyway" ;;
  esac
  step "apt-get update"
  "${SUDO[@]}" apt-get update -q
  step "installing: ${MISSING[*]}"
  OTHERS=()
  for p in "${MISSING[@]}"; do [[ "$p" == mesa-vulkan-drivers || "$p" == libvulkan1 ]] || OTHERS+=("$p"); done
  if [[ " ${MISSING[*]} " == *" mesa-vulkan-drivers "* || " ${MISSING[*]} " == *" libvulkan1 "* ]]; then
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${MESA_TARGET[@]}" mesa-vulkan-drivers libvulkan1
  fi
  if (( ${#OTHERS[@]} > 0 )); then
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${OTHERS[@]}"
  fi
  mesa_ok || die "mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers) is older than ${MESA_MIN_MAJOR}: lavapipe then offers no WebGPU adapter.
On Debian 12 enable bookworm-backports; on Ubuntu 24.04 enable noble-updates; then rerun tools/setup.sh."
fi

step "npm dependencies"
LOCK_HASH=$(sha256sum package-lock.json | cut -d' ' -f1)
STAMP=node_modules/.sigattn-lock-sha256
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$LOCK_HASH" ]]; then
  echo "node_modules matches package-lock.json (skipping npm ci)"
elif (( CHECK_ONLY )); then
  echo "node_modules is missing or stale: run tools/setup.sh"; exit 1
else
  npm ci --no-audit --no-fund
  echo "$LOCK_HASH" > "$STAMP"
fi

step "setup complete"
