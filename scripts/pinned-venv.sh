# Sourced by the setup scripts (setup-python.sh, setup-moto.sh, ministack.sh): a virtualenv that
# holds exact pins, made once.
#
#   pinned_venv TAG VENV CHECK PIN...
#
# Makes VENV (with $PYTHON, default python3) and installs the PINs, unless the stamp file in VENV
# already lists exactly these pins: then it returns at once, so a second run is instant and a
# changed pin reinstalls. CHECK, Python code, runs after an install to fail early when a package is
# not usable the way the tests use it. Messages go to stderr, prefixed with TAG.
pinned_venv() {
  local tag=$1 venv=$2 check=$3
  shift 3
  local stamp="$venv/.toolwright-pins" want
  want="$(printf '%s\n' "$@")"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "$tag: creating $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
  fi
  echo "$tag: installing $*" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
  "$venv/bin/python" -c "$check" >&2
  printf '%s\n' "$want" > "$stamp"
}
