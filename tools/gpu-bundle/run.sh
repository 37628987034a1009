#!/usr/bin/env bash
# sigattn GPU bundle launcher. tools/gpu-bundle/build.ts fills in the three @…@ values below and writes the
# result beside the archive as .bundle/run.sh; copy both files of one build to the GPU host.
#
#   run.sh <entry> [args…]   run an entry (no args: the entry's default args from entries.json);
#                            an argument @assets/<repo path> names that file inside the bundle
#   run.sh --list            list the entries in this bundle
#   run.sh --env             print the environment the launcher sets, as `export` lines
#   run.sh --doctor          check the host: glibc, libstdc++, Vulkan loader and driver, CUDA driver
#   run.sh --node [args…]    run the bundled node itself
#
# Needs no Node and no network: it unpacks the archive once into a cache folder next to itself (or
# $SIGATTN_CACHE), dpkg -x's the Vulkan loader and glvnd .debs into a private prefix there (never into /),
# points LD_LIBRARY_PATH at it and VK_DRIVER_FILES at the NVIDIA driver's nvidia_icd.json.
set -euo pipefail

BUNDLE_ID='@BUNDLE_ID@'
ARCHIVE_NAME='@ARCHIVE@'
ARCHIVE_SHA256='@SHA256@'

say() { [ -n "${SIGATTN_QUIET:-}" ] || printf '[sigattn-gpu] %s\n' "$*" >&2; }
die() { printf '[sigattn-gpu] error: %s\n' "$*" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARCHIVE="${SIGATTN_ARCHIVE:-$HERE/$ARCHIVE_NAME}"
if [ -n "${SIGATTN_CACHE:-}" ]; then CACHE_ROOT="$SIGATTN_CACHE"
elif [ -w "$HERE" ]; then CACHE_ROOT="$HERE/.sigattn-gpu-cache"
else CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/sigattn-gpu"
fi
ROOT="$CACHE_ROOT/$BUNDLE_ID"

usage() {
  cat <<'TXT'
usage: run.sh <entry> [args…]   run an entry (no args: its default args from entries.json)
       run.sh --list            list the entries in this bundle
       run.sh --env             print the environment the launcher sets, as `export` lines
       run.sh --doctor          check the host: glibc, libstdc++, Vulkan loader and driver, CUDA driver
       run.sh --node [args…]    run the bundled node itself
TXT
}

# tar.xz without assuming xz: python3's lzma is the fallback (GPU hosts with PyTorch have python3).
extract_tar_xz() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" | tar -xf - -C "$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 - "$1" "$2" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], 'r:xz') as t:
    f = getattr(tarfile, 'data_filter', None)
    t.extractall(sys.argv[2], **({'filter': f} if f else {}))
PY
  else
    die "cannot unpack $1: neither xz nor python3 is installed. Unpack it on another machine with 'tar -xJf $ARCHIVE_NAME' and copy the folder sigattn-gpu to $ROOT, then touch $ROOT/.complete"
  fi
}

# .deb = ar archive holding data.tar.*; dpkg -x where dpkg exists, else a python3 reader (RHEL-like hosts).
unpack_deb() {
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -x "$1" "$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], 'rb').read()
if data[:8] != b'!<arch>\n':
    sys.exit(f'{sys.argv[1]}: not a .deb (ar) file')
pos = 8
while pos + 60 <= len(data):
    name = data[pos:pos + 16].decode().strip().rstrip('/')
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith('data.tar'):
        with tarfile.open(fileobj=io.BytesIO(body), mode='r:*') as t:
            f = getattr(tarfile, 'data_filter', None)
            t.extractall(sys.argv[2], **({'filter': f} if f else {}))
        break
    pos += 60 + size + (size & 1)
else:
    sys.exit(f'{sys.argv[1]}: no data.tar member')
PY
  else
    die "cannot unpack $1: neither dpkg nor python3 is installed"
  fi
}

unpack() {
  [ -f "$ARCHIVE" ] || die "bundle archive not found at $ARCHIVE: copy $ARCHIVE_NAME next to run.sh, or set SIGATTN_ARCHIVE=/path/to/$ARCHIVE_NAME"
  mkdir -p "$CACHE_ROOT" 2>/dev/null || die "cannot create the cache folder $CACHE_ROOT: set SIGATTN_CACHE to a writable folder"
  if command -v sha256sum >/dev/null 2>&1; then
    local got
    got="$(sha256sum "$ARCHIVE" | cut -d' ' -f1)"
    [ "$got" = "$ARCHIVE_SHA256" ] || die "$ARCHIVE has sha256 $got, but this run.sh was built for $ARCHIVE_SHA256: copy run.sh and $ARCHIVE_NAME from the same build (or the copy is truncated)"
  fi
  say "unpacking $ARCHIVE_NAME into $ROOT (once)"
  local tmp
  tmp="$(mktemp -d "$CACHE_ROOT/.unpack-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  extract_tar_xz "$ARCHIVE" "$tmp"
  [ -x "$tmp/sigattn-gpu/bin/node" ] || die "$ARCHIVE holds no sigattn-gpu/bin/node: not a sigattn GPU bundle"
  mkdir -p "$tmp/sigattn-gpu/prefix"
  local deb
  for deb in "$tmp"/sigattn-gpu/debs/*.deb; do
    [ -e "$deb" ] || continue
    unpack_deb "$deb" "$tmp/sigattn-gpu/prefix"
  done
  touch "$tmp/sigattn-gpu/.complete"
  # Rename into place so a half-unpacked folder is never used; a parallel launcher may have won the race.
  [ -f "$ROOT/.complete" ] || { rm -rf "$ROOT"; mv "$tmp/sigattn-gpu" "$ROOT"; }
  rm -rf "$tmp"
  trap - EXIT
}

# First file matching the glob $1 in the folders $2…, printed; fails if none.
find_first() {
  local pattern="$1" d f
  shift
  for d in "$@"; do
    for f in "$d"/$pattern; do
      [ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
    done
  done
  return 1
}

NOTES=()
setup_env() {
  local libdir="$ROOT/prefix/usr/lib/x86_64-linux-gnu" ld="" d
  [ -d "$libdir" ] && ld="$libdir"
  # Containers often mount the driver's libraries (libcuda, libGLX_nvidia) here without an ld.so.cache entry.
  # shellcheck disable=SC2086
  for d in ${SIGATTN_DRIVER_LIB_DIRS-/usr/local/nvidia/lib64 /usr/local/nvidia/lib}; do
    case ":${LD_LIBRARY_PATH:-}:" in *":$d:"*) continue ;; esac
    [ -d "$d" ] && ld="${ld:+$ld:}$d"
  done
  export LD_LIBRARY_PATH="$ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

  local icd_dirs="${SIGATTN_ICD_DIRS-/usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d}" icd
  if [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    :  # the user chose the driver; keep it
  # shellcheck disable=SC2086
  elif icd="$(find_first 'nvidia_icd*.json' $icd_dirs)"; then
    export VK_DRIVER_FILES="$icd"
  else
    NOTES+=("no nvidia_icd.json under $icd_dirs: Vulkan falls back to the loader's default search (a CPU host gets lavapipe if Mesa is installed); set VK_DRIVER_FILES=/path/to/nvidia_icd.json if the driver keeps it elsewhere")
  fi

  local egl_dirs="${SIGATTN_EGL_DIRS-/usr/local/nvidia/share/glvnd/egl_vendor.d /usr/share/glvnd/egl_vendor.d /etc/glvnd/egl_vendor.d}" egl
  # shellcheck disable=SC2086
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && egl="$(find_first '*nvidia.json' $egl_dirs)"; then
    export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
  fi
  export SIGATTN_ASSETS="${SIGATTN_ASSETS:-$ROOT/assets}"
  export SIGATTN_BUNDLE_ROOT="$ROOT"
}

entry_names() { local f; for f in "$ROOT"/app/*.mjs; do [ -e "$f" ] && basename "$f" .mjs; done; }

check_node() {
  local err
  if ! err="$("$ROOT/bin/node" -e 0 2>&1)"; then
    die "the bundled node cannot start on this host: ${err%%$'\n'*} — it needs Linux x86-64 with glibc >= 2.28; dawn.node needs glibc >= 2.34 and libstdc++ with GLIBCXX_3.4.30 (run.sh --doctor checks both)"
  fi
}

doctor() {
  echo "host: $(uname -srm)"
  echo "glibc: $(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown) (node needs >= 2.28, dawn.node >= 2.34)"
  local stdcxx
  stdcxx="$( (ldconfig -p 2>/dev/null || true) | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
  if [ -n "$stdcxx" ]; then
    if grep -qa 'GLIBCXX_3\.4\.30' "$stdcxx"; then echo "libstdc++: $stdcxx has GLIBCXX_3.4.30 (ok for dawn.node)"
    else echo "libstdc++: $stdcxx lacks GLIBCXX_3.4.30: dawn.node (WebGPU) will not load; CUDA entries still work"; fi
  else echo "libstdc++: not in ld.so.cache"; fi
  echo "node: $("$ROOT/bin/node" --version 2>&1 | head -1)"
  echo "private prefix: $(cd "$ROOT/prefix/usr/lib/x86_64-linux-gnu" 2>/dev/null && ls -- *.so.* 2>/dev/null | tr '\n' ' ')"
  echo "system libvulkan: $( (ldconfig -p 2>/dev/null || true) | awk '/libvulkan\.so\.1/ {print $NF; exit}')"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  if [ -n "${VK_DRIVER_FILES:-}" ] && [ -f "$VK_DRIVER_FILES" ]; then
    local lib path="" d
    lib="$(sed -n 's/.*"library_path" *: *"\([^"]*\)".*/\1/p' "$VK_DRIVER_FILES" | head -1)"
    echo "  ICD library_path: $lib"
    case "$lib" in
      /*) path="$lib" ;;
      *) for d in ${LD_LIBRARY_PATH//:/ }; do [ -f "$d/$lib" ] && { path="$d/$lib"; break; }; done
         [ -n "$path" ] || path="$( (ldconfig -p 2>/dev/null || true) | awk -v l="$lib" '$1 == l {print $NF; exit}')" ;;
    esac
    if [ -n "$path" ]; then
      echo "  found at $path; missing dependencies: $( (ldd "$path" 2>/dev/null || true) | awk '/not found/ {printf "%s ", $1}')"
    else
      echo "  $lib is not on LD_LIBRARY_PATH nor in ld.so.cache: add its folder with SIGATTN_DRIVER_LIB_DIRS"
    fi
  fi
  echo "__EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-}"
  local cuda="" d
  for d in ${LD_LIBRARY_PATH//:/ }; do [ -f "$d/libcuda.so.1" ] && { cuda="$d/libcuda.so.1"; break; }; done
  [ -n "$cuda" ] || cuda="$( (ldconfig -p 2>/dev/null || true) | awk '/libcuda\.so\.1 / {print $NF; exit}')"
  echo "libcuda.so.1: ${cuda:-not found (CUDA entries will fail; WebGPU entries do not need it)}"
  if command -v nvidia-smi >/dev/null 2>&1; then echo "nvidia-smi: $(nvidia-smi -L 2>&1 | head -4 | tr '\n' ' ')"; fi
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac

[ -f "$ROOT/.complete" ] || unpack
setup_env
case "$1" in --list|--env) ;; *) for note in ${NOTES[@]+"${NOTES[@]}"}; do say "note: $note"; done ;; esac

case "$1" in
  --list)
    while IFS=$'\t' read -r name desc; do printf '%-16s %s\n' "$name" "$desc"; done < "$ROOT/app/ENTRIES" ;;
  --env)
    for v in LD_LIBRARY_PATH VK_DRIVER_FILES VK_ICD_FILENAMES __EGL_VENDOR_LIBRARY_FILENAMES SIGATTN_ASSETS SIGATTN_BUNDLE_ROOT; do
      [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    printf 'export SIGATTN_NODE=%q\n' "$ROOT/bin/node" ;;
  --doctor) doctor ;;
  --node) shift; check_node; exec "$ROOT/bin/node" "$@" ;;
  -*) die "unknown option $1 (see run.sh --help)" ;;
  *)
    entry="$1"; shift
    [[ "$entry" =~ ^[a-z0-9][a-z0-9._-]*$ ]] && [ -f "$ROOT/app/$entry.mjs" ] ||
      die "no entry '$entry' in this bundle; it has: $(entry_names | tr '\n' ' ')— add one to tools/gpu-bundle/entries.json and rebuild"
    args=("$@")
    if [ $# -eq 0 ] && [ -s "$ROOT/app/$entry.args" ]; then mapfile -t args < "$ROOT/app/$entry.args"; fi
    # '@assets/x' names a file shipped in the bundle (entries.json "assets"), e.g. @assets/configs/quickstart.yaml.
    for i in "${!args[@]}"; do
      case "${args[$i]}" in @assets/*) args[i]="$SIGATTN_ASSETS/${args[$i]#@assets/}" ;; esac
    done
    check_node
    exec "$ROOT/bin/node" "$ROOT/app/$entry.mjs" ${args[@]+"${args[@]}"} ;;
esac
